"""Property predictors: protocol, entry-point registry, chaining through moduli, shared elastic-moduli physics.

Plugins register classes in the ``ase_mlmat.properties`` entry-point group; see
:mod:`ase_mlmat.properties.registry`.
"""

from .base import PredictionFailure, PropertyError, PropertyPredictor, PropertyResult
from .calculators import calculator_from_spec
from .chain import ChainedPredictor
from .moduli_source import GivenModuli, ModuliSource, moduli_of
from .registry import available, create, fast_tier_predictors, get_predictor, moduli_consumers

__all__ = [
    "ChainedPredictor",
    "GivenModuli",
    "ModuliSource",
    "PredictionFailure",
    "PropertyError",
    "PropertyPredictor",
    "PropertyResult",
    "available",
    "calculator_from_spec",
    "create",
    "fast_tier_predictors",
    "get_predictor",
    "moduli_consumers",
    "moduli_of",
]
