"""``mlmat train CONFIG``: train a potential or a property model, or k-fold cross-validate one.

The config's ``targets`` decide the kind (:mod:`ase_mlmat.train.config`); flags are TrainConfig's fields. A config
with ``kind: NAME`` is a plugin's model kind that trains itself (``kind: glass``: a glass network, keys in
``mlmat_glass.train_config``).

    mlmat train configs/mlearn-Si.yaml
    mlmat train configs/mp-binary-kg.yaml --kfold 5 --group-by formula --report cv.json
    torchrun --nproc-per-node 4 $(which mlmat) train configs/mlearn-Si.yaml   # 4 processes, one model
"""

from __future__ import annotations

import argparse

NOTES = {
    "data": "labelled structures (extxyz, ase.db, any ase.io format; FILE@INDEX or DB@SELECTION picks some; "
    "an mlmat learn database gives its labels), or for a property model one pymatgen JSON list with moduli",
    "targets": "per-structure targets of a property model (e.g. log10_K_VRH_GPa log10_G_VRH_GPa); "
    "without them the model is a potential",
    "energy_weight": "loss weight of MSE(ΔE/N), (eV/atom)^-2 (default 100); shorthand of losses.energy_per_atom",
    "forces_weight": "loss weight of MSE(ΔF), (eV/Å)^-2 (default 1); shorthand of losses.forces",
    "stress_weight": "loss weight of MSE(Δσ), (eV/Å³)^-2 (default 100); shorthand of losses.stress",
    "max_minutes": "time budget of each model trained (wall clock unless --budget-clock cpu)",
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand; returns its parser."""
    from ..train.config import TrainConfig  # imported only when `mlmat train` runs: its flags are its fields
    from .config_flags import add_config_flags

    p = subparsers.add_parser(
        "train",
        help="train a potential or a property model (or k-fold cross-validate)",
        description="Train a potential, or with `targets` in the config a property model (an ensemble of "
        "`ensemble_size` seeds). Settings come from the YAML file CONFIG (keys are TrainConfig fields) and the "
        "flags below, which override the file; the model's options and the loss terms (`losses`) are set in the file.",
    )
    p.add_argument("config_file", nargs="?", metavar="CONFIG", help="YAML file; keys are TrainConfig fields")
    p.add_argument("--config", help="the YAML file, as a flag (the same as CONFIG)")
    p.add_argument("--kfold", type=int, help="k-fold cross-validation instead of one training run")
    p.add_argument("--folds", type=int, nargs="+", metavar="N", help="run only these folds (0-based; property models)")
    p.add_argument("--report", help="JSON file for the k-fold report")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run whose training state is beside the output (<output stem>.state.pt; written every "
        "--checkpoint-every epochs and on Ctrl-C); the model, data and split settings must be the same",
    )
    p.set_defaults(func=run, config_fields=add_config_flags(p, TrainConfig, notes=NOTES))
    return p


def run(args: argparse.Namespace) -> int:
    """Train (or cross-validate) and print the validation metrics; returns the exit code."""
    import sys

    from ..train import TrainConfig, distributed, train
    from ..train.trainer import TrainingInterrupted, state_path
    from ..yaml_config import config_from_cli, read_mapping
    from .config_flags import config_overrides

    _config_after_list_flag(args)
    if args.config_file and args.config and args.config_file != args.config:
        raise ValueError(f"two config files given: {args.config_file} and --config {args.config}; give one")
    if (args.config_file or args.config) and "kind" in read_mapping(args.config_file or args.config, "training"):
        return _train_plugin_kind(args)
    config = config_from_cli(TrainConfig, args.config_file or args.config, config_overrides(args, args.config_fields))
    if not config.data:
        raise ValueError("give training data with --data or in the config")
    if args.kfold and args.resume:
        raise ValueError("--resume continues one training run; k-fold runs keep no training state")
    if args.folds and not args.kfold:
        raise ValueError("--folds picks folds of a k-fold run; give --kfold K")
    try:
        if args.kfold:
            return _kfold(config, args.kfold, args.folds, args.report)
        result = train(config, resume=args.resume)
    except TrainingInterrupted as stop:
        if not distributed.is_main():  # under torchrun, rank 0 says what it saved
            pass
        elif args.kfold:
            print(f"mlmat train: {stop}", file=sys.stderr)
        else:
            history = stop.result.history
            print(
                f"mlmat train: interrupted by {stop.signal_name} after epoch {max(history.epoch, default=0)}: "
                f"saved the best model so far (epoch {history.best_epoch}) to {config.output} and the "
                f"training state to {state_path(config.output)}; to continue, run the same command with --resume",
                file=sys.stderr,
            )
        return stop.exit_code
    except FloatingPointError as err:  # a diverged run: one line, as for a bad value
        print(f"mlmat train: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before the trainer caught the signal, or a second Ctrl-C that stops at once
        state = state_path(config.output)
        kept = f"; the last periodic training state is {state} (--resume)" if state.exists() and not args.kfold else ""
        print(f"mlmat train: interrupted before a model was saved{kept}", file=sys.stderr)
        return 130
    finally:
        distributed.shutdown()  # under torchrun: leave the process group
    if not distributed.is_main():  # rank 0 reports for all processes
        return 0
    best = ", ".join(str(h.best_epoch) for h in result.histories)
    seconds = sum(h.seconds for h in result.histories)
    what = f"ensemble of {len(result.histories)}, " if config.kind == "property" else ""
    print(f"saved {config.output} ({what}best epoch {best}, {seconds:.0f} s)")
    for name, value in result.val_metrics.items():
        print(f"validation {name:28s} {value:.4g}")
    return 0


def _train_plugin_kind(args: argparse.Namespace) -> int:
    """A config with ``kind:`` names a plugin's model kind that trains itself from the file's other keys."""
    import sys

    from ..model_store import kinds
    from ..train.trainer import TrainingInterrupted
    from ..yaml_config import ConfigError, read_mapping
    from .config_flags import config_overrides

    mapping = read_mapping(args.config_file or args.config, "training")
    name = mapping.pop("kind")
    trainable = sorted(k.name for k in kinds().values() if k.train is not None)
    kind = kinds().get(name)
    if kind is None or kind.train is None:
        raise ConfigError(f"kind {name!r} cannot be trained by mlmat train; trainable kinds: {trainable}")
    flags = sorted(config_overrides(args, args.config_fields))
    if flags or args.kfold or args.folds or args.report:
        given = flags + [f for f in ("kfold", "folds", "report") if getattr(args, f)]
        raise ConfigError(f"a {name} config takes its settings from the file; these flags do not apply: {given}")
    try:
        summary = kind.train(mapping, args.resume)
    except TrainingInterrupted as stop:  # the kind saved the best model so far and the training state
        print(f"mlmat train: {stop}; to continue, run the same command with --resume", file=sys.stderr)
        return stop.exit_code
    print(f"saved {summary.pop('output')}")
    for key, value in summary.items():
        print(f"{key:28s} {value:.4g}" if isinstance(value, float) else f"{key:28s} {value}")
    return 0


def _config_after_list_flag(args: argparse.Namespace) -> None:
    """Take CONFIG back from a list flag that swallowed it: in ``mlmat train --data a.extxyz b.extxyz cfg.yaml``
    argparse hands ``cfg.yaml`` to ``--data``. A YAML file at the end of a list flag is the config file."""
    if args.config_file or args.config:
        return
    for name in args.config_fields:
        values = getattr(args, name)
        if isinstance(values, list) and len(values) > 1 and str(values[-1]).endswith((".yaml", ".yml")):
            args.config_file = values.pop()
            return


def _kfold(config, k: int, folds: list[int] | None, report_path: str | None) -> int:
    """Cross-validate and print the summary; the report (with each fold's best epoch) to ``report_path``."""
    import json

    from ..train import cross_validate

    report = cross_validate(config, k, folds=folds)
    if config.kind == "property":
        for name, mae in report["summary"]["mae_ensemble"].items():
            print(f"{k}-fold CV MAE {name:24s} {mae:.4f}")
        dropped = report["dropped_non_positive"]
        print(f"structures {report['num_structures']} (dropped with non-positive moduli: {dropped})")
    else:
        for name, stat in report["summary"].items():
            print(f"{name:28s} {stat['mean']:.4g} ± {stat['std']:.2g}")
    if report_path:
        with open(report_path, "w") as handle:
            json.dump(report, handle, indent=1)
    return 0
