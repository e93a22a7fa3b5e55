"""Predictor protocol: typed results to rows, batch runs that report failures, calculator specs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_mlmat import MLCalculator
from ase_mlmat.properties import (
    PredictionFailure,
    PropertyError,
    PropertyPredictor,
    PropertyResult,
    calculator_from_spec,
)
from ase_mlmat.properties.output import write_csv, write_db, write_json


@dataclass(frozen=True)
class VolumeResult(PropertyResult):
    volume_per_atom_A3: float
    cell_A: np.ndarray
    periodic: bool


class VolumePredictor(PropertyPredictor):
    name = "volume"

    def predict(self, atoms, calculator=None):
        if len(atoms) == 1:
            raise PropertyError("one-atom cells are refused by this test predictor")
        return VolumeResult(atoms.get_volume() / len(atoms), atoms.cell.array, bool(atoms.pbc.all()))


def test_rows_hold_scalars_and_dicts_hold_arrays():
    result = VolumePredictor().predict(bulk("Cu", cubic=True))
    row = result.as_row()
    assert row == {"volume_per_atom_A3": pytest.approx(3.61**3 / 4), "periodic": True}
    assert np.array(result.as_dict()["cell_A"]).shape == (3, 3)
    json.dumps(result.as_dict())


def test_predict_many_reports_failures_and_continues(tmp_path):
    structures = [bulk("Cu", cubic=True), bulk("Cu"), bulk("Al", cubic=True)]
    results = VolumePredictor().predict_many(structures, progress=False)
    assert isinstance(results[1], PredictionFailure) and "one-atom" in results[1].message
    assert isinstance(results[0], VolumeResult) and isinstance(results[2], VolumeResult)
    with pytest.raises(PropertyError):
        VolumePredictor().predict_many(structures, allow_errors=False, progress=False)
    sources = ["a", "b", "c"]
    write_json(tmp_path / "r.json", structures, results, sources)
    rows = json.loads((tmp_path / "r.json").read_text())
    assert [r["ok"] for r in rows] == [True, False, True]
    write_csv(tmp_path / "r.csv", structures, results, sources)
    assert (tmp_path / "r.csv").read_text().count("\n") == 4
    assert write_db(tmp_path / "r.db", structures, results, sources, "volume") == 3
    from ase.db import connect

    assert connect(tmp_path / "r.db").count(ok=False) == 1


def test_calculator_specs():
    assert isinstance(calculator_from_spec("ase.calculators.emt:EMT"), EMT)
    with pytest.raises(ValueError, match="cannot import calculator module"):
        calculator_from_spec("no_such_module:Calc")
    with pytest.raises(ValueError, match="has no attribute"):
        calculator_from_spec("ase.calculators.emt:Nothing")
    with pytest.raises(FileNotFoundError):
        calculator_from_spec("not-a-model")
    assert MLCalculator  # shipped-name specs are covered by the calculator tests
