"""How far is a bench_active refit from converged? Test force MAE against optimiser steps, model and data.

Each point trains a fresh PaiNN (F=16, 2 interactions) on the first n frames of replicate R's
uniform subset of the v4 mixed-system pool (``--replicate R``, default 0; bench_active's frames, seeds
and recipe: batch 4, lr 5e-3 cosine, loss weights 1, refit seed R) for exactly ``steps`` optimiser
steps, and scores it on the 160 v4 test frames. Refits are deterministic, so a point equals
bench_active's at the same settings.

Why it matters: EMT Cu interacts out to 5.1 Å (the fourth fcc shell; its logistic cutoff is centred at
5.38 Å), beyond a 4.5 Å model cutoff, and at ~4000 steps the refits of v3-v5 are still far from
converged, so those curves measured training length as much as data.

With ``--al-db`` the frames are instead the first n structures an active-learning run labelled, in
label order (a bench_active database, or an extxyz file of its labels from ``rerun_al.py``), so an AL
point of the bench can be refitted for longer (pass the run's replicate too: it is the refit seed).

With ``--allocation-of REPORT`` the frames are uniform pool frames spread over the MD segments (start
structure x temperature) exactly as replicate R's AL run in that bench report spread its labels, in label
order, with the run's rattled seed copies rebuilt and labelled first. Against the AL set itself this
separates the two things an AL run chooses: how many labels each segment gets, and which frames within it.
``--start-counts bulk=4,vacancy=6,slab=20,cluster=30`` gives each start structure that many MD frames
instead, shared over the temperatures as the run shared all its MD labels (largest remainders), to ask
what another allocation would have done.

Usage::

    python scripts/refit_convergence.py --points 32:4000 32:16000 --cutoff 4.5 --num-basis 8 --jobs 2
    python scripts/refit_convergence.py --points 64:32000 --cutoff 5.5 --num-basis 16 --al-db DIR/bench_active_r0.db
    python scripts/refit_convergence.py --points 256:64000 --cutoff 5.5 --num-basis 16 --replicate 1
    python scripts/refit_convergence.py --points 64:32000 --cutoff 5.5 --num-basis 16 --replicate 1 \
        --allocation-of docs/active/bench_active_v9.json [--start-counts bulk=4,vacancy=6,slab=20,cluster=30]

Progress goes to stderr; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections import Counter

import numpy as np
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from bench_active import (
    MIXED,
    SETTINGS,
    log,
    refit_mae,
    start_structures,
    test_and_pool,
    test_frames,
    uniform_order,
)

from ase_mlmat.active import ActiveConfig
from ase_mlmat.active.loop import seed_copies
from ase_mlmat.data import read_structures


def labelled_seeds(starts: list, run: dict) -> list:
    """The rattled seed copies AL run ``run`` (a bench report's ``al_runs`` entry) labelled, rebuilt by the loop's
    own :func:`seed_copies` with the run's seed, with EMT labels."""
    copies = seed_copies(starts, run["label_starts"].count(None), ActiveConfig(seed=run["seed"]))
    for atoms in copies:
        atoms.calc = EMT()
        atoms.calc = SinglePointCalculator(
            atoms, energy=atoms.get_potential_energy(), forces=atoms.get_forces(), stress=atoms.get_stress()
        )
    return copies


def allocation_matched(pool: list, run: dict, settings: dict) -> list:
    """Uniform pool frames allocated over the MD segments as AL run ``run`` allocated its labels, in label order.

    The pool holds ``pool_per_T`` frames per (start, temperature) segment, start-major (``emt_frames``); each
    segment's frames are taken in a random order of the run's own seed. Seed labels become the rebuilt seeds.
    """
    names, temperatures = list(start_structures("mixed")), settings["temperatures_K"]
    per_segment, rng = settings["pool_per_T"], np.random.default_rng([5000, run["seed"]])
    queues: dict[tuple[int, int], list[int]] = {}
    seeds = iter(labelled_seeds(list(start_structures("mixed").values()), run))
    chosen = []
    for start, temperature in zip(run["label_starts"], run["label_temperatures_K"], strict=True):
        if start is None:
            chosen.append(next(seeds))
            continue
        segment = (names.index(start), temperatures.index(temperature))
        if segment not in queues:
            first = (segment[0] * len(temperatures) + segment[1]) * per_segment
            queues[segment] = list(first + rng.permutation(per_segment))
        chosen.append(pool[queues[segment].pop(0)])
    return chosen


def reallocated(run: dict, start_counts: dict[str, int]) -> dict:
    """``run`` with its MD labels replaced by ``start_counts[start]`` per start structure, each start's shared
    over the temperatures in the proportions of all the run's MD labels (largest remainders); seeds kept."""
    md_temperatures = [t for s, t in zip(run["label_starts"], run["label_temperatures_K"], strict=True) if s]
    temperatures = sorted(set(md_temperatures))
    shares = np.array([md_temperatures.count(t) for t in temperatures]) / len(md_temperatures)
    seeds = run["label_starts"].count(None)
    starts, labels = [None] * seeds, [None] * seeds
    for start, count in start_counts.items():
        exact = shares * count
        counts = np.floor(exact).astype(int)
        counts[np.argsort(counts - exact)[: count - counts.sum()]] += 1  # largest remainders
        for temperature, n in zip(temperatures, counts, strict=True):
            starts += [start] * int(n)
            labels += [temperature] * int(n)
    return {**run, "label_starts": starts, "label_temperatures_K": labels}


def frames(
    al_db: str | None = None, replicate: int = 0, allocation: dict | None = None
) -> tuple[list, list, np.ndarray]:
    """(test frames, training frames, their order): bench_active --system mixed's test frames, and its pool in
    replicate ``replicate``'s order or, with ``al_db``, that run's labelled structures in label order, or with
    ``allocation`` (a bench report's AL run, maybe :func:`reallocated`) :func:`allocation_matched` frames."""
    starts, settings = list(start_structures("mixed").values()), {**SETTINGS["full"], **MIXED}
    if al_db is not None:  # the pool is not needed: only the test frames (test_and_pool's first stream)
        test = test_frames(starts, settings)
        labelled = read_structures(al_db)  # an AL database reads as its labelled rows, in label order
        return test, labelled, np.arange(len(labelled))
    test, pool = test_and_pool(starts, settings)
    if allocation is not None:
        matched = allocation_matched(pool, allocation, settings)
        return test, matched, np.arange(len(matched))
    return test, pool, uniform_order(len(pool), replicate=replicate)


def segment_table(run: dict) -> dict[str, int]:
    """Labels of AL run ``run`` per MD segment, "start@T", seeds as "seed"."""
    counts = Counter(
        "seed" if start is None else f"{start}@{temperature:g}K"
        for start, temperature in zip(run["label_starts"], run["label_temperatures_K"], strict=True)
    )
    return dict(sorted(counts.items()))


FRAMES: tuple[list, list, np.ndarray] = ([], [], np.array([]))  # set in main, inherited by forked workers


def run_point(job: tuple[int, int, dict, int]) -> dict:
    n, steps, model, seed = job
    test, pool, order = FRAMES
    settings = {**SETTINGS["full"], "model": model, "refit_min_steps": steps, "refit_epochs": 0}
    c0 = time.process_time()
    mae, per_start = refit_mae([pool[i] for i in order[:n]], test, settings, seed=seed)
    return {
        "frames": n,
        "steps": steps,
        "model": model,
        "forces_mae_eV_per_A": round(mae, 5),
        "per_start": dict(zip(start_structures("mixed"), [round(e, 5) for e in per_start], strict=True)),
        "cpu_seconds": round(time.process_time() - c0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", nargs="+", required=True, metavar="N:STEPS", help="frames:optimiser steps")
    parser.add_argument("--cutoff", type=float, default=4.5, help="model cutoff, Å")
    parser.add_argument("--num-basis", type=int, default=8, help="radial basis functions")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (each one torch thread)")
    parser.add_argument(
        "--al-db",
        metavar="DB",
        help="train on this AL run's labelled structures, in label order (its database, or an extxyz file of them)",
    )
    parser.add_argument(
        "--allocation-of",
        metavar="REPORT",
        help="uniform pool frames spread over the MD segments as this bench report's AL run spread its labels",
    )
    parser.add_argument(
        "--start-counts",
        metavar="START=N,...",
        help="with --allocation-of: MD frames per start structure instead of the run's",
    )
    parser.add_argument(
        "--replicate", type=int, default=0, help="bench replicate: its uniform subset (without --al-db) and refit seed"
    )
    args = parser.parse_args(argv)
    model = {**SETTINGS["full"]["model"], "cutoff": args.cutoff, "num_basis": args.num_basis}
    jobs = [(int(n), int(steps), model, args.replicate) for n, steps in (point.split(":") for point in args.points)]
    global FRAMES
    if args.al_db and args.allocation_of:
        parser.error("--al-db and --allocation-of are two different training sets: give one")
    start_counts = None
    if args.start_counts:
        if not args.allocation_of:
            parser.error("--start-counts reallocates an AL run's labels: give --allocation-of")
        start_counts = {name: int(n) for name, n in (item.split("=") for item in args.start_counts.split(","))}
        if unknown := set(start_counts) - set(start_structures("mixed")):
            parser.error(f"unknown start structures {sorted(unknown)}; known: {list(start_structures('mixed'))}")
    allocation = None
    if args.allocation_of:
        with open(args.allocation_of) as report:
            allocation = next(r for r in json.load(report)["al_runs"] if r["seed"] == args.replicate)
        allocation = reallocated(allocation, start_counts) if start_counts else allocation
    FRAMES = frames(args.al_db, args.replicate, allocation)
    if max(n for n, *_ in jobs) > len(FRAMES[1]):
        parser.error(f"{len(FRAMES[1])} training frames, fewer than a point asks for")
    results = []
    with multiprocessing.get_context("fork").Pool(args.jobs) as workers:
        for point in workers.imap_unordered(run_point, jobs):
            log(
                f"{point['frames']} frames, {point['steps']} steps: force MAE {point['forces_mae_eV_per_A']:.5f} eV/Å "
                f"{point['per_start']} ({point['cpu_seconds']} CPU s)"
            )
            results.append(point)
    results.sort(key=lambda p: (p["frames"], p["steps"]))
    source = f"uniform pool, replicate {args.replicate}"
    if args.allocation_of:
        source = f"allocation-matched pool frames: as {args.allocation_of}'s AL run {args.replicate}" + (
            f", MD frames per start {start_counts}" if start_counts else ""
        )
    print(
        json.dumps(
            {
                "benchmark": "refit_convergence",
                "test_frames": len(FRAMES[0]),
                "segments": segment_table(allocation) if allocation else None,
                "frames_from": args.al_db or source,
                "replicate": args.replicate,
                "points": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
