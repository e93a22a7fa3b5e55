"""Exploration batched through torch-sim (``exploration.engine: torchsim``) against the ASE path."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from ase.build import bulk

pytest.importorskip("torch_sim", reason="torch-sim is not installed (pip install 'ase-mlmat[torchsim]')")

from ase_mlmat import MLCalculator
from ase_mlmat.active import ActiveConfig, run_active_learning
from ase_mlmat.active.explore import Segment, Watch, explore
from ase_mlmat.active.explore_torchsim import Task, explore_batch
from ase_mlmat.model_store import load_model
from ase_mlmat.torchsim import TorchSimModel


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def committee():
    """mlearn-Cu and a perturbed copy: a committee whose spread is small but not zero."""
    model = load_model("mlearn-Cu", kind="potential")
    other = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.add_(2e-3 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    return [model, other]


def starts():
    """Three small Cu cells of different shapes and sizes, rattled."""
    cubic = bulk("Cu", "fcc", a=3.61, cubic=True)
    systems = [cubic * (2, 1, 1), bulk("Cu", "fcc", a=3.65) * (2, 2, 2), cubic * (1, 2, 2)]
    for k, atoms in enumerate(systems):
        atoms.rattle(0.05, seed=k)
    return systems


def nve_segments() -> list[Segment]:
    """NVE (no friction) segments watching every check; the second's burn-in is off the check grid."""
    common = dict(steps=30, friction_per_fs=0.0, check_interval=5, threshold=1e-4, abort_threshold=50.0)
    return [
        Segment(temperature_K=300.0, equilibration_steps=10, max_candidates=100, **common),
        Segment(temperature_K=900.0, equilibration_steps=7, max_candidates=100, candidate_spacing=8, **common),
        Segment(temperature_K=600.0, equilibration_steps=0, max_candidates=3, **common),
    ]


def _assert_same_frames(a, b) -> None:
    """Equal positions up to whole lattice vectors (each side wraps on its own) and equal cells."""
    assert np.allclose(a.cell.array, b.cell.array, atol=1e-12)
    frac = np.linalg.solve(a.cell.array.T, (a.positions - b.positions).T).T
    assert np.abs((frac - np.round(frac)) @ a.cell.array).max() < 1e-8


def test_nve_batch_equals_ase_explore(committee):
    """Same momenta, NVE: the batch keeps the ASE path's frames, spreads, steps and stop reasons (float64)."""
    segments, systems = nve_segments(), starts()
    model = TorchSimModel(committee, device="cpu", dtype=torch.float64, skin=0.5)
    pairs = list(enumerate(zip(systems, segments)))
    tasks = [Task(atoms, segment, np.random.default_rng(k)) for k, (atoms, segment) in pairs]
    batch = explore_batch(tasks, model, seed=3)
    calculator = MLCalculator(committee, device="cpu", dtype="float64")
    for k, (atoms, segment) in pairs:
        ase = explore(atoms, calculator, segment, rng=np.random.default_rng(k))
        ours = batch[k]
        assert (ours.steps, ours.stop_reason, len(ours.candidates)) == (ase.steps, ase.stop_reason, len(ase.candidates))
        assert len(ours.candidates) > 1
        np.testing.assert_allclose(ours.force_std, ase.force_std, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(ours.energy_std, ase.energy_std, rtol=1e-7, atol=1e-12)
        assert ours.max_force_std == pytest.approx(ase.max_force_std, rel=1e-7)
        assert ours.mean_force_std == pytest.approx(ase.mean_force_std, rel=1e-7)
        for mine, theirs in zip(ours.candidates, ase.candidates):
            _assert_same_frames(mine, theirs)
        if ase.final is not None:
            _assert_same_frames(ours.final, ase.final)
            np.testing.assert_allclose(ours.final.get_momenta(), ase.final.get_momenta(), atol=1e-8)
    assert batch[2].stop_reason == "max_candidates" and batch[0].stop_reason == ""


def test_an_unphysical_or_broken_system_stops_only_itself(committee):
    """A too-hot system and an overlapping one end alone; the others run as they would without them."""
    segments, systems = nve_segments(), starts()
    hot = replace(segments[1], max_temperature_K=50.0)  # 900 K start: unphysical at once
    broken = systems[0].copy()
    broken.positions[1] = broken.positions[0] + [0.03, 0.0, 0.0]  # refused by the model (overlap)
    model = TorchSimModel(committee, device="cpu", dtype=torch.float64)
    tasks = [
        Task(systems[0], segments[0], np.random.default_rng(0)),
        Task(systems[1], hot, np.random.default_rng(1)),
        Task(broken, segments[0], np.random.default_rng(5)),
        Task(systems[2], segments[2], np.random.default_rng(2)),
    ]
    mixed = explore_batch(tasks, model)
    alone = explore_batch([Task(systems[k], segments[k], np.random.default_rng(k)) for k in (0, 2)], model)
    assert mixed[1].stop_reason.startswith("unphysical: temperature") and mixed[1].steps == hot.check_interval
    assert mixed[1].final is None
    assert mixed[2].stop_reason.startswith("md_error: StructureError") and mixed[2].steps == 0
    for ours, reference in zip([mixed[0], mixed[3]], alone):
        assert (ours.steps, ours.stop_reason) == (reference.steps, reference.stop_reason)
        np.testing.assert_allclose(ours.force_std, reference.force_std, rtol=1e-9)


def test_langevin_keeps_spread_frames_at_the_temperature(committee, monkeypatch):
    """Langevin in the batch: candidates above the threshold only; each system near its own temperature."""
    temperatures = []
    check = Watch.check

    def recording(self, atoms, *args):
        if self.result.steps >= self.burn_in:
            temperatures.append((self.segment.temperature_K, atoms.get_temperature()))
        return check(self, atoms, *args)

    monkeypatch.setattr(Watch, "check", recording)
    cubic = bulk("Cu", "fcc", a=3.61, cubic=True)
    common = dict(steps=90, friction_per_fs=0.05, check_interval=5, equilibration_steps=30, abort_threshold=50.0)
    tasks = []
    for k, temperature in enumerate([300.0, 300.0, 800.0, 800.0]):
        atoms = cubic * (2, 1, 1)
        atoms.rattle(0.02, seed=k)
        segment = Segment(temperature_K=temperature, threshold=2e-3, max_candidates=1000, **common)
        tasks.append(Task(atoms, segment, np.random.default_rng(k)))
    runs = explore_batch(tasks, TorchSimModel(committee, device="cpu", dtype=torch.float64), seed=1)
    for run in runs:
        assert run.steps == 120 and run.candidates
        assert min(run.force_std) > 2e-3
    for target in (300.0, 800.0):
        measured = np.mean([t for goal, t in temperatures if goal == target])
        assert measured == pytest.approx(target, rel=0.2)


def test_learn_iteration_with_the_torchsim_engine(tmp_path):
    """One loop iteration on EMT copper: seed labels, a committee, batched exploration, new candidates."""
    config = ActiveConfig.from_dict(
        {
            "db": str(tmp_path / "al.db"),
            "seed": 1,
            "committee": {
                "size": 2,
                "model": {"cutoff": 4.0, "num_features": 16, "num_interactions": 2, "num_basis": 8},
                "train_steps": 100,
                "finetune_steps": 20,
            },
            "exploration": {
                "engine": "torchsim",
                "num_seed": 4,
                "temperatures_K": [300.0, 900.0],
                "schedule": "all",
                "timestep_fs": 4.0,
                "check_interval": 5,
                "equilibration_steps": 10,
                "candidate_spacing": 5,
            },
            "selection": {"threshold": 1e-3, "labels_per_iteration": 3},
            "stopping": {"calm_steps": 30, "max_labels": 16, "max_iterations": 1, "abort_threshold": 10.0},
        }
    )
    cubic = bulk("Cu", "fcc", a=3.61, cubic=True)
    result = run_active_learning(config, structure=[cubic * (2, 1, 1), cubic * (1, 2, 2)], log=None)
    assert result.iteration == 1 and result.reason.startswith("max_iterations")
    assert result.labels == 4 + 3 and result.md_steps == 4 * 40


def test_a_slab_is_refused_before_any_work(tmp_path):
    from ase.build import fcc111

    from ase_mlmat.active import ActiveLearningError

    config = ActiveConfig.from_dict({"db": str(tmp_path / "al.db"), "exploration": {"engine": "torchsim"}})
    with pytest.raises(ActiveLearningError, match="periodic in all directions or in none"):
        run_active_learning(config, structure=fcc111("Cu", (2, 2, 3), vacuum=5.0), log=None)
    with pytest.raises(ValueError, match="periodic along some directions only"):
        explore_batch([Task(fcc111("Cu", (2, 2, 3), vacuum=5.0), nve_segments()[0], np.random.default_rng(0))], None)


def test_torchsim_engine_needs_torch_sim(monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch_sim" else find_spec(name))
    with pytest.raises(ValueError, match="needs torch-sim"):
        ActiveConfig.from_dict({"exploration": {"engine": "torchsim"}})
    with pytest.raises(ValueError, match="'ase' or 'torchsim'"):
        ActiveConfig.from_dict({"exploration": {"engine": "lammps"}})
