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

from ase_mlmat import MLCalculator  # noqa: E402
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
