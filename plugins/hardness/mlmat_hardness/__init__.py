"""Hardness and fracture toughness for ase-mlmat (entry point ``hardness`` of ``ase_mlmat.properties``).

from ase.build import bulk
from ase.calculators.emt import EMT
from mlmat_hardness import HardnessPredictor, ashby_plot

result = HardnessPredictor().predict(bulk("Cu"), EMT())       # elastic tensor, then the models
result.vickers_hardness_GPa, result.reliable, result.warnings   # Cu: reliable=False (a metal)
HardnessPredictor.from_moduli(442.3, 535.5, 5.67, elements=["C"])  # diamond from known K, G
"""

from __future__ import annotations

from .ashby import ashby_plot
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
    "ashby_plot",
    "chen_hardness_GPa",
    "hardness_from_moduli",
    "is_metal",
    "is_metallic",
    "mazhnik_oganov_hardness_GPa",
    "mazhnik_oganov_toughness_MPa_m05",
    "tian_hardness_GPa",
]
