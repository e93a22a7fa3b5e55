"""The moment network obeys the physics of a potential, is smooth at r_c, and round-trips through checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

from ase_mlmat import MLCalculator, Potential
from ase_mlmat.checkpoint import load_potential, save_potential
from ase_mlmat.graph import atoms_to_graph, collate
from ase_mlmat.models.moments import MomentNet
from ase_mlmat.testing import PotentialTests

ELEMENTS = ("H", "C", "O", "Si")


def random_moments(
    cutoff: float = 4.0, seed: int = 0, dtype: torch.dtype = torch.float64, max_rank: int = 3
) -> Potential:
    """An untrained moment network with weights large enough that every invariant shapes the energy."""
    torch.manual_seed(seed)
    model = Potential(
        "moments",
        {
            "cutoff": cutoff,
            "num_features": 8,
            "num_interactions": 2,
            "num_basis": 6,
            "avg_num_neighbors": 4.0,
            "max_rank": max_rank,
        },
        list(ELEMENTS),
        reference_energies=[-1.0, -2.0, -3.0, -4.0],
    )
    with torch.no_grad():
        for p in model.net.parameters():
            p.normal_(0.0, 0.5)
    return model.to(dtype).eval()


def silicon() -> Atoms:
    """A strained, rattled two-species cell: no symmetry hides a wrong term."""
    atoms = bulk("Si", "diamond", a=5.43) * (2, 1, 1)
    atoms.symbols[1] = "C"
    atoms.rattle(0.1, seed=1)
    atoms.set_cell(
        atoms.cell.array @ np.array([[1.0, 0.02, 0.0], [0.0, 0.98, 0.03], [0.01, 0.0, 1.01]]), scale_atoms=True
    )
    return atoms


class TestRandomMoments(PotentialTests):
    """Forces, stress (finite differences), rotation, translation, permutation, extensivity, in float64."""

    @pytest.fixture
    def calculator(self):
        return MLCalculator(random_moments(), dtype="float64", device="cpu")

    @pytest.fixture
    def structure(self):
        return silicon()


class TestRandomMomentsRank2(TestRandomMoments):
    @pytest.fixture
    def calculator(self):
        return MLCalculator(random_moments(max_rank=2), dtype="float64", device="cpu")


def test_forces_are_not_trivial():
    atoms = silicon()
    atoms.calc = MLCalculator(random_moments(), dtype="float64", device="cpu")
    assert np.abs(atoms.get_forces()).max() > 1e-2
    assert np.abs(atoms.get_stress()).max() > 1e-4


def test_four_body_invariants_see_angles_beyond_pair_distances():
    """Moving one neighbour on a sphere around atom 0 changes its three- and four-body terms.

    With one interaction the energy of atom 0 depends on its neighbours only; the neighbour moves at fixed
    distance (2.2 Å) from atom 0 and stays out of range (r_c = 3 Å) of the other neighbour, so the energy of a
    pair-only model would not change.
    """
    model = random_moments(cutoff=3.0)
    model.net.interactions = model.net.interactions[:1]
    calc = MLCalculator(model, dtype="float64", device="cpu")

    def energy_of_atom0(angle: float) -> float:
        atoms = Atoms(
            "SiCO",
            positions=[[0, 0, 0], [2.2, 0, 0], [2.2 * np.cos(angle), 2.2 * np.sin(angle), 0]],
        )
        atoms.calc = calc
        return float(atoms.get_potential_energies()[0])

    assert abs(energy_of_atom0(1.7) - energy_of_atom0(2.6)) > 1e-6


def test_energy_continuous_across_cutoff():
    """A pair moving through r_c: energy and force vanish smoothly, reaching isolated atoms."""
    model = random_moments()
    calc = MLCalculator(model, dtype="float64", device="cpu")

    def energy_force(r: float) -> tuple[float, float]:
        dimer = Atoms("SiC", positions=[[0, 0, 0], [r, 0, 0]])
        dimer.calc = calc
        return dimer.get_potential_energy(), dimer.get_forces()[1, 0]

    e_far, f_far = energy_force(model.cutoff + 0.5)
    assert f_far == 0.0
    for delta in (1e-2, 1e-3, 1e-4):
        e_in, f_in = energy_force(model.cutoff - delta)
        e_out, _ = energy_force(model.cutoff + delta)
        assert e_out == pytest.approx(e_far, abs=1e-12)
        assert abs(e_in - e_far) < 50 * delta**3 + 1e-12  # value, slope and curvature vanish at r_c
        assert abs(f_in) < 50 * delta**2 + 1e-12


def test_force_constants_finite_at_symmetric_sites():
    """At ideal diamond the rank-1 moments vanish by symmetry; F(u)/u must converge as u → 0."""
    atoms = bulk("Si", "diamond", a=5.43) * (2, 2, 2)
    calc = MLCalculator(random_moments(), dtype="float64", device="cpu")
    ratios = []
    for u in (1e-3, 2e-3):
        displaced = atoms.copy()
        displaced.calc = calc
        displaced.positions[0, 0] += u
        ratios.append(displaced.get_forces()[0, 0] / u)
    assert abs(ratios[0] - ratios[1]) < 0.01 * abs(ratios[0])


def test_float32_matches_float64():
    atoms = silicon()
    results = {}
    for dtype in ("float32", "float64"):
        copy = atoms.copy()
        copy.calc = MLCalculator(random_moments(), dtype=dtype, device="cpu")
        results[dtype] = copy.get_potential_energy(), copy.get_forces(), copy.get_stress()
    e32, f32, s32 = results["float32"]
    e64, f64, s64 = results["float64"]
    assert e32 == pytest.approx(e64, rel=1e-5, abs=1e-4)
    np.testing.assert_allclose(f32, f64, atol=1e-4 * max(1.0, np.abs(f64).max()))
    np.testing.assert_allclose(s32, s64, atol=1e-5 * max(1.0, np.abs(s64).max()))


def test_batch_equals_single_structures():
    """Atoms of different structures in one batch do not see each other."""
    model = random_moments()
    first, second = silicon(), bulk("Si", "diamond", a=5.5)
    singles = []
    for atoms in (first, second):
        singles.append(model(atoms_to_graph(atoms, model.cutoff, elements=model.elements))["energy"])
    batch = collate([atoms_to_graph(a, model.cutoff, elements=model.elements) for a in (first, second)])
    torch.testing.assert_close(model(batch)["energy"], torch.cat(singles))


def test_checkpoint_round_trip(tmp_path):
    model = random_moments()
    path = save_potential(model, tmp_path / "moments.pt")
    loaded = load_potential(path)
    assert loaded.architecture == "moments"
    assert isinstance(loaded.net, MomentNet)
    atoms = silicon()
    for potential in (model, loaded):
        atoms.calc = MLCalculator(potential, dtype="float64", device="cpu")
        atoms.get_forces()
    before = MLCalculator(model, dtype="float64", device="cpu").get_property("energy", silicon())
    after = MLCalculator(loaded, dtype="float64", device="cpu").get_property("energy", silicon())
    assert after == pytest.approx(before, abs=1e-12)


def test_elements_can_be_added():
    """Fine-tuning appends embedding rows; the old species predict as before."""
    model = random_moments()
    atoms = silicon()
    before = MLCalculator(model, dtype="float64", device="cpu").get_property("energy", atoms)
    model.add_elements(["Cu"])
    assert model.net.embedding.num_embeddings == len(ELEMENTS) + 1
    after = MLCalculator(model, dtype="float64", device="cpu").get_property("energy", atoms)
    assert after == pytest.approx(before, abs=1e-12)


def test_invalid_options_are_refused():
    with pytest.raises(ValueError, match="avg_num_neighbors"):
        MomentNet(num_species=1, avg_num_neighbors=0.0)
    with pytest.raises(ValueError, match="max_rank"):
        MomentNet(num_species=1, max_rank=4)
    with pytest.raises(ValueError, match="num_interactions"):
        MomentNet(num_species=1, num_interactions=0)
