"""End-to-end active learning with EMT as the reference on 16 Cu atoms (tiny committee, short MD)."""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import pytest
import yaml
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary

from ase_mlmat.active import ActiveConfig, ActiveLearningError, ActiveStore, run_active_learning, structure_uid
from ase_mlmat.active.cli import add_parser
from ase_mlmat.active.config import SECTIONS, ExplorationConfig
from ase_mlmat.active.store import FAILED, LABELLED, PENDING

TINY = {"cutoff": 4.0, "num_features": 16, "num_interactions": 2, "num_basis": 8}


def _start():
    return bulk("Cu", cubic=True) * (2, 2, 1)


def _options(tmp_path, **overrides) -> dict:
    """A tiny run's config; a section given in ``overrides`` updates that section, other keys replace."""
    options = {
        "db": str(tmp_path / "al.db"),
        "seed": 1,
        "committee": {"size": 2, "model": TINY, "train_steps": 150, "finetune_steps": 40},
        "exploration": {
            "num_seed": 4,
            "temperatures_K": [300.0, 600.0],
            "timestep_fs": 4.0,
            "check_interval": 5,
            "equilibration_steps": 20,
            "candidate_spacing": 10,
        },
        "selection": {"labels_per_iteration": 3, "max_candidates": 10},
        "stopping": {"calm_steps": 60, "max_labels": 16},
    }
    for key, value in overrides.items():
        options[key] = {**options[key], **value} if key in SECTIONS else value
    return options


def _low(**stopping) -> dict:
    """Overrides that make every checked MD frame a candidate and never abort."""
    return {"selection": {"threshold": 1e-4}, "stopping": {"abort_threshold": 10.0, **stopping}}


def _held_out(path, temperature_K=600.0, frames=12):
    """Independent EMT Langevin MD frames, written as labelled extxyz."""
    atoms = _start()
    atoms.calc = EMT()
    rng = np.random.default_rng(123)
    sigma = np.sqrt(units.kB * temperature_K * atoms.get_masses())[:, None]  # Maxwell-Boltzmann momenta
    atoms.set_momenta(rng.normal(0, 1, (len(atoms), 3)) * sigma)
    Stationary(atoms)
    dyn = Langevin(atoms, 4 * units.fs, temperature_K=temperature_K, friction=0.02, fixcm=False, rng=rng)
    out = []
    for _ in range(frames):
        dyn.run(10)
        frame = atoms.copy()
        frame.calc = EMT()
        frame.get_forces()
        frame.get_stress()
        out.append(frame)
    write(path, out)
    return path


def _check_consistent(store: ActiveStore) -> None:
    uids = [row.uid for row in store.db.select("al_status")]
    assert len(uids) == len(set(uids)), "a structure is stored twice"
    assert store.count(PENDING) == 0
    state = store.state()
    assert state.trained_iteration == state.iteration


def test_high_threshold_labels_only_the_seed_via_cli(tmp_path, capsys):
    structure = tmp_path / "start.extxyz"
    write(structure, _start())
    config_file = tmp_path / "learn.yaml"
    config_file.write_text(yaml.safe_dump(_options(tmp_path, structure=str(structure), selection={"threshold": 1e3})))
    parser = argparse.ArgumentParser(prog="mlmat")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["learn", str(config_file), "--db", str(tmp_path / "cli.db")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "converged" in out and "[learn] iteration 0: 600 K, 80 MD steps" in out  # 20 equilibrating, 60 calm
    store = ActiveStore(str(tmp_path / "cli.db"))
    assert store.count(LABELLED) == 4 and store.reference_calls() == 4  # the seed, nothing more
    state = store.state()
    assert state.temperature_index == 2 and state.md_steps == 2 * (20 + 60) and state.iteration == 0
    assert (tmp_path / "cli_progress.png").stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "cli_committee").iterdir()) == [f"iter-0-member-{m}.pt" for m in range(2)]
    _check_consistent(store)


def test_low_threshold_adds_labels_and_errors_go_down(tmp_path):
    test_data = _held_out(tmp_path / "held_out.extxyz")
    config = ActiveConfig.from_dict(_options(tmp_path, **_low(), test_data=str(test_data)))
    result = run_active_learning(config, structure=_start(), log=None)
    assert result.reason.startswith("label budget spent")
    store = ActiveStore(config.db)
    rows = list(store.db.select(al_status=LABELLED))
    origins = Counter(row.origin for row in rows)
    assert origins == {"seed": 4, "md": 12}
    assert all(row.force_std > config.selection.threshold and row.iteration >= 1 for row in rows if row.origin == "md")
    history = result.history
    assert [history[k]["labels"] for k in sorted(history)] == [4, 7, 10, 13, 16]
    first, last = history[0]["test_forces_mae_eV_per_A"], history[max(history)]["test_forces_mae_eV_per_A"]
    assert last < 0.85 * first, f"test force MAE went from {first:.3f} to {last:.3f} eV/Å"
    calc = result.calculator(device="cpu")
    assert len(calc.models) == 2
    _check_consistent(store)


class FlakyEMT(EMT):
    """Raises on some structures and returns NaN forces on others, decided by the structure itself."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=()):
        key = int(structure_uid(atoms), 16) % 6
        if key == 0:
            raise RuntimeError("SCF did not converge")
        super().calculate(atoms, properties, system_changes)
        if key == 1:
            self.results["forces"] = self.results["forces"] * np.nan


class BrokenEMT(EMT):
    def calculate(self, *args, **kwargs):
        raise RuntimeError("license server unreachable")


def test_bad_reference_is_recorded_and_the_loop_stays_consistent(tmp_path):
    config = ActiveConfig.from_dict(_options(tmp_path, **_low(max_labels=14)))
    result = run_active_learning(config, structure=_start(), reference=FlakyEMT, log=None)
    store = ActiveStore(config.db)
    failures = store.failures()
    assert failures and {f["error"] for f in failures} <= {
        "RuntimeError: SCF did not converge",
        "NonFiniteLabel: reference returned non-finite forces",
    }
    assert result.failed == len(failures) and result.labels == store.count(LABELLED)
    assert store.db.count(al_status=LABELLED, origin="md") > 0  # the loop went on past the failures
    assert store.reference_calls() == result.reference_calls == 14 == result.labels + result.failed
    for label in store.labelled()[1]:
        assert np.isfinite(label.forces).all()
    _check_consistent(store)


def test_reference_failing_everywhere_stops_with_a_clear_error(tmp_path):
    config = ActiveConfig.from_dict(_options(tmp_path))
    for _ in range(2):  # restarting does not call the reference again on the failed structures
        with pytest.raises(ActiveLearningError, match=r"reference failed on all 4 structures.*license server"):
            run_active_learning(config, structure=_start(), reference=BrokenEMT, log=None)
        store = ActiveStore(config.db)
        assert (store.count(FAILED), store.count(PENDING), store.count(LABELLED)) == (4, 0, 0)


class EMTWithFixedSpread(EMT):
    """EMT reporting a committee force spread (eV/Å), the same on every atom, so that explore() can run it;
    after ``calm_after`` calculations, a tenth of it."""

    def __init__(self, spread: float, calm_after: int | None = None):
        super().__init__()
        self.spread, self.calm_after, self.calls = spread, calm_after, 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=()):
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        spread = self.spread if self.calm_after is None or self.calls <= self.calm_after else self.spread / 10
        self.results["forces_std"] = np.full_like(self.results["forces"], spread / np.sqrt(3))
        self.results["energy_std"] = 0.0


def test_explore_continues_a_trajectory_from_its_final_frame():
    from ase_mlmat.active import explore

    start = _start()
    kwargs = dict(
        temperature_K=600.0,
        steps=20,
        timestep_fs=4.0,
        friction_per_fs=0.01,
        check_interval=5,
        threshold=1e9,
        abort_threshold=2e9,
        max_candidates=5,
    )
    first = explore(start, EMTWithFixedSpread(0.0), rng=np.random.default_rng(0), **kwargs)
    assert first.calm and first.final is not None and np.abs(first.final.get_momenta()).sum() > 0
    assert np.abs(first.final.positions - start.positions).max() > 0.01
    positions, momenta = first.final.positions.copy(), first.final.get_momenta().copy()
    second = explore(first.final, EMTWithFixedSpread(0.0), rng=np.random.default_rng(1), thermalize=False, **kwargs)
    third = explore(first.final, EMTWithFixedSpread(0.0), rng=np.random.default_rng(1), thermalize=False, **kwargs)
    np.testing.assert_allclose(second.final.positions, third.final.positions)
    np.testing.assert_array_equal(first.final.positions, positions)  # the start frame is not modified
    np.testing.assert_array_equal(first.final.get_momenta(), momenta)


def test_explore_takes_no_candidates_while_equilibrating_and_spaces_them():
    from ase_mlmat.active import explore

    kwargs = dict(
        temperature_K=600.0,
        steps=40,
        timestep_fs=4.0,
        friction_per_fs=0.01,
        check_interval=5,
        threshold=0.5,
        abort_threshold=5.0,
        max_candidates=10,
        rng=np.random.default_rng(0),
    )
    # every check is above the threshold: 20 burn-in steps give none, then one candidate per 10 steps
    run = explore(_start(), EMTWithFixedSpread(1.0), equilibration_steps=20, candidate_spacing=10, **kwargs)
    assert run.steps == 60 and len(run.candidates) == 4 and run.stop_reason == ""
    assert run.mean_force_std == pytest.approx(1.0)
    # a continued trajectory is already equilibrated: no burn-in
    run = explore(
        run.final, EMTWithFixedSpread(1.0), thermalize=False, equilibration_steps=20, candidate_spacing=10, **kwargs
    )
    assert run.steps == 40 and len(run.candidates) == 4
    # uncertain only during the burn-in: calm, the burn-in's frames are not candidates
    run = explore(_start(), EMTWithFixedSpread(1.0, calm_after=15), equilibration_steps=20, **kwargs)
    assert run.calm and run.steps == 60 and run.max_force_std > 0.5
    assert run.mean_force_std == pytest.approx(0.1)  # the mean leaves the burn-in out
    run = explore(_start(), EMTWithFixedSpread(1.0, calm_after=15), **kwargs)  # without one they are
    assert not run.calm and len(run.candidates) >= 2
    # past the abort threshold the burn-in ends at once, and that frame is labelled
    run = explore(_start(), EMTWithFixedSpread(10.0), equilibration_steps=20, **kwargs)
    assert run.stop_reason == "abort" and run.steps == 5 and len(run.candidates) == 1
    with pytest.raises(ValueError, match="equilibration_steps"):
        ActiveConfig(exploration=ExplorationConfig(equilibration_steps=-1)).validate()


def test_continue_md_keeps_each_temperatures_last_frame_in_the_db(tmp_path):
    config = ActiveConfig.from_dict(
        _options(
            tmp_path,
            selection={"threshold": 1e-4, "rule": "weighted"},
            stopping={"abort_threshold": 10.0, "max_labels": 10},
            exploration={"continue_md": True, "schedule": "all"},
        )
    )
    result = run_active_learning(config, structure=_start(), log=None)
    assert result.reason.startswith("label budget spent") and result.labels == 10
    state = ActiveStore(config.db).state()
    assert sorted(state.md_frames) == [0, 1]
    for atoms in state.md_frames.values():
        assert len(atoms) == len(_start()) and np.abs(atoms.get_momenta()).sum() > 0
        assert np.abs(atoms.positions - _start().positions).max() > 0.01
    _check_consistent(ActiveStore(config.db))
    with pytest.raises(ValueError, match="selection"):
        ActiveConfig.from_dict(_options(tmp_path, selection={"rule": "random"}))


def test_several_start_structures_each_get_a_trajectory_and_seeds(tmp_path):
    from ase.build import fcc100

    slab = fcc100("Cu", size=(2, 2, 3), vacuum=4.0)
    slab.pbc = True
    starts = [_start(), slab]
    config = ActiveConfig.from_dict(
        _options(
            tmp_path,
            selection={"threshold": 1e-4, "rule": "d-optimal"},
            stopping={"abort_threshold": 10.0, "max_labels": 10},
            exploration={"continue_md": True, "schedule": "all"},
        )
    )
    result = run_active_learning(config, structure=starts, log=None)
    assert result.labels == 10
    store = ActiveStore(config.db)
    assert [structure_uid(a) for a in store.start_structures()] == [structure_uid(a) for a in starts]
    sizes = Counter(len(row.toatoms()) for row in store.db.select(al_status=LABELLED, origin="seed"))
    assert sizes == {16: 2, 12: 2}  # the seed copies alternate between the starts
    assert sorted(store.state().md_frames) == [0, 1, 2, 3]  # (start, temperature) tracks
    for track, atoms in store.state().md_frames.items():
        assert len(atoms) == len(starts[track // 2])
    md_rows = list(store.db.select(al_status=LABELLED, origin="md"))
    assert all(len(row.toatoms()) == len(starts[row.start_index]) for row in md_rows)
    _check_consistent(store)
    # resuming with the starts in another order keeps the stored ones
    again = run_active_learning(config, structure=starts[::-1], log=None)
    assert again.labels == 10 and store.start_structures()[0].get_chemical_formula() == "Cu16"


def test_stratified_selection_shares_labels_over_segments(tmp_path):
    from ase.build import fcc100

    slab = fcc100("Cu", size=(2, 2, 3), vacuum=4.0)
    slab.pbc = True
    config = ActiveConfig.from_dict(
        _options(
            tmp_path,
            selection={"threshold": 1e-4, "rule": "stratified", "labels_per_iteration": 4},
            stopping={"abort_threshold": 10.0, "max_labels": 12},
            exploration={"continue_md": True, "schedule": "all"},
        )
    )
    result = run_active_learning(config, structure=[_start(), slab], log=None)
    assert result.labels == 12
    store = ActiveStore(config.db)
    counts = store.segment_counts()
    assert sum(counts.values()) == 8  # 4 seeds, then 2 iterations of 4
    assert set(counts) <= {(s, t) for s in (0, 1) for t in (300.0, 600.0)}
    assert len(counts) >= 3 and max(counts.values()) <= 3  # not all to the most uncertain segment
    scores = [record["segment_scores"] for record in result.history.values() if "segment_scores" in record]
    assert len(scores) == 2 and all(len(s) == 4 and min(s.values()) > 0 for s in scores)
    _check_consistent(store)


def test_config_names_several_start_files(tmp_path):
    write(tmp_path / "bulk.extxyz", _start())
    write(tmp_path / "two.extxyz", [bulk("Cu"), bulk("Cu", cubic=True)])
    config = ActiveConfig.from_dict(
        _options(
            tmp_path,
            structure=[str(tmp_path / "bulk.extxyz"), f"{tmp_path / 'two.extxyz'}@1"],
            exploration={"num_seed": 2},
            stopping={"max_labels": 2},
            selection={"threshold": 1e3},
        )
    )
    result = run_active_learning(config, log=None)
    assert result.reason.startswith("label budget spent") and result.labels == 2
    assert [len(a) for a in ActiveStore(config.db).start_structures()] == [16, 4]
