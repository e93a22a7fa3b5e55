"""Resume after SIGKILL: mid-labelling and mid-training kills lose no label and compute none twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_mlmat.active import ActiveConfig, ActiveStore, run_active_learning, structure_uid
from ase_mlmat.active.store import FAILED, LABELLED, PENDING

TINY = {"cutoff": 4.0, "num_features": 16, "num_interactions": 2, "num_basis": 8}

# The run in a child process: EMT that logs the uid of every finished calculation, then sleeps.
SCRIPT = """
import json, sys, time
from ase.build import bulk
from ase.calculators.emt import EMT
from ase_mlmat.active import ActiveConfig, run_active_learning, structure_uid

options, calls, pause = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3])

class LoggingEMT(EMT):
    def get_stress(self, atoms=None, **kwargs):
        stress = super().get_stress(atoms, **kwargs)
        with open(calls, "a") as handle:
            handle.write(structure_uid(atoms) + "\\n")
        time.sleep(pause)
        return stress

run_active_learning(ActiveConfig.from_dict(options), structure=bulk("Cu", cubic=True) * (2, 2, 1),
                    reference=LoggingEMT)
"""


def _options(db: Path) -> dict:
    return {
        "db": str(db),
        "seed": 3,
        "committee": {"size": 2, "model": TINY, "train_steps": 150, "finetune_steps": 40},
        "exploration": {
            "num_seed": 4,
            "temperatures_K": [300.0],
            "timestep_fs": 4.0,
            "check_interval": 5,
            "equilibration_steps": 10,
            "candidate_spacing": 5,
        },
        "selection": {"threshold": 1e-4, "labels_per_iteration": 3, "max_candidates": 6},
        "stopping": {"calm_steps": 60, "abort_threshold": 10.0, "max_labels": 13},
    }


def _start_child(options: dict, calls: Path, pause: float) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(options), str(calls), str(pause)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_when(child: subprocess.Popen, ready, timeout: float = 90.0) -> None:
    """SIGKILL ``child`` as soon as ``ready()``; fail if it ended first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if child.poll() is not None:
            pytest.fail(f"child ended before the kill point: {child.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail("kill point not reached in time")
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stderr.close()


class LoggingEMT(EMT):
    calls: Path | None = None

    def get_stress(self, atoms=None, **kwargs):
        stress = super().get_stress(atoms, **kwargs)
        with open(self.calls, "a") as handle:
            handle.write(structure_uid(atoms) + "\n")
        return stress


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    options = _options(tmp_path / "al.db")
    calls = tmp_path / "calls.txt"
    committee = tmp_path / "al_committee"

    # 1. Kill mid-labelling: the 4 seeds and 2 candidates of iteration 1 are done, the 2nd is still in flight.
    _kill_when(_start_child(options, calls, pause=0.5), lambda: len(_lines(calls)) >= 6)
    store = ActiveStore(options["db"])
    assert store.count(LABELLED) == 5 and store.count(PENDING) >= 1  # the in-flight label is not written

    # 2. Kill mid-training: member 0 of committee 2 is saved, member 1 is training.
    _kill_when(_start_child(options, calls, pause=0.0), (committee / "iter-2-member-0.pt").exists)
    assert not (committee / "iter-2-member-1.pt").exists()
    assert store.state().trained_iteration == 1 and store.count(PENDING) == 0

    # 3. Restart in this process and finish.
    LoggingEMT.calls = calls
    result = run_active_learning(ActiveConfig.from_dict(options), structure=bulk("Cu"), reference=LoggingEMT, log=None)
    assert result.reason.startswith("label budget spent") and result.labels == 13

    rows = list(store.db.select("al_status"))
    uids = [row.uid for row in rows]
    assert len(uids) == len(set(uids)), "a structure is stored twice"
    assert store.count(PENDING) == 0 and store.count(FAILED) == 0
    computed = Counter(_lines(calls))
    assert set(computed) == set(uids), "a computed label was lost, or a row was never computed"
    twice = [uid for uid, n in computed.items() if n > 1]
    assert len(twice) <= 1, "only the label in flight at the mid-labelling kill may be computed again"

    # An uninterrupted run spends the same label budget (exact trajectories depend on thread count).
    LoggingEMT.calls = tmp_path / "calls_clean.txt"
    clean = run_active_learning(
        ActiveConfig.from_dict(_options(tmp_path / "clean.db")),
        structure=bulk("Cu", cubic=True) * (2, 2, 1),
        reference=LoggingEMT,
        log=None,
    )
    assert len(ActiveStore(str(tmp_path / "clean.db")).labelled()[2]) == len(uids) == clean.labels
