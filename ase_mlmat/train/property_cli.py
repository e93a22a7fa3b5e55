"""``mlmat train-property``: train (or k-fold cross-validate) a structure → property model.

mlmat train-property --config configs/mp-binary-kg.yaml
mlmat train-property --data moduli.json.gz --epochs 30 --kfold 5 --report cv.json
"""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train-property`` subcommand; returns its parser."""
    p = subparsers.add_parser("train-property", help="train a structure→property model (CGCNN, log10 K and G)")
    p.add_argument("--config", help="YAML file; keys are PropertyTrainConfig fields")
    p.add_argument("--data", help="pymatgen JSON list (.json/.json.gz) with bulk_modulus_vrh, shear_modulus_vrh")
    p.add_argument("--output", help="checkpoint path")
    p.add_argument("--epochs", type=int)
    p.add_argument("--ensemble-size", type=int)
    p.add_argument("--limit", type=int, help="use the first N structures only")
    p.add_argument("--max-minutes", type=float, help="time budget per ensemble member")
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, help="torch threads (default 1)")
    p.add_argument("--kfold", type=int, help="k-fold cross-validation instead of one training run")
    p.add_argument("--report", help="JSON file for the k-fold report")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    from ..yaml_config import config_from_cli
    from .property_api import cross_validate_property, train_property
    from .property_config import PropertyTrainConfig

    overrides = {
        "data": args.data,
        "output": args.output,
        "epochs": args.epochs,
        "ensemble_size": args.ensemble_size,
        "limit": args.limit,
        "max_minutes": args.max_minutes,
        "seed": args.seed,
        "threads": args.threads,
    }
    if args.no_progress:
        overrides["progress"] = False
    config = config_from_cli(PropertyTrainConfig, args.config, overrides)
    if args.kfold:
        report = cross_validate_property(config, args.kfold)
        for name, mae in report["summary"]["mae_ensemble"].items():
            print(f"{args.kfold}-fold CV MAE {name:20s} {mae:.4f}")
        print(
            f"structures {report['num_structures']} (dropped with non-positive moduli: "
            f"{report['dropped_non_positive']})"
        )
        if args.report:
            with open(args.report, "w") as handle:
                json.dump(report, handle)
        return 0
    result = train_property(config)
    print(
        f"saved {config.output}: ensemble of {len(result.model)}, {result.num_train} train / {result.num_val} "
        f"validation structures"
    )
    for name, mae in result.val_mae.items():
        print(f"validation MAE {name:20s} {mae:.4f}")
    return 0
