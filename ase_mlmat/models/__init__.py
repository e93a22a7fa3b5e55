"""Model architectures (registered by name) and the :class:`Potential` wrapper."""

from .gradients import energy_forces_stress
from .painn import PaiNN
from .potential import Potential
from .registry import available, get_architecture

__all__ = ["PaiNN", "Potential", "available", "energy_forces_stress", "get_architecture"]
