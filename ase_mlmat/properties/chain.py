"""Chained predictors: one predictor's moduli feed another's property (hardness from the elastic tensor).

    chain = ChainedPredictor("elastic", "hardness")      # both found in the registry
    chain.predict(atoms, calculator)                     # HardnessResult from the elastic result's K, G

The first step returns a :class:`~.moduli_source.ModuliSource`; the second derives its property with
:meth:`~.base.PropertyPredictor.predict_from_moduli`.
"""

from __future__ import annotations

from typing import ClassVar

from ase import Atoms

from .base import PropertyPredictor, PropertyResult
from .registry import create


def _predictor(spec: PropertyPredictor | str) -> PropertyPredictor:
    return create(spec) if isinstance(spec, str) else spec


class ChainedPredictor(PropertyPredictor):
    """``then.predict_from_moduli(atoms, source.predict(atoms, calculator))``.

    Args:
        source: predictor (or registered name) whose result carries ``bulk_modulus_GPa``/``shear_modulus_GPa``.
        then: predictor (or registered name) with ``consumes_moduli``.
    """

    name: ClassVar[str] = "chain"

    def __init__(self, source: PropertyPredictor | str, then: PropertyPredictor | str) -> None:
        self.source, self.then = _predictor(source), _predictor(then)
        if not self.then.consumes_moduli:
            raise ValueError(f"{type(self.then).__name__} does not derive a property from moduli")
        self.needs_calculator = self.source.needs_calculator

    def predict(self, atoms: Atoms, calculator=None) -> PropertyResult:
        return self.then.predict_from_moduli(atoms, self.source.predict(atoms, calculator))
