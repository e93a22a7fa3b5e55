"""Train the glass-mobility graph network on the shared T = 0.44 Kob–Andersen data and evaluate it.

Usage (repository root; one thread, as on the 2-core CI machine):

    OMP_NUM_THREADS=1 python scripts/train_glass_propensity.py --width 64 --steps 7 --max-minutes 20 \
        --out plugins/glass/mlmat_glass/pretrained/ka-T0.44-botan.pt

Train on configurations 1–8 of ../shared/data/glass_ka_T0.44, report Pearson on A particles of the held-out
configurations 9 and 10 for the network and the three baselines (fitted on 1–8), write the checkpoint with
its model card and a JSON report beside it. The target is the propensity, mean |Δr| over the
iso-configurational runs (σ); ``--target mean_squared_displacement`` trains on mean |Δr|² (σ²) instead.
The shipped model is built by ``scripts/build_glass_ensemble.py`` (validated ensemble weights).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from mlmat_glass.glass_graph import cube_symmetries
from mlmat_glass.model_io import save_model
from mlmat_glass.storage import load_sample
from mlmat_glass.timescales import DEFAULT_TARGET, TARGETS
from mlmat_glass.training import evaluate_all, fit_linear, prepare, target_scale, train_network

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "glass_ka_T0.44"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--train", default="1-8", help="configuration numbers, e.g. 1-8")
    parser.add_argument("--test", default="9-10")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--max-minutes", type=float, default=20.0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--descriptors", default=None, help="extra node descriptors, e.g. radial_energy")
    parser.add_argument(
        "--graph-positions",
        choices=["thermal", "inherent"],
        default="thermal",
        help="measure edge vectors in the thermal configuration or its inherent structure",
    )
    parser.add_argument(
        "--linear",
        action="store_true",
        help="fit the closed-form linear model on the descriptors instead of training the network",
    )
    parser.add_argument(
        "--ridge",
        type=float,
        default=0.03,
        help="ridge penalty of --linear and --linear-readout (per sample; 0.03 is best in "
        "leave-one-configuration-out CV on configurations 1-8)",
    )
    parser.add_argument(
        "--linear-readout",
        action="store_true",
        help="network = ridge model on the descriptors + a graph-network correction",
    )
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    parser.add_argument(
        "--target",
        choices=sorted(TARGETS),
        default=DEFAULT_TARGET,
        help="mean |dr| (sigma, default) or mean |dr|^2 (sigma^2) over the iso-configurational runs",
    )
    parser.add_argument("--device", default="cpu", help="cpu, auto, cuda or cuda:N (the network's training)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    def numbers(spec: str) -> list[int]:
        low, _, high = spec.partition("-")
        return list(range(int(low), int(high or low) + 1))

    def load(ids):
        return [load_sample(args.data / f"isoconfig_N4096T0.44_{i}_tc07.npz") for i in ids]

    inputs = dict(descriptors=args.descriptors, graph_positions=args.graph_positions, target=args.target)
    train = prepare(load(numbers(args.train)), **inputs)
    test = prepare(load(numbers(args.test)), **inputs)
    baseline = evaluate_all(None, train, test)
    for name, scores in baseline.items():
        print(f"baseline {name:16s} Pearson (A, held-out mean) {scores['mean']:.3f}  {scores}")

    start = time.perf_counter()
    if args.linear:
        model, history = fit_linear(train, ridge=args.ridge), [{"epoch": 0, "loss": float("nan")}]
    else:
        model, history = train_network(
            train,
            width=args.width,
            n_steps=args.steps,
            epochs=args.epochs,
            learning_rate=args.lr,
            max_minutes=args.max_minutes,
            seed=args.seed,
            linear_readout=args.linear_readout,
            ridge=args.ridge,
            weight_decay=args.weight_decay,
            device=args.device,
        )
    minutes = (time.perf_counter() - start) / 60
    name = "linear_" + str(args.descriptors) if args.linear else "graph_network"
    plain = evaluate_all(model, train, test, model_name=name)
    symmetrised = evaluate_all(model, train, test, symmetries=cube_symmetries()[::6], model_name=name)
    mean, std = target_scale(train)
    fs = [float(it.sample.fs_a[0]) for it in train]
    card = {
        "name": args.out.stem,
        "system": "Kob–Andersen 80:20 LJ, rho = 1.2, N = 4096, L = 15.05658 (truncated and shifted at 2.5 sigma_ab)",
        "temperature": float(train[0].sample.temperature),
        "n_train_configurations": len(train),
        "train_configurations": numbers(args.train),
        "test_configurations": numbers(args.test),
        "isoconfigurational_runs": int(train[0].sample.n_runs),
        "time": "BOTAN time index 7 (their tc07; the LJ time is not stored in the files); propensity from "
        "the stored positions",
        "fs_a_train_mean": float(np.mean(fs)),
        "fs_a_train_range": [float(min(fs)), float(max(fs))],
        "target": args.target,
        "target_definition": f"{TARGETS[args.target][0]}, A particles, in {TARGETS[args.target][1]}; "
        "standardised per configuration; output = mean + std * network",
        "propensity_mean_sigma": mean,
        "propensity_std_sigma": std,
        "architecture": dict(model.config),
        "epochs": len(history),
        "train_minutes": minutes,
        "final_loss": history[-1]["loss"],
        "pearson_test": {k: v["mean"] for k, v in plain.items()},
        "pearson_test_symmetrised_8_cube_ops": {k: v["mean"] for k, v in symmetrised.items()},
        "data": "Shiba et al. BOTAN small data set (Apache-2.0), ../shared/data/glass_ka_T0.44",
    }
    save_model(model, args.out, target_mean=mean, target_std=std, card=card)
    report = {"card": card, "history": history, "pearson": plain, "pearson_symmetrised": symmetrised}
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    print(json.dumps(card, indent=1))


if __name__ == "__main__":
    main()
