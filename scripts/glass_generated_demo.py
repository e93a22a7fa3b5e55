"""Generate a small Kob–Andersen data set and train one propensity model per timescale on it.

A demonstration of the whole chain on data this machine can afford (the shipped model uses the shared
T = 0.44 data instead): ``mlmat_glass.generate`` at a moderate temperature, then for a few times chosen by
F_s of A particles the shipped models' recipe (inherent-structure graph, coarse-grained inherent-structure
descriptors: a ridge model, and a graph network learning a correction to it) trained on all configurations
but the last two, with Pearson on A particles of the held-out two beside the baselines.

    OMP_NUM_THREADS=1 python scripts/glass_generated_demo.py --out runs/glass_demo
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from mlmat_glass.generate import generate
from mlmat_glass.storage import load_sample
from mlmat_glass.training import evaluate_all, fit_linear, prepare, train_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n-particles", type=int, default=500)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--n-configs", type=int, default=8)
    parser.add_argument("--n-runs", type=int, default=16)
    parser.add_argument("--t-max", type=float, default=8.0)
    parser.add_argument("--equilibration", type=float, default=50.0)
    parser.add_argument("--spacing", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--reuse", action="store_true", help="reuse data generated before in OUT/data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.reuse:
        summary = json.loads((args.out / "data" / "summary.json").read_text())
    else:
        summary = generate(
            n_particles=args.n_particles,
            temperature=args.temperature,
            n_configs=args.n_configs,
            n_runs=args.n_runs,
            t_min=0.02,
            t_max=args.t_max,
            n_times=14,
            equilibration=args.equilibration,
            spacing=args.spacing,
            out=args.out / "data",
            engine=args.engine,
            seed=1,
        )
    samples = [load_sample(args.out / "data" / name) for name in summary["files"]]
    fs = np.array(summary["fs_a_mean"])
    report = {"data": summary, "timescales": []}
    for level in (0.7, 0.5, 0.3):
        index = int(np.argmin(np.abs(fs - level)))
        inputs = dict(time_index=index, descriptors="inherent_radial_cg", graph_positions="inherent")
        train = prepare(samples[:-2], **inputs)
        test = prepare(samples[-2:], **inputs)
        start = time.perf_counter()
        model, history = train_network(
            train, width=32, n_steps=4, epochs=args.epochs, learning_rate=5e-4, log=None, linear_readout=True
        )
        scores = {k: v["mean"] for k, v in evaluate_all(model, train, test).items()}
        linear = evaluate_all(fit_linear(train, ridge=0.03), train, test, model_name="linear_inherent_cg")
        scores["linear_inherent_cg"] = linear["linear_inherent_cg"]["mean"]
        entry = {
            "time": float(summary["times"][index]),
            "fs_a": float(fs[index]),
            "pearson": scores,
            "train_seconds": time.perf_counter() - start,
            "final_loss": history[-1]["loss"],
        }
        report["timescales"].append(entry)
        print(json.dumps(entry))
    (args.out / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
