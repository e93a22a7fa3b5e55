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
label order (a bench_active database), so an AL point of the bench can be refitted for longer (pass
the run's replicate too: it is the refit seed).

Usage::

    python scripts/refit_convergence.py --points 32:4000 32:16000 --cutoff 4.5 --num-basis 8 --jobs 2
    python scripts/refit_convergence.py --points 64:32000 --cutoff 5.5 --num-basis 16 --al-db DIR/bench_active_r0.db
    python scripts/refit_convergence.py --points 256:64000 --cutoff 5.5 --num-basis 16 --replicate 1

Progress goes to stderr; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time

import numpy as np
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

from ase_mlmat.active import ActiveStore


def frames(al_db: str | None = None, replicate: int = 0) -> tuple[list, list, np.ndarray]:
    """(test frames, training frames, their order): bench_active --system mixed's test frames, and its pool in
    replicate ``replicate``'s order or, with ``al_db``, that run's labelled structures in label order."""
    starts, settings = list(start_structures("mixed").values()), {**SETTINGS["full"], **MIXED}
    if al_db is not None:  # the pool is not needed: only the test frames (test_and_pool's first stream)
        test = test_frames(starts, settings)
        labelled = ActiveStore(al_db).labelled()[0]
        return test, labelled, np.arange(len(labelled))
    test, pool = test_and_pool(starts, settings)
    return test, pool, uniform_order(len(pool), replicate=replicate)


FRAMES: tuple[list, list, np.ndarray] = ([], [], np.array([]))  # set in main, inherited by forked workers


def run_point(job: tuple[int, int, dict, int]) -> dict:
    n, steps, model, seed = job
    test, pool, order = FRAMES
    settings = {**SETTINGS["full"], "model": model, "refit_min_steps": steps, "refit_epochs": 0}
    c0 = time.process_time()
    mae, per_start = refit_mae([pool[i] for i in order[:n]], test, settings, seed=seed)
    return {"frames": n, "steps": steps, "model": model, "forces_mae_eV_per_A": round(mae, 5),
            "per_start": dict(zip(start_structures("mixed"), [round(e, 5) for e in per_start], strict=True)),
            "cpu_seconds": round(time.process_time() - c0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", nargs="+", required=True, metavar="N:STEPS", help="frames:optimiser steps")
    parser.add_argument("--cutoff", type=float, default=4.5, help="model cutoff, Å")
    parser.add_argument("--num-basis", type=int, default=8, help="radial basis functions")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (each one torch thread)")
    parser.add_argument("--al-db", metavar="DB", help="train on this AL run's labelled structures, in label order")
    parser.add_argument("--replicate", type=int, default=0,
                        help="bench replicate: its uniform subset (without --al-db) and refit seed")
    args = parser.parse_args(argv)
    model = {**SETTINGS["full"]["model"], "cutoff": args.cutoff, "num_basis": args.num_basis}
    jobs = [(int(n), int(steps), model, args.replicate) for n, steps in (point.split(":") for point in args.points)]
    global FRAMES
    FRAMES = frames(args.al_db, args.replicate)
    if max(n for n, *_ in jobs) > len(FRAMES[1]):
        parser.error(f"{len(FRAMES[1])} training frames, fewer than a point asks for")
    results = []
    with multiprocessing.get_context("fork").Pool(args.jobs) as workers:
        for point in workers.imap_unordered(run_point, jobs):
            log(f"{point['frames']} frames, {point['steps']} steps: force MAE {point['forces_mae_eV_per_A']:.5f} eV/Å "
                f"{point['per_start']} ({point['cpu_seconds']} CPU s)")
            results.append(point)
    results.sort(key=lambda p: (p["frames"], p["steps"]))
    print(json.dumps({"benchmark": "refit_convergence", "test_frames": len(FRAMES[0]),
                      "frames_from": args.al_db or f"uniform pool, replicate {args.replicate}",
                      "replicate": args.replicate, "points": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
