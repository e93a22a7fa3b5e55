"""Property predictors: protocol, entry-point registry, shared elastic-moduli physics.

Plugins register classes in the ``ase_mlmat.properties`` entry-point group; see
:mod:`ase_mlmat.properties.registry`.
"""

from .base import PredictionFailure, PropertyError, PropertyPredictor, PropertyResult
from .calculators import calculator_from_spec
from .registry import available, create, get_predictor

__all__ = [
    "PredictionFailure",
    "PropertyError",
    "PropertyPredictor",
    "PropertyResult",
    "available",
    "calculator_from_spec",
    "create",
    "get_predictor",
]
