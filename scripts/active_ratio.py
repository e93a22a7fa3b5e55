"""The active-learning ratio from refits made apart: AL and uniform curves under one training recipe.

``bench_active.py`` trains every point of both curves with one recipe (``refit_epochs`` epochs, at
least ``refit_min_steps`` steps) and reports the ratio. To try a longer recipe without refitting
what is already known, points can be refitted one by one with ``refit_convergence.py`` (a uniform
subset of a replicate, or an AL run's labelled set with ``--al-db``), and the uniform points of a
bench report are reused as they are. Refits are deterministic, so a point is the same computation
whichever script made it. This script gathers those points, keeps only the ones trained exactly as
the recipe says (``max(min_steps, epochs * ceil(n / 4))`` steps, the bench reports' model), and
computes the curves and the ratio the way the bench does (mean over replicates, uniform interpolated
log-log).

Usage::

    python scripts/active_ratio.py --min-steps 32000 --epochs 1000 \\
        --uniform-bench docs/active/bench_active_v6.json docs/active/refit_*.json RUN/*.json

Stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from bench_active import ratio_table, summarize

TRAJECTORIES = 16  # bench_active --system mixed: 4 starts x 4 temperatures of reference MD for the uniform pool


def recipe_steps(n: int, min_steps: int, epochs: int) -> int:
    """Optimiser steps of the recipe for ``n`` structures (batch size 4)."""
    return max(min_steps, epochs * int(np.ceil(n / 4)))


def last_json(path: Path) -> dict:
    return json.loads(path.read_text().strip().splitlines()[-1])


def gather(refit_files: list[Path], bench_files: list[Path], min_steps: int, epochs: int) -> tuple[dict, dict]:
    """Points {(kind, n): {replicate: MAE}} made with the recipe, and where each AL replicate's frames came from.

    Raises ``SystemExit`` when two sources disagree on one point, the bench reports on the model, or one AL
    replicate mixes databases.
    """
    points: dict[tuple[str, int], dict[int, float]] = {}
    al_sources: dict[int, str] = {}

    def add(kind: str, n: int, replicate: int, mae: float, where: str) -> None:
        known = points.setdefault((kind, n), {})
        if replicate in known and known[replicate] != mae:
            raise SystemExit(f"{where}: {kind} {n} replicate {replicate} is {mae}, elsewhere {known[replicate]}")
        known[replicate] = mae

    models = []
    for path in bench_files:  # their uniform curves only: an AL curve belongs to that bench's own AL runs
        report = last_json(path)
        refit, model = report["refit"], {k: v for k, v in report["model"].items() if k != "architecture"}
        if models and model != models[0]:
            raise SystemExit(f"{path}: model {model}, another bench report {models[0]}")
        models.append(model)
        for p in report["uniform"]:
            n = p["reference_calls"]
            if recipe_steps(n, refit["min_steps"], refit["epochs"]) == recipe_steps(n, min_steps, epochs):
                for r, mae in enumerate(p["per_replicate"]):
                    add("uniform", n, r, mae, str(path))
    for path in refit_files:
        report = last_json(path)
        source = report.get("frames_from", "uniform pool, replicate 0")
        if source.startswith("allocation-matched"):
            raise SystemExit(f"{path}: allocation-matched pool frames belong to neither curve")
        kind = "uniform" if source.startswith("uniform") else "active"
        replicate = report.get("replicate", 0)
        if kind == "active" and al_sources.setdefault(replicate, source) != source:
            raise SystemExit(f"{path}: AL replicate {replicate} from {source}, elsewhere {al_sources[replicate]}")
        for p in report["points"]:
            if p["steps"] == recipe_steps(p["frames"], min_steps, epochs) and p["model"] == models[0]:
                add(kind, p["frames"], replicate, p["forces_mae_eV_per_A"], str(path))
    return points, al_sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("refits", nargs="+", type=Path, help="refit_convergence.py reports (JSON lines)")
    parser.add_argument(
        "--uniform-bench",
        action="append",
        type=Path,
        required=True,
        metavar="JSON",
        help="a bench_active.py report whose uniform points to reuse (repeat for more); the model "
        "of the first is the one kept",
    )
    parser.add_argument("--min-steps", type=int, required=True, help="the recipe's fewest optimiser steps")
    parser.add_argument("--epochs", type=int, required=True, help="the recipe's epochs")
    parser.add_argument("--replicates", type=int, default=2, help="a point needs this many replicates to count")
    args = parser.parse_args(argv)
    model = {k: v for k, v in last_json(args.uniform_bench[0])["model"].items() if k != "architecture"}
    points, al_sources = gather(args.refits, args.uniform_bench, args.min_steps, args.epochs)
    replicates = range(args.replicates)
    complete = {
        key: [by_r[r] for r in replicates] for key, by_r in points.items() if all(r in by_r for r in replicates)
    }
    curves = {kind: summarize({n: e for (k, n), e in complete.items() if k == kind}) for kind in ("active", "uniform")}
    if not curves["active"] or len(curves["uniform"]) < 2:
        raise SystemExit(f"too few complete points for a ratio: {sorted(complete)}")
    mean = {kind: [(p["reference_calls"], p["forces_mae_eV_per_A"]) for p in curve] for kind, curve in curves.items()}
    ratios = ratio_table(mean["active"], mean["uniform"], TRAJECTORIES)
    per_replicate = [
        ratio_table(
            [(p["reference_calls"], p["per_replicate"][r]) for p in curves["active"]][-1:],
            [(p["reference_calls"], p["per_replicate"][r]) for p in curves["uniform"]],
            TRAJECTORIES,
        )[0]["ratio"]
        for r in replicates
    ]
    report = {
        "benchmark": "active_learning_ratio_from_refits",
        "recipe": {"min_steps": args.min_steps, "epochs": args.epochs, "batch_size": 4},
        "model": {"architecture": "painn", **model},
        "al_frames_from": {str(r): source for r, source in sorted(al_sources.items()) if r in replicates},
        "active": curves["active"],
        "uniform": curves["uniform"],
        "ratios": ratios,
        "ratio_at_equal_error": ratios[-1]["ratio"],
        "ratio_is_upper_bound": ratios[-1]["upper_bound"],
        "ratio_is_lower_bound": ratios[-1]["lower_bound"],
        "ratio_per_replicate": per_replicate,
        "aim": "ratio <= 0.333",
        "incomplete_points": sorted(f"{k} {n}" for (k, n) in points if (k, n) not in complete),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
