"""Build a glass-mobility model file: per timescale, members validated leave-one-configuration-out and
averaged with weights fitted on their out-of-fold predictions (``scripts/build_glass_ensemble.py`` runs it).

Members: a ridge model on the node descriptors (penalty chosen by leave-one-configuration-out CV) and
any number of graph networks (``--network WIDTH:STEPS:EPOCHS``; 0 steps is a per-particle MLP on the
descriptors). For every timescale of the data the report gives each member's, the equal-weight ensemble's
and the validated ensemble's leave-one-configuration-out Pearson on A particles.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .inherent import inherent_structure
from .model_io import save_model
from .storage import GlassSample, load_sample
from .timescales import DEFAULT_TARGET, TARGETS, PropensityTimescales, timescale_labels
from .training import TrainingItem, fit_linear, prepare, target_scale, train_network, with_time
from .validation import MemberFit, choose_ridge, validated_ensemble

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "glass_ka_T0.44"
BOTAN_PATTERN = "isoconfig_N4096T0.44_{i}_tc07.npz"


def numbers(spec: str) -> list[int]:
    """``"1-8"`` → [1, …, 8]; ``"1,3,5-6"`` → [1, 3, 5, 6]."""
    out = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        out += list(range(int(low), int(high or low) + 1))
    return out


def network_member(spec: str, seed: int) -> tuple[str, MemberFit]:
    """``"WIDTH:STEPS:EPOCHS"`` (optionally ``:linear`` for a ridge readout plus a network correction)."""
    parts = spec.split(":")
    width, steps, epochs = (int(p) for p in parts[:3])
    linear = parts[3:] == ["linear"]

    def fit(items):
        model, _ = train_network(
            items, width=width, n_steps=steps, epochs=epochs, seed=seed, log=None, linear_readout=linear
        )
        return model

    kind = "mlp" if steps == 0 else "network"
    return f"{kind}_{spec}_seed{seed}", fit


def load_items(
    files: list[Path], *, descriptors: str, graph_positions: str, target: str, inherent_cache: Path | None
) -> list[TrainingItem]:
    """Prepared items of ``files`` (inherent structures read from / written to ``inherent_cache`` if given)."""
    samples: list[GlassSample] = [load_sample(f) for f in files]
    inherent = None
    if inherent_cache is not None:
        inherent_cache.mkdir(parents=True, exist_ok=True)
        inherent = []
        for f, s in zip(files, samples):
            cached = inherent_cache / f"{f.stem}.inherent.npy"
            if not cached.is_file():
                np.save(cached, inherent_structure(s.initial_positions, s.types, s.box))
            inherent.append(np.load(cached))
    return prepare(samples, descriptors=descriptors, graph_positions=graph_positions, target=target, inherent=inherent)


def build(args: argparse.Namespace) -> dict:
    """Validate, fit and save the model ``args`` describe; returns the report written beside it."""
    torch.set_num_threads(1)
    files = [args.data / args.pattern.format(i=i) for i in numbers(args.configs)]
    start = time.perf_counter()
    items = load_items(
        files,
        descriptors=args.descriptors,
        graph_positions=args.graph_positions,
        target=args.target,
        inherent_cache=args.inherent_cache,
    )
    input_minutes = (time.perf_counter() - start) / 60
    sample = items[0].sample
    time_indices = list(range(len(sample.times))) if args.times is None else numbers(args.times)
    labels = timescale_labels(sample.times, sample.source)
    models, means, stds, per_time = [], [], [], {}
    for index in time_indices:
        label = labels[index]
        print(f"timescale {label!r} (index {index}), target {args.target}")
        at_time = with_time(items, index, args.target)
        ridge, ridge_cv = choose_ridge(at_time, [float(r) for r in args.ridges.split(",")])
        print(f"  ridge penalty {ridge:g} (leave-one-configuration-out: {ridge_cv})")
        fits: dict[str, MemberFit] = {}
        if not args.no_ridge:
            fits[f"ridge_{ridge:g}"] = lambda train, r=ridge: fit_linear(train, ridge=r)
        folds = {}
        for seed, spec in enumerate(args.network):
            name, fit = network_member(spec, seed)
            fits[name] = fit
            if args.network_folds:
                folds[name] = args.network_folds
        t0 = time.perf_counter()
        ensemble, report = validated_ensemble(fits, at_time, n_folds=folds, log=print)
        report["ridge_cv"] = ridge_cv
        report["minutes"] = (time.perf_counter() - t0) / 60
        for name in [*fits, "equal_weights", "validated", "validated_fitted"]:
            print(f"  {name:32s} mean {report[name]['mean']:.3f}  {np.round(report[name]['per_configuration'], 3)}")
        print(f"  weights {report['weights']}")
        mean, std = target_scale(at_time)
        models.append(ensemble)
        means.append(mean)
        stds.append(std)
        per_time[label] = report
    times = [float(sample.times[i]) for i in time_indices]
    container = PropensityTimescales(
        models,
        times=times,
        labels=[labels[i] for i in time_indices],
        target=args.target,
        target_mean=means,
        target_std=stds,
    )
    fs = np.array([it.sample.fs_a for it in items])  # [n_configs, n_times]
    card = {
        "name": args.out.stem,
        "system": "Kob–Andersen 80:20 LJ, rho = 1.2 (truncated and shifted at 2.5 sigma_ab)",
        "temperature": float(sample.temperature),
        "n_train_configurations": len(items),
        "train_configurations": numbers(args.configs),
        "train_files": [f.name for f in files],
        "isoconfigurational_runs": int(sample.n_runs),
        "target": args.target,
        "target_definition": f"{TARGETS[args.target][0]}, A particles, in {TARGETS[args.target][1]} (sigma_AA units)",
        "timescales": {
            labels[i]: {"time_tau": float(sample.times[i]), "fs_a_train_mean": float(fs[:, i].mean())}
            for i in time_indices
        },
        "fs_a_train_mean": float(fs[:, time_indices[-1]].mean()),
        "fs_a_train_range": [float(fs[:, time_indices[-1]].min()), float(fs[:, time_indices[-1]].max())],
        "architecture": dict(container.config),
        "propensity_mean_sigma": means[-1],
        "propensity_std_sigma": stds[-1],
        "leave_one_configuration_out": per_time,
        "input_minutes_per_configuration": input_minutes / len(items),
        "command": args.command,
    }
    one = len(models) == 1
    save_model(
        container,
        args.out,
        target_mean=means[0] if one else float("nan"),
        target_std=stds[0] if one else float("nan"),
        card=card,
    )
    report_path = args.report or args.out.with_suffix(".json")
    report_path.write_text(json.dumps(card, indent=1))
    print(f"wrote {args.out} and {report_path}")
    return card


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=SHARED, help="folder of the configurations")
    p.add_argument("--pattern", default=BOTAN_PATTERN, help="file name of configuration {i}")
    p.add_argument("--configs", default="1-10", help="configuration numbers, e.g. 1-10 or 1-8")
    p.add_argument(
        "--target",
        choices=sorted(TARGETS),
        default=DEFAULT_TARGET,
        help="mean |dr| (sigma, default) or mean |dr|^2 (sigma^2) over the iso-configurational runs",
    )
    p.add_argument("--times", default=None, help="time indices of the data to model (default: all)")
    p.add_argument("--descriptors", default="inherent_radial_cg_bo")
    p.add_argument("--graph-positions", choices=["thermal", "inherent"], default="inherent")
    p.add_argument("--ridges", default="0.003,0.01,0.03,0.1", help="ridge penalties tried")
    p.add_argument("--no-ridge", action="store_true", help="networks only")
    p.add_argument(
        "--network",
        action="append",
        default=[],
        metavar="WIDTH:STEPS:EPOCHS[:linear]",
        help="add a graph-network member (repeatable; seeds 0, 1, … in order; STEPS 0 = per-particle MLP)",
    )
    p.add_argument(
        "--network-folds",
        type=int,
        default=None,
        help="out-of-fold predictions of the networks from this many folds of consecutive configurations "
        "(default: leave one configuration out, as for the ridge model)",
    )
    p.add_argument("--inherent-cache", type=Path, default=None, help="folder caching inherent structures")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--report", type=Path, default=None, help="JSON report (default: beside --out)")
    return p


def main(argv: list[str] | None = None) -> dict:
    import sys

    args = parser().parse_args(argv)
    args.command = " ".join(["scripts/build_glass_ensemble.py", *(sys.argv[1:] if argv is None else argv)])
    return build(args)
