"""``mlmat predict``: options checked against the predictor, one row per structure or unreadable file."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest
from ase.build import bulk, molecule
from ase.io import write

from ase_mlmat import properties
from ase_mlmat.cli import main
from ase_mlmat.properties import PropertyError, PropertyPredictor, PropertyResult


@dataclasses.dataclass(frozen=True)
class VolumeResult(PropertyResult):
    volume_per_atom_A3: float

    def details(self) -> str:
        return f"volume per atom {self.volume_per_atom_A3:.3f} Å³"


class VolumePredictor(PropertyPredictor):
    """Volume per atom times ``scale``; refuses non-periodic structures."""

    name = "volume"

    def __init__(self, *, scale: float = 1.0):
        self.scale = scale

    def predict(self, atoms, calculator=None) -> VolumeResult:
        if not atoms.pbc.all():
            raise PropertyError("needs a periodic structure")
        return VolumeResult(self.scale * atoms.get_volume() / len(atoms))


@pytest.fixture
def volume_predictor(monkeypatch):
    """``mlmat predict volume`` runs :class:`VolumePredictor`; other names go to the registry."""
    registered = properties.get_predictor
    monkeypatch.setattr(
        properties, "get_predictor", lambda name: VolumePredictor if name == "volume" else registered(name)
    )


@pytest.fixture
def files(tmp_path):
    """Two good files (one with two frames), a non-periodic molecule, a text file and a missing path."""
    write(tmp_path / "si.extxyz", bulk("Si", "diamond", a=5.43))
    write(tmp_path / "cu2.extxyz", [bulk("Cu", "fcc", a=3.6), bulk("Cu", "fcc", a=3.7)])
    write(tmp_path / "h2o.extxyz", molecule("H2O"))
    (tmp_path / "bad.extxyz").write_text("not a structure\n")
    return {name: str(tmp_path / f"{name}.extxyz") for name in ("si", "cu2", "h2o", "bad", "missing")}


def test_a_bad_file_is_a_failure_row_and_the_rest_run(volume_predictor, files, tmp_path, capsys):
    output = tmp_path / "out.json"
    paths = [files[name] for name in ("si", "bad", "cu2", "missing", "h2o")]
    assert main(["predict", "volume", *paths, "--output", str(output), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{files['bad']}: FAILED DatasetError: cannot read structures" in out
    assert f"{files['missing']}: FAILED DatasetError: data file" in out
    assert f"{files['h2o']} (H2O): FAILED PropertyError: needs a periodic structure" in out
    assert f"{files['cu2']}@1 (Cu): volume_per_atom_A3=12.66" in out
    assert "    volume per atom 20.013 Å³" in out  # the result's details() under its summary line
    rows = json.loads(output.read_text())
    assert [row["source"] for row in rows] == [
        files["si"],
        files["bad"],
        f"{files['cu2']}@0",
        f"{files['cu2']}@1",
        files["missing"],
        files["h2o"],
    ]
    assert [row["ok"] for row in rows] == [True, False, True, True, False, False]
    assert [row.get("index") for row in rows if not row["ok"]] == [1, 4, 5]  # positions in the output
    assert rows[1]["formula"] == "" and rows[1]["error_type"] == "DatasetError"
    assert rows[0]["volume_per_atom_A3"] == pytest.approx(5.43**3 / 8)


def test_csv_output_and_exit_code_when_everything_fails(volume_predictor, files, tmp_path, capsys):
    output = tmp_path / "out.csv"
    assert main(["predict", "volume", files["bad"], files["h2o"], "--output", str(output), "--no-progress"]) == 1
    with open(output) as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["source"], row["ok"], row["error_type"]) for row in rows] == [
        (files["bad"], "False", "DatasetError"),
        (files["h2o"], "False", "PropertyError"),
    ]
    assert "0 succeeded, 2 failed" in capsys.readouterr().out


def test_options_are_checked_against_the_predictor(volume_predictor, files, tmp_path, capsys):
    output = str(tmp_path / "out.json")
    assert main(["predict", "volume", files["si"], "--option", "foo=1", "--output", output]) == 2
    err = capsys.readouterr().err
    assert err == "mlmat predict: error: unknown volume predictor option(s) ['foo']; known: ['scale']\n"
    assert main(["predict", "volume", files["si"], "--option", "scale=big", "--output", output]) == 2
    err = capsys.readouterr().err
    assert err == "mlmat predict: error: volume predictor option 'scale' = 'big': expected a number\n"
    assert main(["predict", "volume", files["si"], "--option", "scale=2", "--output", output, "--no-progress"]) == 0
    assert json.loads(Path(output).read_text())[0]["volume_per_atom_A3"] == pytest.approx(2 * 5.43**3 / 8)


def test_a_plugin_predictor_option_typo_is_one_line(files, capsys):
    """The reported case: ``mlmat predict elastic ... --option foo=1`` raised a TypeError traceback."""
    pytest.importorskip("mlmat_elastic")
    assert main(["predict", "elastic", files["si"], "--option", "foo=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlmat predict: error: unknown elastic predictor option(s) ['foo']; known: [")
    assert len(err.splitlines()) == 1
