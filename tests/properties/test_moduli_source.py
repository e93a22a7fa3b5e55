"""One protocol for "where K and G come from", chaining through it, and the one failure record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from ase.build import bulk

from ase_mlmat.properties import (
    ChainedPredictor,
    GivenModuli,
    ModuliSource,
    PredictionFailure,
    PropertyError,
    PropertyPredictor,
    PropertyResult,
    moduli_of,
)
from ase_mlmat.properties.ml_moduli import ModuliPrediction
from ase_mlmat.properties.moduli import isotropic_moduli

CUBIC = np.diag([0.0, 0.0, 0.0, 75.4, 75.4, 75.4])
CUBIC[:3, :3] = 121.4
CUBIC[[0, 1, 2], [0, 1, 2]] = 168.4  # Cu C11, C12, C44 (GPa)


@dataclass(frozen=True)
class PughRatio(PropertyResult):
    pugh_ratio: float  # G/K


class PughPredictor(PropertyPredictor):
    """A toy consumer of moduli."""

    name: ClassVar[str] = "pugh"
    consumes_moduli: ClassVar[bool] = True

    def predict_from_moduli(self, atoms, moduli) -> PughRatio:
        K, G = moduli_of(moduli)
        return PughRatio(G / K)


class TableModuli(PropertyPredictor):
    """A toy source of moduli."""

    name: ClassVar[str] = "table"

    def predict(self, atoms, calculator=None) -> GivenModuli:
        return GivenModuli(137.0, 47.0)


def test_every_moduli_result_is_a_moduli_source():
    ml = ModuliPrediction(140.0, 50.0, 1.0, 1.0, 2.1, 1.7, 0.01, 0.01)
    for source in (GivenModuli(140.0, 50.0), ml, isotropic_moduli(CUBIC)):
        assert isinstance(source, ModuliSource)
        K, G = moduli_of(source)
        assert K > G > 0
    assert moduli_of(ml) == (140.0, 50.0)


@pytest.mark.parametrize("source", [GivenModuli(-1.0, 50.0), GivenModuli(140.0, float("nan")), object()])
def test_bad_sources_are_property_errors(source):
    with pytest.raises(PropertyError):
        moduli_of(source)


def test_chain_passes_the_source_result_on():
    chain = ChainedPredictor(TableModuli(), PughPredictor())
    assert chain.predict(bulk("Cu")).pugh_ratio == pytest.approx(47.0 / 137.0)
    with pytest.raises(ValueError, match="does not derive"):
        ChainedPredictor(PughPredictor(), TableModuli())


def test_failure_record_as_a_row():
    failure = PredictionFailure.from_exception(PropertyError("x" * 600), index=3, label="Cu", stage="ml")
    row = failure.as_row()
    assert row == {"ok": False, "failed_stage": "ml", "error_type": "PropertyError", "error": "x" * 500}
    assert failure.as_row("qha_")["qha_failed_stage"] == "ml" and failure.as_dict()["index"] == 3
