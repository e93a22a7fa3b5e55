"""Universal potentials by name as reference calculators: CHGNet and SevenNet, and a clear error without them."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from ase.build import bulk

from ase_mlmat.properties import calculator_from_spec
from ase_mlmat.teachers import TEACHERS, TeacherMissingError


def test_missing_teacher_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "chgnet" else real(name, *a))
    with pytest.raises(TeacherMissingError, match=r'pip install "ase-mlmat\[teachers\]"'):
        calculator_from_spec("chgnet")


@pytest.mark.parametrize("name", sorted(TEACHERS))
def test_teacher_labels_copper_physically(name):
    """Cu fcc near its PBE lattice constant: a bound energy, zero forces by symmetry; a rattle gives forces that
    sum to zero and oppose the displacement on average."""
    if importlib.util.find_spec(TEACHERS[name].module) is None:
        pytest.skip(f"{TEACHERS[name].module} is not installed (the teachers extra)")
    calc = calculator_from_spec(name.upper() if name == "sevenn" else name, device="cpu")  # names are case-blind
    atoms = bulk("Cu", "fcc", a=3.63, cubic=True)
    atoms.calc = calc
    energy = atoms.get_potential_energy() / len(atoms)
    assert -4.5 < energy < -3.5  # PBE cohesive scale of the MP reference energies, eV/atom
    assert np.abs(atoms.get_forces()).max() < 1e-3
    rattled = atoms.copy()
    displacement = np.random.default_rng(0).normal(scale=0.05, size=(len(atoms), 3))
    rattled.positions += displacement
    rattled.calc = calc
    forces = rattled.get_forces()
    assert np.abs(forces.sum(axis=0)).max() < 1e-3
    assert np.sum(forces * displacement) < 0  # a restoring force
    assert rattled.get_potential_energy() / len(atoms) > energy
