"""Representations (registered by name), heads, and the models built of them: potentials, property models."""

from .ensemble import Ensemble
from .gradients import energy_forces_stress
from .heads import AtomHead, EnergyHead, StructureHead
from .painn import PaiNN
from .potential import Potential
from .property_model import PropertyModel
from .registry import available, build_representation, get_architecture

__all__ = [
    "AtomHead",
    "EnergyHead",
    "Ensemble",
    "PaiNN",
    "Potential",
    "PropertyModel",
    "StructureHead",
    "available",
    "build_representation",
    "energy_forces_stress",
    "get_architecture",
]
