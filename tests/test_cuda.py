"""The CUDA paths against the CPU ones: neighbour lists, the calculator (single model and committee), MD,
training a potential, training and using a CGCNN property model, and committee MD for active learning.

Each test runs where torch sees a CUDA device (a GPU machine); CI has none, and the CPU paths these
compare against are tested everywhere else.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from ase.build import bulk, fcc111, molecule
from ase.io import read, write
from ase.md.verlet import VelocityVerlet
from ase.units import fs

from ase_mlmat import MLCalculator
from ase_mlmat.calculator import load_model
from ase_mlmat.devices import module_device
from ase_mlmat.graph.neighbors import TorchCellList, TorchNeighborList, VesinNeighborList

from .conftest import DATA, MLEARN, pair_set, random_potential

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _structures():
    si = bulk("Si", "diamond", a=5.43)  # primitive, triclinic: an atom sees its own images many times
    cu = bulk("Cu", "fcc", a=3.6, cubic=True) * (4, 4, 4)
    cu.rattle(0.05, seed=1)
    slab = fcc111("Cu", size=(3, 3, 4), vacuum=6.0)  # periodic in x, y only
    water = molecule("H2O")  # no periodicity, no cell
    return [si, cu, slab, water]


@pytest.mark.parametrize("backend", [TorchCellList(), TorchNeighborList()], ids=lambda b: b.name)
@pytest.mark.parametrize("cutoff", [3.0, 5.0])
def test_torch_neighbour_lists_on_cuda_find_the_vesin_pairs(cutoff, backend):
    for atoms in _structures():
        args = (torch.tensor(atoms.positions), torch.tensor(atoms.cell.array), torch.tensor(atoms.pbc), cutoff)
        reference = pair_set(*VesinNeighborList().pairs(*args))
        on_gpu = backend.pairs(*(a.cuda() if torch.is_tensor(a) else a for a in args))
        assert all(t.device.type == "cuda" for t in on_gpu)
        assert pair_set(*on_gpu) == reference, atoms.get_chemical_formula()
        assert len(reference) > 0


def test_calculator_on_cuda_matches_cpu_for_every_property(si_bulk):
    members = [random_potential(seed=s) for s in range(3)]
    for spec in (members[0], members):
        results = []
        for device in ("cpu", "cuda"):
            atoms = si_bulk.copy()
            atoms.calc = MLCalculator(spec, dtype="float64", device=device)
            atoms.get_stress()
            results.append(atoms.calc.results)
        cpu, gpu = results
        assert set(cpu) == set(gpu)
        for key in cpu:
            np.testing.assert_allclose(gpu[key], cpu[key], rtol=1e-9, atol=1e-10, err_msg=key)
        assert np.abs(cpu["forces"]).max() > 0.1  # the comparison is not between zeros
    assert module_device(members[0]).type == "cpu"  # the calculator moved copies, not the caller's models


def test_float32_on_cuda_is_close_to_float64_on_cpu():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (3, 3, 3)
    atoms.rattle(0.05, seed=2)
    reference, fast = atoms.copy(), atoms.copy()
    reference.calc = MLCalculator("mlearn-Cu", dtype="float64", device="cpu")
    fast.calc = MLCalculator("mlearn-Cu", dtype="float32", device="cuda")
    assert fast.get_potential_energy() == pytest.approx(reference.get_potential_energy(), abs=1e-4 * len(atoms))
    np.testing.assert_allclose(fast.get_forces(), reference.get_forces(), atol=2e-4)
    np.testing.assert_allclose(fast.get_stress(), reference.get_stress(), atol=1e-6)


def test_nve_md_on_cuda_follows_the_cpu_trajectory_and_conserves_energy():
    start = bulk("Cu", "fcc", a=3.6, cubic=True) * (3, 3, 3)
    start.set_velocities(np.random.default_rng(0).normal(0.0, 0.028, (len(start), 3)))  # ≈ 600 K for Cu
    trajectories, energies = [], []
    for device in ("cpu", "cuda"):
        atoms = start.copy()
        atoms.calc = MLCalculator("mlearn-Cu", dtype="float64", device=device)
        dyn = VelocityVerlet(atoms, timestep=2 * fs)
        total = []
        dyn.attach(lambda a=atoms, t=total: t.append(a.get_total_energy()), interval=5)
        dyn.run(100)
        trajectories.append(atoms.positions.copy())
        energies.append(np.array(total))
    np.testing.assert_allclose(trajectories[1], trajectories[0], atol=1e-6)
    gpu = energies[1]
    assert np.ptp(gpu) / len(start) < 1e-3  # eV/atom over 200 fs of NVE
    assert np.abs(start.get_velocities()).max() > 0 and np.abs(trajectories[1] - start.positions).max() > 0.05


def test_skin_list_on_cuda_equals_a_fresh_search_every_step():
    """The Verlet list's filtering and overlap check on the device; a small skin, so it is rebuilt on the way."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (3, 3, 3)
    atoms.set_velocities(np.random.default_rng(1).normal(0.0, 0.05, (len(atoms), 3)))  # ≈ 2000 K for Cu
    skinned = MLCalculator("mlearn-Cu", dtype="float64", device="cuda", skin=0.2)
    fresh = MLCalculator("mlearn-Cu", dtype="float64", device="cuda", skin=0.0)
    atoms.calc = skinned
    dyn = VelocityVerlet(atoms, timestep=2 * fs)

    def compare(a=atoms):
        reference = a.copy()
        reference.calc = fresh
        np.testing.assert_allclose(a.get_forces(), reference.get_forces(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(a.get_stress(), reference.get_stress(), rtol=0, atol=1e-11)
        assert a.get_potential_energy() == pytest.approx(reference.get_potential_energy(), abs=1e-9)

    dyn.attach(compare, interval=1)
    dyn.run(60)
    assert 1 < skinned.neighbors.builds < 60
    assert skinned.neighbors.graph(atoms)["edge_index"].device.type == "cuda"


def test_training_on_cuda_fits_and_gives_a_cpu_model(tmp_path):
    from ase_mlmat.data import load_labelled
    from ase_mlmat.train import TrainConfig, evaluate, fit

    frames = sorted(read(MLEARN / "Si_train.extxyz", ":"), key=len)[:24]
    path = tmp_path / "si.extxyz"
    write(path, frames)
    structures, labels = load_labelled(path)
    config = TrainConfig.from_dict(
        dict(
            data=[str(path)],
            model={"cutoff": 3.5, "num_features": 16, "num_interactions": 2, "num_basis": 8},
            epochs=40,
            batch_size=4,
            learning_rate=5e-3,
            scheduler="cosine",
            val_fraction=0.2,
            progress=False,
            device="cuda",
            plots=False,
        )
    )
    result = fit(config, structures, labels)
    zero_force_mae = np.mean(np.abs(np.concatenate([lab.forces.ravel() for lab in labels])))
    assert result.train_metrics["forces_mae_eV_per_A"] < 0.7 * zero_force_mae
    assert result.history.train_loss[-1] < result.history.train_loss[0]
    assert module_device(result.model).type == "cpu"
    on_cpu = evaluate(result.model, path)  # the same numbers from the CPU
    assert on_cpu["forces_mae_eV_per_A"] == pytest.approx(result.train_metrics["forces_mae_eV_per_A"], rel=1e-3)


def test_cgcnn_trains_on_cuda_and_predicts_the_same_on_both_devices(tmp_path):
    from ase_mlmat.data.elastic import load_moduli_dataset
    from ase_mlmat.properties.ml_moduli import MLModuli, predict_moduli
    from ase_mlmat.train import TrainConfig
    from ase_mlmat.train.property import train_property

    data = DATA / "elastic" / "mp-binary-pbe-elasticity-2025.1.json.gz"
    dataset = load_moduli_dataset(data, limit=300)
    config = TrainConfig.from_dict(
        dict(
            data=str(data),
            targets=["log10_K_VRH_GPa", "log10_G_VRH_GPa"],
            limit=300,
            model={"cutoff": 6.0, "num_features": 24, "num_interactions": 2, "num_hidden": 32},
            max_neighbors=8,
            epochs=30,
            batch_size=32,
            learning_rate=5e-3,
            val_fraction=0.2,
            ensemble_size=2,
            early_stopping_patience=30,
            progress=False,
            plots=False,
            output=str(tmp_path / "kg.pt"),
            device="cuda",
        )
    )
    result = train_property(config, dataset)
    y = dataset.targets
    baseline = np.abs(y - y.mean(axis=0)).mean(axis=0)
    val = result.val_metrics
    assert all(val[f"mae_{name}"] < 0.8 * b for name, b in zip(dataset.target_names, baseline)), val
    assert module_device(result.model).type == "cpu"
    structures = dataset.structures[:20]
    on_gpu = MLModuli(result.model, device="cuda")
    assert module_device(on_gpu.model).type == "cuda" and module_device(result.model).type == "cpu"
    cpu_rows = predict_moduli(result.model, structures)
    gpu_rows = predict_moduli(on_gpu.model, structures)
    for c, g in zip(cpu_rows, gpu_rows):
        assert g.log10_bulk_modulus == pytest.approx(c.log10_bulk_modulus, abs=1e-4)
        assert g.log10_shear_modulus_std == pytest.approx(c.log10_shear_modulus_std, abs=1e-4)
    assert on_gpu(structures[0])[0] == pytest.approx(cpu_rows[0].bulk_modulus_GPa, rel=1e-3)


def test_committee_md_for_active_learning_runs_on_cuda():
    from ase_mlmat.active.explore import explore

    base = load_model("mlearn-Cu")
    other = copy.deepcopy(base)
    with torch.no_grad():
        for p in other.net.parameters():
            p.mul_(1.0 + 0.02 * torch.randn_like(p))
    committee = MLCalculator([base, other], device="cuda")
    start = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 2, 2)
    kwargs = dict(
        temperature_K=600,
        steps=40,
        timestep_fs=2.0,
        friction_per_fs=0.01,
        check_interval=5,
        threshold=0.0,
        abort_threshold=50.0,
        max_candidates=3,
        candidate_spacing=10,
    )
    result = explore(start, committee, rng=np.random.default_rng(0), **kwargs)
    assert len(result.candidates) == 3
    assert all(np.isfinite(s) and s > 0 for s in result.force_std)
    calm = explore(start, committee, rng=np.random.default_rng(0), **{**kwargs, "threshold": 10.0})
    assert calm.calm and not calm.candidates


def test_batched_exploration_on_cuda_equals_cpu():
    """exploration.engine torchsim: an NVE batch on CUDA keeps the CPU batch's checks and spreads (float64)."""
    pytest.importorskip("torch_sim", reason="torch-sim is not installed")
    from ase_mlmat.active.explore import Segment
    from ase_mlmat.active.explore_torchsim import Task, explore_batch
    from ase_mlmat.torchsim import TorchSimModel

    base = load_model("mlearn-Cu")
    other = copy.deepcopy(base)
    with torch.no_grad():
        for p in other.net.parameters():
            p.mul_(1.0 + 0.02 * torch.randn_like(p))
    cubic = bulk("Cu", "fcc", a=3.6, cubic=True)
    starts = [cubic * (2, 2, 2), cubic * (2, 1, 1), bulk("Cu", "fcc", a=3.65) * (2, 2, 2)]
    segment = Segment(
        temperature_K=600, steps=40, friction_per_fs=0.0, check_interval=5, threshold=0.0, abort_threshold=50.0
    )
    runs = {}
    for device in ("cpu", "cuda"):
        model = TorchSimModel([base, other], device=device, dtype=torch.float64)
        tasks = [Task(atoms, segment, np.random.default_rng(k)) for k, atoms in enumerate(starts)]
        runs[device] = explore_batch(tasks, model, seed=0)
    for cpu, gpu in zip(runs["cpu"], runs["cuda"], strict=True):
        assert (gpu.steps, gpu.stop_reason, len(gpu.candidates)) == (cpu.steps, cpu.stop_reason, len(cpu.candidates))
        np.testing.assert_allclose(gpu.force_std, cpu.force_std, rtol=1e-6)
