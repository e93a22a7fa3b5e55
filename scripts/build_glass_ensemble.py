"""Build the shipped glass-mobility model: trained graph network(s) + the ridge model on the same inputs.

    OMP_NUM_THREADS=1 python scripts/build_glass_ensemble.py runs/glass_train/gnn_is_cg.pt \
        --out plugins/glass/mlmat_glass/pretrained/ka-T0.44-botan.pt

The networks come from ``scripts/train_glass_propensity.py`` (same data split); the ridge model is fitted
here on the same training configurations with the penalty chosen by leave-one-configuration-out CV on them.
Every member, the ensemble and the baselines are scored on the held-out configurations; the card of the
first network is kept and extended.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from mlmat_glass.ensemble import PropensityEnsemble
from mlmat_glass.metrics import pearson
from mlmat_glass.model_io import load_model, save_model
from mlmat_glass.storage import load_sample
from mlmat_glass.training import evaluate_all, fit_linear, predict_z, prepare, target_scale

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "glass_ka_T0.44"


def numbers(spec: str) -> list[int]:
    low, _, high = spec.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="+", type=Path, help="trained graph-network checkpoints")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--train", default="1-8")
    parser.add_argument("--test", default="9-10")
    parser.add_argument("--ridges", default="0.001,0.003,0.01,0.03,0.1", help="ridge penalties tried in CV")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    networks = [load_model(path) for path in args.networks]
    config = networks[0][0].config
    inputs = {
        "descriptors": config["descriptors"],
        "graph_positions": config.get("graph_positions", "thermal"),
        "cutoff": float(config["cutoff"]),
    }
    start = time.perf_counter()

    def load(ids):
        return [load_sample(args.data / f"isoconfig_N4096T0.44_{i}_tc07.npz") for i in ids]

    train, test = prepare(load(numbers(args.train)), **inputs), prepare(load(numbers(args.test)), **inputs)
    prepare_minutes = (time.perf_counter() - start) / 60

    def score(model, items):
        return float(
            np.mean(
                [pearson(predict_z(model, it.graph)[it.mask.numpy()], it.propensity[it.mask.numpy()]) for it in items]
            )
        )

    cv = {}
    for ridge in (float(r) for r in args.ridges.split(",")):
        folds = [
            score(fit_linear([t for k, t in enumerate(train) if k != j], ridge=ridge), [train[j]])
            for j in range(len(train))
        ]
        cv[ridge] = float(np.mean(folds))
        print(f"ridge {ridge:g}: leave-one-configuration-out CV Pearson {cv[ridge]:.3f}")
    ridge = max(cv, key=cv.get)
    linear = fit_linear(train, ridge=ridge)
    ensemble = PropensityEnsemble([model for model, _ in networks] + [linear]).eval()
    scores = evaluate_all(ensemble, train, test, model_name="ensemble")
    for k, (model, _) in enumerate(networks):
        scores[f"graph_network_{k}"] = evaluate_all(model, train, test, model_name="m")["m"]
    scores["linear"] = evaluate_all(linear, train, test, model_name="m")["m"]
    for name, values in scores.items():
        print(f"{name:18s} held-out Pearson (A) {values['mean']:.3f}  {values}")

    mean, std = target_scale(train)
    card = dict(networks[0][1].get("card", {}))
    card.update(
        {
            "name": args.out.stem,
            "model": f"mean of {len(networks)} graph network(s) and a ridge model (penalty {ridge:g} per sample, "
            "chosen by leave-one-configuration-out CV on the training configurations)",
            "members": [str(p) for p in args.networks] + ["ridge"],
            "ridge_cv": cv,
            "architecture": dict(ensemble.config),
            "propensity_mean_sigma": mean,
            "propensity_std_sigma": std,
            "pearson_test": {k: v["mean"] for k, v in scores.items()},
            "pearson_test_per_configuration": scores,
            "input_minutes_per_configuration": prepare_minutes / (len(train) + len(test)),
        }
    )
    save_model(ensemble, args.out, target_mean=mean, target_std=std, card=card)
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
