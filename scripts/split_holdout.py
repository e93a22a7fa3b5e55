"""Split an extended-XYZ file into a training and a hold-out file, frame for frame, by a seeded permutation.

Frames are copied as text (labels, config_type and all), so the two files read exactly as the original.

    python scripts/split_holdout.py ../shared/data/mlearn/Si_train.extxyz runs/si-holdout --fraction 0.2 --seed 0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def frames_of(path: Path) -> list[str]:
    """The frames of an extended-XYZ file, each as its text (count line, comment line, atom lines)."""
    lines = path.read_text().splitlines(keepends=True)
    frames, start = [], 0
    while start < len(lines) and lines[start].strip():
        end = start + int(lines[start]) + 2
        frames.append("".join(lines[start:end]))
        start = end
    return frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="extended-XYZ file")
    parser.add_argument("output", type=Path, help="folder for train.extxyz and test.extxyz")
    parser.add_argument("--fraction", type=float, default=0.2, help="share of frames held out (rounded down)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    frames = frames_of(args.data)
    order = np.random.default_rng(args.seed).permutation(len(frames))
    n_test = int(len(frames) * args.fraction)
    test, train = sorted(order[:n_test]), sorted(order[n_test:])
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "train.extxyz").write_text("".join(frames[k] for k in train))
    (args.output / "test.extxyz").write_text("".join(frames[k] for k in test))
    print(f"{len(train)} training and {len(test)} hold-out frames in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
