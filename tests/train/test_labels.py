"""Label reading: other codes' keys, virial as stress, counts before training and warnings on gaps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_mlmat.data import DatasetError, LabelCounts, get_labels, load_labelled
from ase_mlmat.train import TrainConfig, evaluate, train

from ..conftest import random_potential

TINY = {"cutoff": 3.5, "num_features": 8, "num_interactions": 1, "num_basis": 6}
REF = {"energy_key": "REF_energy", "forces_key": "REF_forces", "stress_key": "REF_stress"}


def _emt_frames(count: int = 4) -> list[Atoms]:
    """Small rattled and strained Cu cells with EMT energy, forces and stress (single-point results)."""
    frames = []
    for k in range(count):
        atoms = bulk("Cu", "fcc", a=3.55 + 0.03 * k, cubic=True)
        atoms.rattle(0.05, seed=k)
        atoms.calc = EMT()
        results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **results)
        frames.append(atoms)
    return frames


def _ref_only(frames: list[Atoms]) -> list[Atoms]:
    """The same frames with their labels under REF_* keys only, as other codes write them."""
    out = []
    for atoms in frames:
        copy = atoms.copy()
        copy.calc = None
        copy.info["REF_energy"] = atoms.get_potential_energy()
        copy.arrays["REF_forces"] = atoms.get_forces()
        copy.info["REF_stress"] = atoms.get_stress(voigt=False)
        out.append(copy)
    return out


@pytest.fixture
def ref_file(tmp_path):
    frames = _emt_frames()
    path = tmp_path / "ref.extxyz"
    write(path, _ref_only(frames))
    text = path.read_text()
    assert "REF_energy" in text and "energy=" not in text.replace("REF_energy=", "")
    return path, frames


def test_ref_keys_read_through_options(ref_file):
    path, frames = ref_file
    with pytest.raises(DatasetError, match=r"no energy label 'energy' \(it holds: .*REF_energy.*energy_key"):
        load_labelled(path)
    _, labels = load_labelled(path, **REF)
    for atoms, label in zip(frames, labels):
        assert label.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
        np.testing.assert_allclose(label.forces, atoms.get_forces(), atol=1e-7)  # extxyz: 8 decimals
        np.testing.assert_allclose(label.stress, atoms.get_stress(), atol=1e-12)


def test_evaluate_takes_the_label_keys(ref_file, tmp_path):
    path, frames = ref_file
    standard = tmp_path / "standard.extxyz"
    write(standard, frames)
    model = random_potential(elements=("Cu",), cutoff=3.5)
    expected = evaluate(model, standard)
    got = evaluate(model, path, **REF)
    assert got.keys() == expected.keys() and "stress_mae_GPa" in got
    for name in expected:
        assert got[name] == pytest.approx(expected[name], rel=1e-9)


def test_train_config_label_keys_and_the_counts(ref_file, tmp_path, capsys):
    path, _ = ref_file
    config = TrainConfig.from_dict(
        {
            "data": str(path),
            "model": TINY,
            "epochs": 1,
            "batch_size": 2,
            "val_fraction": 0.25,
            "device": "cpu",
            "plots": False,
            "output": str(tmp_path / "m.pt"),
            **REF,
        }
    )
    train(config)
    assert "labels: 4 structures, energy 4, forces 4, stress 4" in capsys.readouterr().out
    with pytest.raises(ValueError, match="energy_key must be a non-empty key name"):
        TrainConfig.from_dict({"data": str(path), "energy_key": ""})


def test_virial_becomes_stress_in_ase_convention(tmp_path):
    """virial = −σ·V: a compressed cell (compressive, negative σ in ASE) has a positive virial."""
    atoms = bulk("Cu", "fcc", a=3.45, cubic=True)  # compressed (EMT's a0 ≈ 3.59 Å)
    atoms.rattle(0.05, seed=1)
    atoms.calc = EMT()
    energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert np.all(stress[:3] < 0)
    labelled = atoms.copy()
    labelled.calc = SinglePointCalculator(labelled, energy=energy, forces=forces)
    labelled.info["virial"] = -atoms.get_stress(voigt=False) * atoms.get_volume()  # eV, 3×3
    path = tmp_path / "virial.extxyz"
    write(path, labelled)
    assert "virial=" in path.read_text() and "stress=" not in path.read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a virial is a stress: nothing is missing
        _, (label,) = load_labelled(path)
    np.testing.assert_allclose(label.stress, stress, atol=1e-12)  # eV/Å³, tensile positive
    flat = labelled.copy()
    flat.info["virial"] = labelled.info["virial"].ravel()  # Voigt-9 (row-major 3×3)
    flat.calc = SinglePointCalculator(flat, energy=energy, forces=forces)
    np.testing.assert_allclose(get_labels(flat).stress, stress, atol=1e-12)
    molecule = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.3]])
    molecule.info.update(energy=1.0, virial=np.eye(3))
    with pytest.raises(DatasetError, match="virial but no cell volume"):
        get_labels(molecule, "0")


def test_gaps_in_forces_and_stress_are_warned_with_frames(tmp_path):
    frames = _emt_frames(6)
    for k in (1, 4):  # energy only in frames 1 and 4
        frames[k].calc = SinglePointCalculator(frames[k], energy=frames[k].get_potential_energy())
    path = tmp_path / "gaps.extxyz"
    write(path, frames)
    with pytest.warns(UserWarning) as record:
        _, labels = load_labelled(path)
    messages = [str(w.message) for w in record]
    assert any("forces missing in 2 of 6 structures" in m and "(frames 1, 4)" in m for m in messages)
    assert any("stress missing in 2 of 6 periodic structures" in m and str(path) in m for m in messages)
    assert str(LabelCounts.of(labels)) == "labels: 6 structures, energy 6, forces 4, stress 4"


def test_forces_missing_everywhere_is_warned_and_complete_data_is_quiet(tmp_path):
    frames = [SinglePointCalculator(a, energy=a.get_potential_energy()) for a in _emt_frames(7)]
    bare = []
    for calc in frames:
        atoms = calc.atoms.copy()
        atoms.calc = calc
        bare.append(atoms)
    path = tmp_path / "energy_only.extxyz"
    write(path, bare)
    with pytest.warns(UserWarning) as record:
        load_labelled(path)
    messages = " | ".join(str(w.message) for w in record)
    assert "forces missing in all 7 structures" in messages and "(frames 0, 1, 2, 3, 4, ...)" in messages
    assert "stress missing in all 7 periodic structures" in messages
    complete = tmp_path / "complete.extxyz"
    write(complete, _emt_frames(3))
    molecule = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.3]])
    molecule.calc = SinglePointCalculator(molecule, energy=1.0, forces=np.zeros((2, 3)))
    molecules = tmp_path / "molecules.extxyz"
    write(molecules, [molecule])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_labelled([complete, molecules])  # a molecule cannot have a stress: not a gap


def test_mlmat_eval_takes_label_keys(ref_file, capsys):
    """``mlmat eval --energy-key REF_energy ...`` reads other codes' keys; without them the error names the option."""
    from ase_mlmat.cli import main

    path, _ = ref_file
    assert main(["eval", "mlearn-Cu", str(path)]) == 2
    assert "energy_key" in capsys.readouterr().err
    keys = ["--energy-key", "REF_energy", "--forces-key", "REF_forces", "--stress-key", "REF_stress"]
    assert main(["eval", "mlearn-Cu", str(path), *keys]) == 0
    out = capsys.readouterr().out
    assert "structures               4" in out and "force MAE" in out and "stress MAE" in out
