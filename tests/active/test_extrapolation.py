"""Extrapolation grade (D-optimality on last-layer features): MaxVol, invariance, what it flags, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.cluster import Octahedron

from ase_mlmat.active.extrapolation import ExtrapolationGrade, last_layer_features, maxvol, select_d_optimal
from ase_mlmat.data import get_labels
from ase_mlmat.models.potential import Potential
from ase_mlmat.train import TrainConfig, fit

TINY = {"cutoff": 4.0, "num_features": 16, "num_interactions": 2, "num_basis": 8}


def _crystal(a: float = 3.61, rattle: float = 0.0, seed: int = 0):
    atoms = bulk("Cu", "fcc", a=a, cubic=True) * (2, 2, 2)
    if rattle:
        atoms.rattle(rattle, rng=np.random.default_rng(seed))
    return atoms


def _labelled(atoms):
    atoms.calc = EMT()
    results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


@pytest.fixture(scope="module")
def trained():
    """A tiny potential trained briefly on six rattled (0.05 Å) Cu32 cells, and those cells."""
    structures = [_labelled(_crystal(rattle=0.05, seed=k)) for k in range(6)]
    config = TrainConfig(
        model=dict(TINY),
        epochs=30,
        batch_size=2,
        learning_rate=5e-3,
        seed=0,
        device="cpu",
        progress=False,
        plots=False,
        energy_weight=1.0,
        stress_weight=1.0,
    )
    return fit(config, structures, [get_labels(a) for a in structures]).model, structures


def test_maxvol_finds_the_dominant_rows_and_bounds_every_coefficient():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(40, 4))
    matrix[[3, 17, 25, 38]] *= 50.0  # the rows of largest volume by far
    rows = maxvol(matrix, tolerance=1.0001)
    assert sorted(rows) == [3, 17, 25, 38]
    coefficients = np.linalg.solve(matrix[rows].T, matrix.T).T
    assert np.abs(coefficients).max() <= 1.0001


def test_training_atoms_interpolate_and_unlike_structures_extrapolate(trained):
    model, structures = trained
    grade = ExtrapolationGrade(model, structures)
    assert len(grade.active_set) == TINY["num_features"] // 2 + 1  # hidden width + bias
    assert max(grade(atoms) for atoms in structures) <= 1.001
    assert grade(_crystal(rattle=0.03, seed=99)) < 1.5  # a new sample of the training distribution
    assert grade(_crystal(rattle=0.3, seed=99)) > 5.0  # strongly distorted
    assert grade(_crystal(a=3.3, rattle=0.05, seed=99)) > 5.0  # compressed by 9 %
    cluster = Octahedron("Cu", 4, cutoff=1, latticeconstant=3.61)
    cluster.center(vacuum=6.0)
    assert grade(cluster) > 5.0  # surface atoms: never seen


def test_grade_is_invariant_to_rotation_translation_and_permutation(trained):
    model, structures = trained
    grade = ExtrapolationGrade(model, structures)
    atoms = _crystal(rattle=0.1, seed=7)
    moved = atoms.copy()
    moved.rotate(33.0, "x", rotate_cell=True)
    moved.translate([0.3, -0.2, 0.1])
    order = np.random.default_rng(0).permutation(len(atoms))
    moved = moved[order]
    np.testing.assert_allclose(grade.atom_grades(moved), grade.atom_grades(atoms)[order], rtol=1e-6)


def test_bad_training_sets_are_refused_with_a_reason(trained):
    model, _ = trained
    with pytest.raises(ValueError, match="at least 9 training atoms"):
        ExtrapolationGrade(model, [bulk("Cu", "fcc", a=3.61, cubic=True)])  # 4 atoms, 9 features
    with pytest.raises(ValueError, match="span fewer dimensions"):
        ExtrapolationGrade(model, [_crystal()])  # a perfect crystal: 32 identical environments
    with pytest.raises(ValueError, match="got none"):
        ExtrapolationGrade(model, [])


def test_features_need_a_linear_readout():
    model = Potential("painn", dict(TINY), ["Cu"])
    model.head.mlp = model.head.mlp[:-1]  # ends in an activation: energies are not linear in a layer
    with pytest.raises(TypeError, match="linear readout"):
        last_layer_features(model, _crystal(rattle=0.05))


def test_d_optimal_batch_skips_a_second_copy_of_a_picked_environment(trained):
    model, structures = trained
    compressed = _crystal(a=3.3, rattle=0.05, seed=5)
    cluster = Octahedron("Cu", 4, cutoff=1, latticeconstant=3.61)
    cluster.center(vacuum=6.0)
    candidates = [compressed, compressed.copy(), cluster, _crystal(rattle=0.03, seed=6)]
    assert sorted(select_d_optimal(candidates, 2, model=model, labelled=structures)) == [0, 2]
    assert len(select_d_optimal(candidates, 9, model=model, labelled=structures)) == 4  # no more than there are
    assert select_d_optimal([], 2, model=model, labelled=structures) == []
