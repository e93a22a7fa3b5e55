"""``mlmat train-property``: train (or k-fold cross-validate) a structure → property model.

mlmat train-property --config configs/mp-binary-kg.yaml
mlmat train-property --data moduli.json.gz --epochs 30 --kfold 5 --report cv.json

Flags are the fields of :class:`ase_mlmat.train.property_config.PropertyTrainConfig`.
"""

from __future__ import annotations

import argparse

NOTES = {
    "data": "pymatgen JSON list (.json/.json.gz) with bulk_modulus_vrh, shear_modulus_vrh",
    "limit": "use the first N structures only",
    "max_minutes": "time budget per ensemble member",
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train-property`` subcommand; returns its parser."""
    from ..train.property_config import PropertyTrainConfig  # only for `mlmat train-property`: flags = fields
    from .config_flags import add_config_flags

    p = subparsers.add_parser(
        "train-property",
        help="train a structure→property model (CGCNN, log10 K and G)",
        description="Train a structure→property model. Settings come from --config (YAML, keys are "
        "PropertyTrainConfig fields) and the flags below, which override the file.",
    )
    p.add_argument("--config", help="YAML file; keys are PropertyTrainConfig fields")
    p.add_argument("--kfold", type=int, help="k-fold cross-validation instead of one training run")
    p.add_argument("--report", help="JSON file for the k-fold report")
    p.set_defaults(func=run, config_fields=add_config_flags(p, PropertyTrainConfig, notes=NOTES))
    return p


def run(args: argparse.Namespace) -> int:
    """Train (or cross-validate) and print the validation errors; returns the exit code."""
    import json

    from ..train.property_api import cross_validate_property, train_property
    from ..train.property_config import PropertyTrainConfig
    from ..yaml_config import config_from_cli
    from .config_flags import config_overrides

    config = config_from_cli(PropertyTrainConfig, args.config, config_overrides(args, args.config_fields))
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
