"""Hardness and fracture toughness for ase-mlmat (entry point ``hardness`` of ``ase_mlmat.properties``).

from ase.build import bulk
from ase.calculators.emt import EMT
from mlmat_hardness import HardnessPredictor

result = HardnessPredictor().predict(bulk("Cu"), EMT())       # elastic tensor, then the models
result.vickers_hardness_GPa, result.reliable, result.warnings   # Cu: reliable=False (a metal)
HardnessPredictor.from_moduli(442.3, 535.5, 5.67, elements=["C"])  # diamond from known K, G
ChainedPredictor("elastic", "hardness").predict(atoms, calc)    # the same chain through the registry

The Ashby diagram of hardness results is ase_mlmat.workflows.screening.ashby_from_results.
"""

from __future__ import annotations

from .composition import is_metal, is_metallic
from .models import (
    chen_hardness_GPa,
    mazhnik_oganov_hardness_GPa,
    mazhnik_oganov_toughness_MPa_m05,
    tian_hardness_GPa,
)
from .predictor import HardnessPredictor
from .result import RELIABLE_POISSON_RANGE, HardnessResult, SUPERHARD_GPa, hardness_from_moduli

__all__ = [
    "RELIABLE_POISSON_RANGE",
    "HardnessPredictor",
    "HardnessResult",
    "SUPERHARD_GPa",
    "chen_hardness_GPa",
    "hardness_from_moduli",
    "is_metal",
    "is_metallic",
    "mazhnik_oganov_hardness_GPa",
    "mazhnik_oganov_toughness_MPa_m05",
    "tian_hardness_GPa",
]
