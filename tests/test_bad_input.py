"""Bad input gets a clear error that says what and why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

from ase_mlmat import MLCalculator, StructureError, save_potential
from ase_mlmat.checkpoint import CheckpointError, load_potential


def _energy(atoms, calc):
    atoms.calc = calc
    return atoms.get_potential_energy()


def test_empty_atoms(calc):
    with pytest.raises(StructureError, match="empty"):
        _energy(Atoms(), calc)


def test_unknown_element(calc):
    with pytest.raises(StructureError, match=r"\['Fe'\] not in the model"):
        _energy(bulk("Fe"), calc)


def test_nan_positions(calc):
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions[1, 2] = np.nan
    with pytest.raises(StructureError, match="non-finite positions"):
        _energy(atoms, calc)


def test_overlapping_atoms(calc):
    atoms = Atoms("SiSi", positions=[[0, 0, 0], [0, 0, 0]], cell=[5, 5, 5], pbc=True)
    with pytest.raises(StructureError, match="overlapping atoms: atoms 0 and 1"):
        _energy(atoms, calc)


def test_overlapping_periodic_image(calc):
    atoms = Atoms("SiSi", positions=[[0, 0, 0], [5.0, 0, 0]], cell=[5, 5, 5], pbc=True)
    with pytest.raises(StructureError, match="overlapping"):
        _energy(atoms, calc)


@pytest.mark.parametrize("cell", [np.zeros((3, 3)), [[1, 0, 0], [2, 0, 0], [0, 0, 1]]])
def test_zero_volume_cell(calc, cell):
    atoms = Atoms("Si", positions=[[0, 0, 0]], cell=cell, pbc=True)
    with pytest.raises(StructureError, match="degenerate cell"):
        _energy(atoms, calc)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a checkpoint file nor a shipped model"):
        MLCalculator(str(tmp_path / "nothing.pt"))


def test_corrupt_checkpoint(tmp_path, potential):
    path = save_potential(potential, tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_potential(path)


def test_foreign_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not an ase-mlmat potential checkpoint"):
        load_potential(path)


class _Payload:
    """Pickles to a call of Path.touch: loading it would create a file."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_tampered_checkpoint_runs_no_code(tmp_path, potential):
    path = save_potential(potential, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    marker = tmp_path / "code-was-run"
    payload["metadata"] = {"evil": _Payload(marker)}
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="could run code"):
        load_potential(path)
    assert not marker.exists()


def test_wrong_dtype_name(potential):
    with pytest.raises(ValueError, match="dtype must be"):
        MLCalculator(potential, dtype="float16")
