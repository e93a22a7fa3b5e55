"""Train one config with one process and with ``torchrun --nproc-per-node N``; print how far apart the two models are.

The runs are cut to ``--epochs`` with no time budget (a wall-clock budget would end them at different epochs), and
write to a temporary folder. Prints the largest weight difference relative to the largest weight of its tensor,
and the validation errors of both models. The weights are compared as saved (in the run's dtype).

    OMP_NUM_THREADS=1 python scripts/check_ddp.py configs/mlearn-Cu.yaml --epochs 2 --nproc 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a potential's training config (YAML)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--nproc", type=int, default=2, help="processes of the torchrun run")
    parser.add_argument("--dtype", default=None, help="float32 or float64 (default: the config's)")
    args = parser.parse_args()
    mlmat = shutil.which("mlmat")
    config = yaml.safe_load(Path(args.config).read_text())
    config.update(epochs=args.epochs, max_minutes=None, plots=False, progress=False, checkpoint_every=0)
    if args.dtype:
        config["dtype"] = args.dtype
    with tempfile.TemporaryDirectory() as tmp:
        outputs = {}
        for procs in (1, args.nproc):
            out = Path(tmp) / f"procs{procs}.pt"
            path = Path(tmp) / f"procs{procs}.yaml"
            path.write_text(yaml.safe_dump({**config, "output": str(out)}))
            launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}"]
            subprocess.run(
                [*launch, mlmat, "train", str(path)] if procs > 1 else [mlmat, "train", str(path)], check=True
            )
            outputs[procs] = out
        one, many = (torch.load(outputs[p], weights_only=True)["members"][0] for p in (1, args.nproc))
        worst = max(
            float((one[k].double() - many[k].double()).abs().max()) / max(float(one[k].abs().max()), 1e-300)
            for k in one
            if one[k].is_floating_point()
        )
        print(
            f"{args.config}, {args.epochs} epochs, dtype {config.get('dtype', 'float32')}: largest weight "
            f"difference, {args.nproc} processes vs 1, relative to its tensor's largest weight: {worst:.2e}"
        )
        for p in (1, args.nproc):
            report = json.loads(outputs[p].with_suffix(".json").read_text())
            metrics = ", ".join(f"{k} {v:.6g}" for k, v in report["val_metrics"].items() if "mae" in k)
            print(f"{p} process(es): {report['seconds']:.0f} s; validation {metrics}")


if __name__ == "__main__":
    main()
