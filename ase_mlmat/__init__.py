"""ase-mlmat: machine-learned potentials and property predictors for ASE."""

from ._version import __version__
from .calculator import MLCalculator
from .checkpoint import load_potential, save_potential
from .graph import StructureError
from .models import Potential

__all__ = ["MLCalculator", "Potential", "StructureError", "__version__", "load_potential", "save_potential"]
