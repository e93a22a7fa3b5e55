"""Does the committee's spread estimate its error? Force MAE vs mean per-atom spread, per MD segment.

Reads the test frames a ``scripts/bench_active.py`` run writes to its workdir (``test.extxyz``:
``test_per_T`` frames per start structure and temperature, in that order) and one committee of the
loop's, and prints, for each (start, temperature) segment, the committee mean's force MAE against
the reference, the mean and the largest per-atom force spread, and their ratio. Stratified
selection (``selection: stratified``) shares labels by the mean spread, so it needs the ratio to
be about the same in every segment.

Usage::

    python scripts/spread_calibration.py WORKDIR/bench_active_r0_committee 15 WORKDIR/test.extxyz \
        --temperatures 300 600 900 1200

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from ase.io import read

from ase_mlmat.active import atomic_force_spread
from ase_mlmat.active.committee import member_path
from ase_mlmat.calculator import MLCalculator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("committee_dir", type=Path)
    parser.add_argument("iteration", type=int)
    parser.add_argument("test_frames", type=Path)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[300.0, 600.0, 900.0, 1200.0])
    args = parser.parse_args()
    frames = read(args.test_frames, ":")
    starts = sorted({int(a.info.get("start", 0)) for a in frames})
    per_segment = len(frames) // (len(starts) * len(args.temperatures))
    calculator = MLCalculator([str(member_path(args.committee_dir, args.iteration, m)) for m in range(args.members)])
    segments: dict[tuple[int, float], list[tuple[float, float, float]]] = {}
    for k, frame in enumerate(frames):
        reference = frame.get_forces()
        atoms = frame.copy()
        atoms.calc = calculator
        error = float(np.abs(atoms.get_forces() - reference).mean())  # the committee's results are now this frame's
        spread = atomic_force_spread(calculator.results, len(atoms))
        key = (int(frame.info.get("start", 0)), args.temperatures[(k // per_segment) % len(args.temperatures)])
        segments.setdefault(key, []).append((error, float(spread.mean()), float(spread.max())))
    rows = []
    for (start, temperature), values in sorted(segments.items()):
        error, mean_spread, max_spread = np.mean(values, axis=0)
        rows.append(
            {
                "start": start,
                "temperature_K": temperature,
                "forces_mae_eV_per_A": round(error, 5),
                "mean_spread_eV_per_A": round(mean_spread, 5),
                "max_spread_eV_per_A": round(max_spread, 5),
                "mae_over_mean_spread": round(error / mean_spread, 3),
            }
        )
    ratios = [r["mae_over_mean_spread"] for r in rows]
    print(
        json.dumps(
            {
                "benchmark": "committee_spread_calibration",
                "committee": str(args.committee_dir),
                "iteration": args.iteration,
                "frames": len(frames),
                "segments": rows,
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
            }
        )
    )


if __name__ == "__main__":
    main()
