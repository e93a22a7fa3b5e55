"""How much can the choice of frames alone gain over uniform sampling? Pool-based selection on bench_active v4.

``bench_active`` compares the whole active-learning loop (committee MD exploration + selection) with
labelling uniformly sampled MD frames. This bench removes exploration: every strategy picks from the
same pool of EMT MD frames that the uniform baseline samples, so only the choice differs:

* ``oracle``: the frames on which the current model's *true* force error (against EMT, known for the
  pool) is largest, weighted by descriptor distance to those chosen and labelled (the loop's
  ``selection="weighted"``). No uncertainty estimate ranks frames better than their true error, so
  this shows what a better uncertainty measure could give at this model size and recipe (greedy in
  the in-loop model's error: an indication, not a strict bound).
* ``committee``: the same, ranked by the committee's force spread (pool-based query-by-committee).

Each replicate starts from one random pool frame per start structure (the same four for both
strategies), trains (warm-started like the loop: ``train_steps`` then ``finetune_steps`` per
iteration), picks ``labels_per_iteration`` frames, and so on to the budget. Then every point is
refit with ``bench_active``'s recipe and seed and compared with ``bench_active`` v4's uniform curve
(same system, test and pool frames, refit recipe and seeds: the uniform refits are deterministic).

Usage::

    OMP_NUM_THREADS=1 python scripts/bench_pool_selection.py --jobs 2   # 6650 CPU-s, 64 min wall (6 runs)

Progress goes to stderr; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_active import (
    MIXED,
    SETTINGS,
    SYSTEMS,
    calls_for_error,
    earlier_uniform,
    log,
    loss_weights,
    pool_seed_indices,
    refit_mae,
    start_structures,
    summarize,
    test_and_pool,
)

from ase_mlmat.active import ActiveConfig
from ase_mlmat.active.committee import committee_predictions, train_committee
from ase_mlmat.active.selection import select_diverse
from ase_mlmat.active.store import structure_uid
from ase_mlmat.data import get_labels
from ase_mlmat.train.targets import labelled_graphs


def frame_scores(models, graphs, sizes: np.ndarray, strategy: str) -> np.ndarray:
    """Per frame: true force MAE of member 0 (``oracle``) or max per-atom force spread (``committee``), eV/Å."""
    predictions = committee_predictions(models, graphs)
    first_atoms = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if strategy == "oracle":
        error = np.abs(predictions[0]["forces"] - predictions[0]["forces_ref"]).mean(axis=1)
        return np.add.reduceat(error, first_atoms) / sizes
    spread = np.linalg.norm(np.std([p["forces"] for p in predictions], axis=0), axis=1)
    return np.maximum.reduceat(spread, first_atoms)


def select_from_pool(job: tuple) -> dict:
    """One strategy, one replicate: the pool indices in the order they were labelled."""
    strategy, replicate, pool, settings, workdir = job
    torch.set_num_threads(1)
    c0 = time.process_time()
    chosen = pool_seed_indices(pool, replicate)
    config = ActiveConfig(
        db=str(Path(workdir) / f"{strategy}_r{replicate}.db"),
        model=dict(settings["model"]),
        committee_size=1 if strategy == "oracle" else settings["committee_size"],
        bootstrap=strategy != "oracle",
        train_steps=settings["train_steps"],
        finetune_steps=settings["finetune_steps"],
        seed=replicate,
        train_options=loss_weights(settings),
    )
    labels = [get_labels(a) for a in pool]
    sizes = np.array([len(a) for a in pool])
    graphs = labelled_graphs(pool, labels, ["Cu"], float(settings["model"]["cutoff"]))
    previous, iteration = None, 0
    while len(chosen) < settings["max_labels"]:
        committee = train_committee(
            [pool[i] for i in chosen],
            [labels[i] for i in chosen],
            [structure_uid(pool[i]) for i in chosen],
            config,
            iteration=iteration,
            elements=["Cu"],
            previous=previous,
        )
        previous = committee.paths
        taken = set(chosen)
        rest = [i for i in range(len(pool)) if i not in taken]
        scores = frame_scores(committee.models, [graphs[i] for i in rest], sizes[rest], strategy)
        count = min(settings["labels_per_iteration"], settings["max_labels"] - len(chosen))
        picks = select_diverse(
            [pool[i] for i in rest],
            scores,
            count,
            labelled=[pool[i] for i in chosen],
            cutoff=float(settings["model"]["cutoff"]),
            weighted=True,
        )
        log(
            f"{strategy} r{replicate} iteration {iteration}: {len(chosen)} labelled, score of picks "
            f"{', '.join(f'{scores[k]:.4f}' for k in picks)} (pool median {np.median(scores):.4f}) eV/Å"
        )
        chosen += [rest[k] for k in picks]
        iteration += 1
    return {"strategy": strategy, "replicate": replicate, "chosen": chosen, "cpu_seconds": time.process_time() - c0}


def refit_point(job: tuple) -> tuple:
    strategy, replicate, n, structures, test, settings, seed = job
    c0 = time.process_time()
    mae, per_start = refit_mae(structures, test, settings, seed)
    return strategy, replicate, n, mae, per_start, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--uniform-from",
        default="docs/active/bench_active_v4.json",
        help="bench_active --system mixed report whose uniform curve is the baseline",
    )
    parser.add_argument("--strategies", nargs="+", default=["oracle", "committee"], choices=["oracle", "committee"])
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--points", type=int, nargs="+", default=[16, 32], help="label counts refit and tested")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = dict(SETTINGS["full"])
    settings.update(MIXED)
    settings["max_labels"] = max(args.points)
    t0, c0 = time.perf_counter(), time.process_time()
    named = start_structures("mixed")
    starts, temperatures = list(named.values()), settings["temperatures_K"]
    test, pool = test_and_pool(starts, settings)
    # the same checks as bench_active --uniform-from: system, model, refit recipe, frame counts, seed 0
    uniform, _ = earlier_uniform(
        args.uniform_from, settings, argparse.Namespace(system="mixed", seed=0), args.replicates, len(test), len(pool)
    )
    log(f"{len(test)} test frames, {len(pool)} pool frames ({time.perf_counter() - t0:.0f} s)")
    cpu_children = 0.0
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as workdir, context.Pool(args.jobs) as workers:
        runs = workers.map(
            select_from_pool,
            [(s, r, pool, settings, workdir) for s in args.strategies for r in range(args.replicates)],
            chunksize=1,
        )
        cpu_children += sum(run["cpu_seconds"] for run in runs)
        jobs = [
            (
                run["strategy"],
                run["replicate"],
                n,
                [pool[i] for i in run["chosen"][:n]],
                test,
                settings,
                run["replicate"],
            )
            for run in runs
            for n in args.points
        ]
        refits = workers.map(refit_point, jobs, chunksize=1)
    curves: dict[str, dict[int, list[tuple[int, float]]]] = {s: {} for s in args.strategies}
    per_start: dict[str, dict[int, list[list[float]]]] = {s: {} for s in args.strategies}
    for strategy, replicate, n, mae, by_start, cpu in refits:
        cpu_children += cpu
        curves[strategy].setdefault(n, []).append((replicate, mae))
        per_start[strategy].setdefault(n, []).append(by_start)
        log(f"{strategy:9s} {n:3d} labels, replicate {replicate}: force MAE {mae:.4f} eV/Å")
    mean_uniform = [(p["reference_calls"], p["forces_mae_eV_per_A"]) for p in uniform]
    report_curves, ratios = {}, {}
    for strategy, points in curves.items():
        summary = summarize({n: [e for _, e in sorted(v)] for n, v in points.items()})
        report_curves[strategy] = summary
        rows = []
        for p in summary:
            m, bound = calls_for_error(mean_uniform, p["forces_mae_eV_per_A"])
            rows.append(
                {
                    "labels": p["reference_calls"],
                    "uniform_calls_same_error": round(m, 1),
                    "ratio": round(p["reference_calls"] / m, 3),
                    "upper_bound": bound == "at least",
                    "lower_bound": bound == "at most",
                }
            )
        ratios[strategy] = rows
        for p, row in zip(summary, rows, strict=True):
            log(
                f"{strategy:9s} {p['reference_calls']:3d} labels: force MAE {p['forces_mae_eV_per_A']:.4f} eV/Å "
                f"(min {p['min']:.4f}, max {p['max']:.4f}); uniform needs {row['uniform_calls_same_error']} "
                f"-> ratio {row['ratio']}"
            )
    labelled_starts = {
        s: {
            name: int(sum(pool[i].info["start"] == k for run in runs if run["strategy"] == s for i in run["chosen"]))
            for k, name in enumerate(named)
        }
        for s in args.strategies
    }
    labelled_T = {
        s: {
            f"{t:g}": int(
                sum(
                    (i // settings["pool_per_T"]) % len(temperatures) == k
                    for run in runs
                    if run["strategy"] == s
                    for i in run["chosen"]
                )
            )
            for k, t in enumerate(temperatures)
        }
        for s in args.strategies
    }
    children = os.times()
    print(
        json.dumps(
            {
                "benchmark": "pool_selection_vs_uniform",
                "system": SYSTEMS["mixed"],
                "uniform_from": args.uniform_from,
                "model": {"architecture": "painn", **settings["model"]},
                "replicates": args.replicates,
                "in_loop_training": {
                    k: settings[k] for k in ("train_steps", "finetune_steps", "committee_size", "labels_per_iteration")
                },
                "test_frames": len(test),
                "pool_frames": len(pool),
                "uniform": uniform,
                "curves": report_curves,
                "ratios": ratios,
                "forces_mae_per_start": {
                    s: {
                        n: {name: round(float(np.mean([row[k] for row in rows])), 5) for k, name in enumerate(named)}
                        for n, rows in sorted(v.items())
                    }
                    for s, v in per_start.items()
                },
                "labels_per_start": labelled_starts,
                "labels_per_temperature_K": labelled_T,
                "seconds": round(time.perf_counter() - t0, 1),
                "cpu_seconds": round(time.process_time() - c0 + children.children_user + children.children_system, 1),
                "cpu_seconds_in_tasks": round(cpu_children, 1),
                "jobs": args.jobs,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
