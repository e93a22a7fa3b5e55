"""torch-sim's model interface for ase-mlmat potentials: batched results, MD and relaxation equal ASE's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.build import bulk
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet

ts = pytest.importorskip("torch_sim", reason="torch-sim is not installed (pip install 'ase-mlmat[torchsim]')")

from ase_mlmat import MLCalculator, Potential  # noqa: E402
from ase_mlmat.graph import StructureError  # noqa: E402
from ase_mlmat.torchsim import TorchSimModel  # noqa: E402

MODEL = "mlearn-Cu"


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def three_systems() -> list[Atoms]:
    """Three Cu structures of different sizes; the last has a sheared, non-cubic cell."""
    cubic = bulk("Cu", "fcc", a=3.61, cubic=True)  # 4 atoms
    small = cubic.repeat((2, 2, 2))
    wide = bulk("Cu", "fcc", a=3.65).repeat((3, 2, 2))  # primitive (rhombohedral) cell
    sheared = cubic.repeat((2, 2, 3))
    shear = np.array([[0.0, 0.4, 0.1], [0.3, 0.0, 0.0], [0.0, -0.2, 0.0]])
    sheared.set_cell(sheared.cell.array + shear, scale_atoms=True)
    systems = [small, wide, sheared]
    for k, atoms in enumerate(systems):
        atoms.rattle(0.08, seed=k)
    return systems


def reference(atoms: Atoms) -> dict[str, np.ndarray]:
    atoms = atoms.copy()
    atoms.calc = MLCalculator(MODEL, device="cpu", dtype="float64", skin=0.0)
    return {
        "energy": atoms.get_potential_energy(),
        "forces": atoms.get_forces(),
        "stress": atoms.get_stress(voigt=False),
    }


@pytest.mark.parametrize(
    ("neighbor_list", "skin"), [("vesin", 0.0), ("torch_cells", 0.0), ("torch_sim", 0.0), ("vesin_torch", 1.0)]
)
def test_batch_equals_calculator(neighbor_list, skin):
    systems = three_systems()
    model = TorchSimModel(MODEL, device="cpu", neighbor_list=neighbor_list, skin=skin)
    state = ts.io.atoms_to_state(systems, torch.device("cpu"), torch.float64)
    positions = state.positions.clone()
    out = model(state)
    assert torch.equal(state.positions, positions)  # input not mutated
    assert out["energy"].shape == (3,) and out["stress"].shape == (3, 3, 3)
    forces = np.split(out["forces"].numpy(), np.cumsum([len(a) for a in systems])[:-1])
    for k, atoms in enumerate(systems):
        ref = reference(atoms)
        assert float(out["energy"][k]) == pytest.approx(ref["energy"], abs=1e-8)
        np.testing.assert_allclose(forces[k], ref["forces"], atol=1e-8)
        np.testing.assert_allclose(out["stress"][k].numpy(), ref["stress"], atol=1e-8)


@pytest.mark.parametrize("neighbor_list", ["vesin", "torch_cells", "torch_sim"])
def test_clusters_without_a_cell(neighbor_list):
    from ase.cluster import Octahedron

    clusters = [Octahedron("Cu", 4, cutoff=1), Octahedron("Cu", 3)]  # 38 and 19 atoms, zero cell, no pbc
    for k, atoms in enumerate(clusters):
        atoms.rattle(0.05, seed=k)
    model = TorchSimModel(MODEL, device="cpu", neighbor_list=neighbor_list)
    out = model(ts.io.atoms_to_state(clusters, torch.device("cpu"), torch.float64))
    forces = np.split(out["forces"].numpy(), [len(clusters[0])])
    for k, atoms in enumerate(clusters):
        atoms.calc = MLCalculator(MODEL, device="cpu", dtype="float64", skin=0.0)
        assert float(out["energy"][k]) == pytest.approx(atoms.get_potential_energy(), abs=1e-8)
        np.testing.assert_allclose(forces[k], atoms.get_forces(), atol=1e-8)
    assert not bool(out["stress"].any())  # no volume, no stress


def test_torch_sim_validates_the_interface():
    """torch-sim's own conformance check (Si and Fe in one batch and apart), on an untrained two-element model."""
    from torch_sim.models.interface import validate_model_outputs

    torch.manual_seed(0)
    potential = Potential(
        "painn", {"cutoff": 4.0, "num_features": 8, "num_interactions": 1, "num_basis": 4}, ["Si", "Fe"]
    )
    validate_model_outputs(TorchSimModel(potential, device="cpu"), torch.device("cpu"), torch.float64)


def test_committee_returns_the_mean_and_spread():
    # a model refuses elements it lacks (Cu for the Ni model)
    with pytest.raises(StructureError, match="not among the model's elements"):
        TorchSimModel("mlearn-Ni", device="cpu")(ts.io.atoms_to_state(three_systems()[:1], "cpu", torch.float64))
    single = TorchSimModel(MODEL, device="cpu")
    committee = TorchSimModel([MODEL, MODEL], device="cpu")
    state = ts.io.atoms_to_state(three_systems(), torch.device("cpu"), torch.float64)
    one, two = single(state), committee(state)
    torch.testing.assert_close(two["forces"], one["forces"], rtol=0, atol=1e-12)
    assert float(two["forces_std"].abs().max()) < 1e-12 and "forces_std" not in one


def test_nve_follows_ase_velocity_verlet():
    """torch-sim's batched velocity Verlet and ASE's, step by step, from the same momenta (float64)."""
    systems = three_systems()[:2]
    dt = 2.0 * units.fs  # both in ASE's time unit, Å·(amu/eV)^½
    rng = np.random.default_rng(0)
    for atoms in systems:
        thermalize_momenta(atoms, temperature_K=1200, rng=rng)
        Stationary(atoms)
    model = TorchSimModel(MODEL, device="cpu", skin=0.5)  # the skin must not change the trajectory
    init, update = ts.nve(model, dt=torch.tensor(dt, dtype=torch.float64), kT=torch.tensor(0.0, dtype=torch.float64))
    state = init(ts.io.atoms_to_state(systems, torch.device("cpu"), torch.float64))
    state.momenta = torch.tensor(np.concatenate([a.get_momenta() for a in systems]))
    dynamics = []
    for atoms in systems:
        atoms = atoms.copy()
        atoms.calc = MLCalculator(MODEL, device="cpu", dtype="float64", skin=0.0)
        dynamics.append(VelocityVerlet(atoms, timestep=dt))
    start, wrapped = state.positions.clone(), 0
    for _ in range(20):
        state = update(state)
        for md in dynamics:
            md.run(1)
        ours = np.split(state.positions.numpy(), np.cumsum([len(a) for a in systems])[:-1])
        for md, positions in zip(dynamics, ours):
            # torch-sim wraps atoms into the cell (ASE does not): equal up to whole lattice vectors
            frac = np.linalg.solve(md.atoms.cell.array.T, (positions - md.atoms.positions).T).T
            wrapped += np.abs(np.round(frac)).sum()
            assert np.abs((frac - np.round(frac)) @ md.atoms.cell.array).max() < 1e-10
    assert float((state.positions - start).abs().max()) > 0.05  # the atoms did move,
    assert wrapped > 0  # some across the cell's faces,
    assert model.builds < 5  # and the pairs were reused across the wrapping


def test_fire_relaxes_every_system():
    systems = three_systems()
    for k, atoms in enumerate(systems):
        atoms.rattle(0.1, seed=10 + k)
    before = [reference(a)["energy"] for a in systems]
    model = TorchSimModel(MODEL, device="cpu")
    state = ts.io.atoms_to_state(systems, torch.device("cpu"), torch.float64)
    relaxed = ts.optimize(
        system=state,
        model=model,
        optimizer=ts.optimizers.fire,
        convergence_fn=ts.generate_force_convergence_fn(force_tol=0.05, include_cell_forces=False),
        max_steps=500,
    )
    for atoms, energy_before, final in zip(systems, before, relaxed.to_atoms()):
        assert len(final) == len(atoms)
        ref = reference(final)
        assert ref["energy"] < energy_before - 0.01
        assert np.linalg.norm(ref["forces"], axis=1).max() < 0.05


def test_verlet_list_equals_a_fresh_search():
    """Moves within skin/2, atoms wrapped by a lattice vector, and a new cell: always a fresh search's results."""
    systems = three_systems()
    state = ts.io.atoms_to_state(systems, torch.device("cpu"), torch.float64)
    verlet = TorchSimModel(MODEL, device="cpu", skin=1.0)
    fresh = TorchSimModel(MODEL, device="cpu", skin=0.0)
    generator = torch.Generator().manual_seed(0)

    def agree():
        ours, theirs = verlet(state), fresh(state)
        for key in ("energy", "forces", "stress"):
            torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=1e-10)

    agree()
    start = state.positions.clone()
    state.positions = start + 0.1 * torch.randn(start.shape, generator=generator, dtype=torch.float64)
    agree()
    lattice_steps = torch.zeros_like(start)
    lattice_steps[::3] = torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)  # every third atom to another image
    state.positions = state.positions + torch.einsum(
        "ni,nij->nj", lattice_steps, state.row_vector_cell[state.system_idx]
    )
    agree()
    assert verlet.builds == 1  # the wrap cost no search
    state.row_vector_cell = state.row_vector_cell * 1.01
    agree()
    assert verlet.builds == 2  # a new cell did


def test_overlap_is_refused_between_searches():
    systems = three_systems()[:1]
    state = ts.io.atoms_to_state(systems, torch.device("cpu"), torch.float64)
    model = TorchSimModel(MODEL, device="cpu", skin=1.0, min_distance=2.2)
    model(state)
    i, j = 0, int(np.argsort(systems[0].get_distances(0, range(1, len(systems[0])), mic=True))[0]) + 1
    vector = torch.tensor(systems[0].get_distance(i, j, mic=True, vector=True))
    gap = float(vector.norm())
    state.positions[i] += vector * (gap - 2.1) / gap / 2  # within skin/2, and 2.1 Å from its neighbour
    state.positions[j] -= vector * (gap - 2.1) / gap / 2
    with pytest.raises(StructureError, match="overlapping"):
        model(state)
    assert model.builds == 1


def test_cell_relaxation_uses_the_stress_with_its_sign():
    """torch-sim's FIRE with a Fréchet cell filter relaxes strained cells to zero stress (ASE's sign convention)."""
    squeezed, stretched = (bulk("Cu", "fcc", a=a, cubic=True) for a in (3.52, 3.70))
    model = TorchSimModel(MODEL, device="cpu")
    state = ts.io.atoms_to_state([squeezed, stretched], torch.device("cpu"), torch.float64)
    relaxed = ts.optimize(
        system=state,
        model=model,
        optimizer=ts.optimizers.frechet_cell_fire,
        convergence_fn=ts.generate_force_convergence_fn(force_tol=0.01),
        max_steps=300,
    )
    lattice = [float(np.cbrt(a.get_volume() / 4)) for a in relaxed.to_atoms()]
    assert lattice[0] == pytest.approx(lattice[1], abs=1e-3)
    assert np.abs(reference(relaxed.to_atoms()[0])["stress"]).max() < 1e-3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("neighbor_list", ["auto", "vesin_torch", "torch_sim"])
def test_cuda_equals_cpu_and_stays_on_the_device(neighbor_list):
    systems = three_systems()
    cuda = torch.device("cuda")
    expected = TorchSimModel(MODEL, device="cpu")(ts.io.atoms_to_state(systems, torch.device("cpu"), torch.float64))
    model = TorchSimModel(MODEL, device=cuda, neighbor_list=neighbor_list)
    state = ts.io.atoms_to_state(systems, cuda, torch.float64)
    out = model(state)
    for key in ("energy", "forces", "stress"):
        torch.testing.assert_close(out[key].cpu(), expected[key], rtol=0, atol=1e-8)
    zero = torch.zeros((), device=cuda, dtype=torch.float64)
    init, update = ts.nve(model, dt=zero + 2 * units.fs, kT=zero + 0.05)
    md_state = init(state, seed=0)
    for _ in range(5):
        md_state = update(md_state)
    assert md_state.positions.is_cuda and md_state.forces.is_cuda and bool(torch.isfinite(md_state.forces).all())
