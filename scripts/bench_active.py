"""Active learning vs uniform MD sampling: test force error against reference calls (EMT copper).

System: four start structures a general Cu potential must cover -- perfect bulk Cu32 (2x2x2
conventional fcc), Cu31 (the same with a vacancy), a Cu24 (111) slab and a Cu38 truncated-octahedron
cluster -- at 300, 600, 900 and 1200 K. Reference: ASE's EMT.

* Test set: frames of independent EMT Langevin MD of every (start, temperature) segment, from a random
  stream used nowhere else; never trained on.
* Active learning: ``mlmat learn``'s loop with EMT as the reference -- a 3-member committee, MD from
  every start at every temperature each iteration, stratified selection, 4 labels per iteration. Its
  labelled structures, in label order, give the training set after n reference calls.
* Uniform: n frames drawn at random from a pool of EMT MD frames of the same segments.

Every point of both curves is a fresh PaiNN (F=16, 2 interactions, 5.5 Å cutoff, 16 Bessel functions)
trained max(32000 steps, 1000 epochs) (batch 4, lr 5e-3 cosine, energy, force and stress weights 1),
with replicate r's seed. The ratio is (AL calls) / (uniform calls at the same mean test force MAE), the
uniform curve interpolated log-log; the second ratio also counts the reference MD a DFT user would run
to get uniform frames (200 equilibration steps per segment plus 25 steps per frame).

Usage::

    python scripts/bench_active.py --quick            # a smoke test, a few CPU-minutes; too short to rank
    python scripts/bench_active.py --jobs 16          # the full bench: about 15 CPU-hours

Progress goes to stderr; stdout gets one JSON line. Results and their history: docs/active/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from ase import Atoms, units
from ase.build import bulk, fcc111
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.cluster import Octahedron
from ase.constraints import FixCom
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary

from ase_mlmat.active import ActiveConfig, ActiveStore, committee_errors, run_active_learning
from ase_mlmat.data import get_labels
from ase_mlmat.train import TrainConfig, fit

EQUILIBRATE, POOL_EVERY, TEST_EVERY = 200, 25, 20  # EMT MD steps
SETTINGS = {
    "full": {
        "model": {"cutoff": 5.5, "num_features": 16, "num_interactions": 2, "num_basis": 16},
        "temperatures_K": [300.0, 600.0, 900.0, 1200.0],
        "test_per_segment": 10,
        "pool_per_segment": 40,
        "committee": {"size": 3, "train_steps": 2000, "finetune_steps": 600},
        "exploration": {"calm_steps": 400, "equilibration_steps": 200, "candidate_spacing": 25},
        "threshold": 0.02,
        "max_labels": 64,
        "al_points": [32, 48, 64],
        "uniform": [32, 64, 128, 256],
        "refit_min_steps": 32000,
        "refit_epochs": 1000,
        "replicates": 3,
    },
    "quick": {
        "model": {"cutoff": 4.5, "num_features": 16, "num_interactions": 2, "num_basis": 8},
        "temperatures_K": [300.0, 1200.0],
        "test_per_segment": 2,
        "pool_per_segment": 8,
        "committee": {"size": 3, "train_steps": 100, "finetune_steps": 40},
        "exploration": {"calm_steps": 40, "equilibration_steps": 20, "candidate_spacing": 10},
        "threshold": 0.05,
        "max_labels": 12,
        "al_points": [8, 12],
        "uniform": [8, 16, 32],
        "refit_min_steps": 300,
        "refit_epochs": 20,
        "replicates": 1,
    },
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def start_structures() -> dict[str, Atoms]:
    """Perfect bulk, vacancy, (111) slab and cluster; vacuum wider than the cutoff, so images do not interact."""
    crystal = bulk("Cu", "fcc", a=3.61, cubic=True) * (2, 2, 2)
    vacancy = crystal.copy()
    del vacancy[0]
    slab = fcc111("Cu", size=(2, 2, 6), a=3.61, vacuum=6.0)
    cluster = Octahedron("Cu", 4, cutoff=1, latticeconstant=3.61)
    cluster.center(vacuum=6.0)
    slab.pbc = cluster.pbc = True
    return {"bulk": crystal, "vacancy": vacancy, "slab": slab, "cluster": cluster}


def emt_frames(starts: list[Atoms], temperatures: list[float], per_segment: int, *, every: int, seed: int) -> list:
    """EMT Langevin MD frames (2 fs, friction 0.01/fs) with EMT labels, ``per_segment`` per start and temperature."""
    frames = []
    for (s, start), (k, temperature) in itertools.product(enumerate(starts), enumerate(temperatures)):
        rng = np.random.default_rng([seed, k] if s == 0 else [seed, s, k])
        atoms = start.copy()
        atoms.calc = EMT()
        atoms.set_momenta(
            rng.normal(size=(len(atoms), 3)) * np.sqrt(units.kB * temperature * atoms.get_masses())[:, None]
        )
        Stationary(atoms)
        atoms.set_constraint(FixCom())
        dyn = Langevin(atoms, 2 * units.fs, temperature_K=temperature, friction=0.01 / units.fs, fixcm=False, rng=rng)
        dyn.run(EQUILIBRATE)
        for _ in range(per_segment):
            dyn.run(every)
            frame = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True, info={"start": s})
            frame.calc = SinglePointCalculator(
                frame, energy=atoms.get_potential_energy(), forces=atoms.get_forces(), stress=atoms.get_stress()
            )
            frames.append(frame)
    return frames


def refit_steps(n: int, settings: dict) -> int:
    """Optimiser steps of a refit on ``n`` structures (batch 4): ``refit_epochs`` epochs, at least the floor."""
    return max(settings["refit_min_steps"], settings["refit_epochs"] * int(np.ceil(n / 4)))


def refit(job: tuple) -> tuple:
    """(key, test force MAE in eV/Å, MAE per start, CPU s) of a fresh model trained on ``structures``."""
    key, structures, test, settings, seed = job
    torch.set_num_threads(1)
    c0 = time.process_time()
    epochs = int(np.ceil(refit_steps(len(structures), settings) / np.ceil(len(structures) / 4)))
    config = TrainConfig(
        model=dict(settings["model"]),
        epochs=epochs,
        batch_size=4,
        learning_rate=5e-3,
        scheduler="cosine",
        energy_weight=1.0,
        stress_weight=1.0,
        seed=seed,
        device="cpu",
        progress=False,
        plots=False,
        early_stopping_patience=10**6,
    )
    model = fit(config, structures, [get_labels(a) for a in structures]).model

    def mae(frames: list) -> float:
        return committee_errors([model], frames, [get_labels(a) for a in frames])["forces_mae_eV_per_A"]

    per_start = [mae([a for a in test if a.info["start"] == s]) for s in sorted({a.info["start"] for a in test})]
    return key, mae(test), per_start, time.process_time() - c0


def al_config(settings: dict, workdir: Path, test_file: Path, seed: int) -> ActiveConfig:
    """The loop's recipe: every start and temperature each iteration, stratified selection, 4 labels at a time."""
    return ActiveConfig.from_dict(
        {
            "db": str(workdir / f"al_r{seed}.db"),
            "reference": "ase.calculators.emt:EMT",
            "test_data": str(test_file),
            "seed": seed,
            "committee": {
                **settings["committee"],
                "model": dict(settings["model"]),
                "train_options": {"energy_weight": 1.0, "stress_weight": 1.0},
            },
            "exploration": {
                "temperatures_K": settings["temperatures_K"],
                "schedule": "all",
                "continue_md": True,
                "num_seed": 4,
                "check_interval": 10,
                "equilibration_steps": settings["exploration"]["equilibration_steps"],
                "candidate_spacing": settings["exploration"]["candidate_spacing"],
            },
            "selection": {
                "rule": "stratified",
                "threshold": settings["threshold"],
                "labels_per_iteration": 4,
                "max_candidates": 5,
            },
            "stopping": {"calm_steps": settings["exploration"]["calm_steps"], "max_labels": settings["max_labels"]},
        }
    )


def run_al(job: tuple) -> dict:
    """One AL replicate (seed ``seed``): its labelled structures in label order, and where they came from."""
    settings, workdir, test_file, seed = job
    torch.set_num_threads(1)
    config = al_config(settings, Path(workdir), Path(test_file), seed)
    c0 = time.process_time()
    result = run_active_learning(config, structure=list(start_structures().values()), log=lambda m: log(f"r{seed} {m}"))
    store = ActiveStore(config.db)
    rows = list(store.db.select(al_status="labelled", sort="id"))
    return {
        "seed": seed,
        "structures": store.labelled()[0],
        "stop_reason": result.reason,
        "md_steps": result.md_steps,
        "label_segments": [[row.get("start_index"), row.get("temperature_K")] for row in rows],
        "cpu_seconds": round(time.process_time() - c0, 1),
    }


def calls_for_error(curve: list[tuple[int, float]], target: float) -> tuple[float, str | None]:
    """Calls at which ``curve`` (calls, MAE), as its running minimum interpolated log-log, reaches ``target``.

    Outside the curve the answer is its end, with ``"at least"`` (never reached) or ``"at most"`` (the first
    point is already below).
    """
    curve = [(n, min(e for _, e in curve[: k + 1])) for k, (n, _) in enumerate(curve)]
    if curve[0][1] <= target:
        return float(curve[0][0]), None if curve[0][1] == target else "at most"
    for (n0, e0), (n1, e1) in itertools.pairwise(curve):
        if e0 > target >= e1:
            return float(np.exp(np.log(n0) + np.log(e0 / target) / np.log(e0 / e1) * np.log(n1 / n0))), None
    return float(curve[-1][0]), "at least"


def ratio_rows(active: list[tuple[int, float]], uniform: list[tuple[int, float]], segments: int) -> list[dict]:
    """Per AL point: uniform calls at its error and the ratio, counting labels only and with uniform's MD."""
    rows = []
    for n, error in active:
        m, bound = calls_for_error(uniform, error)
        with_md = segments * EQUILIBRATE + m * POOL_EVERY  # reference MD steps that give m pool frames
        rows.append(
            {"reference_calls": n, "uniform_calls_same_error": round(m, 1), "ratio": round(n / m, 3), "bound": bound}
            | {"uniform_calls_with_md": round(with_md), "ratio_with_md": round(n / with_md, 4)}
        )
    return rows


def curve(points: dict[int, list[float]]) -> list[dict]:
    return [
        {
            "reference_calls": n,
            "forces_mae_eV_per_A": round(float(np.mean(e)), 5),
            "per_replicate": [round(x, 5) for x in e],
        }
        for n, e in sorted(points.items())
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke test (a few CPU-minutes)")
    parser.add_argument("--replicates", type=int, help="AL runs / uniform subsets / refit seeds (default 3)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes, one torch thread each")
    parser.add_argument("--workdir", help="keep the AL databases here (default: a temporary directory)")
    args = parser.parse_args(argv)
    settings = SETTINGS["quick" if args.quick else "full"]
    replicates = args.replicates or settings["replicates"]
    named = start_structures()
    starts, temperatures = list(named.values()), settings["temperatures_K"]
    t0 = time.perf_counter()
    test = emt_frames(starts, temperatures, settings["test_per_segment"], every=TEST_EVERY, seed=1000)
    pool = emt_frames(starts, temperatures, settings["pool_per_segment"], every=POOL_EVERY, seed=2000)
    log(f"{len(test)} test frames, {len(pool)} pool frames ({time.perf_counter() - t0:.0f} s)")
    results: dict[str, dict[int, dict[int, float]]] = {"active": {}, "uniform": {}}
    per_start: dict[str, dict[int, list[list[float]]]] = {"active": {}, "uniform": {}}
    runs, cpu = [], 0.0
    with tempfile.TemporaryDirectory() as scratch, multiprocessing.get_context("fork").Pool(args.jobs) as workers:
        workdir = Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        test_file = workdir / "test.extxyz"
        write(test_file, test)
        pending_al = [
            workers.apply_async(run_al, ((settings, str(workdir), str(test_file), r),)) for r in range(replicates)
        ]
        uniform_jobs = [
            (("uniform", n, r), [pool[i] for i in np.random.default_rng([3000, r]).permutation(len(pool))[:n]], test)
            for r in range(replicates)
            for n in settings["uniform"]
        ]
        uniform_jobs.sort(key=lambda job: -len(job[1]))  # longest first, beside the AL runs
        pending = [workers.apply_async(refit, ((*job, settings, job[0][2]),)) for job in uniform_jobs]
        for r, handle in enumerate(pending_al):
            run = handle.get()
            runs.append(run)
            cpu += run["cpu_seconds"]
            log(f"AL replicate {r}: {len(run['structures'])} labels, {run['md_steps']} MD steps; {run['stop_reason']}")
            for n in [n for n in settings["al_points"] if n <= len(run["structures"])]:
                pending.append(
                    workers.apply_async(refit, ((("active", n, r), run["structures"][:n], test, settings, r),))
                )
        for handle in pending:
            (kind, n, r), mae, by_start, seconds = handle.get()
            cpu += seconds
            results[kind].setdefault(n, {})[r] = mae
            per_start[kind].setdefault(n, []).append(by_start)
            log(f"{kind:7s} {n:4d} calls, replicate {r}: force MAE {mae:.5f} eV/Å ({seconds:.0f} CPU s)")
    curves = {
        kind: curve({n: [by_r[r] for r in sorted(by_r)] for n, by_r in points.items()})
        for kind, points in results.items()
    }
    mean = {kind: [(p["reference_calls"], p["forces_mae_eV_per_A"]) for p in c] for kind, c in curves.items()}
    segments = len(starts) * len(temperatures)
    ratios = ratio_rows(mean["active"], mean["uniform"], segments)
    per_replicate = [
        ratio_rows(
            [(p["reference_calls"], p["per_replicate"][r]) for p in curves["active"] if len(p["per_replicate"]) > r][
                -1:
            ],
            [(p["reference_calls"], p["per_replicate"][r]) for p in curves["uniform"]],
            segments,
        )[0]["ratio"]
        for r in range(replicates)
    ]
    for row in ratios:
        log(f"{row['reference_calls']} AL calls = {row['uniform_calls_same_error']} uniform: ratio {row['ratio']}")
    report = {
        "benchmark": "active_learning_vs_uniform_md_sampling",
        "mode": "quick" if args.quick else "full",
        "reference": "EMT",
        "starts": {name: len(atoms) for name, atoms in named.items()},
        "temperatures_K": temperatures,
        "model": {"architecture": "painn", **settings["model"]},
        "refit": {"min_steps": settings["refit_min_steps"], "epochs": settings["refit_epochs"], "batch_size": 4},
        "replicates": replicates,
        "test_frames": len(test),
        "pool_frames": len(pool),
        "active": curves["active"],
        "uniform": curves["uniform"],
        "forces_mae_per_start": {
            kind: {
                n: dict(zip(named, np.mean(rows, axis=0).round(5).tolist(), strict=True)) for n, rows in points.items()
            }
            for kind, points in per_start.items()
        },
        "ratios": ratios,
        "ratio_per_replicate": per_replicate,
        "al_runs": [{k: v for k, v in run.items() if k != "structures"} for run in runs],
        "seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds_in_tasks": round(cpu, 1),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
