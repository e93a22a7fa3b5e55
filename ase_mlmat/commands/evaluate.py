"""``mlmat eval``: errors of a potential on labelled data, or of a property model on a pymatgen JSON list."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``eval`` subcommand; returns its parser."""
    p = subparsers.add_parser("eval", help="errors of a potential or a property model on labelled data")
    p.add_argument("model", help="checkpoint path or shipped model name")
    p.add_argument("data", nargs="+")
    p.add_argument("--json", action="store_true", help="also print the metrics as one JSON line")
    p.add_argument(
        "--swap-stress-yz-xz",
        nargs="+",
        metavar="CONFIG_TYPE",
        help="exchange σ_yz and σ_xz labels of these config_types ('*': all); ase_mlmat.data.corrections",
    )
    for quantity in ("energy", "forces", "stress"):
        p.add_argument(
            f"--{quantity}-key",
            default=quantity,
            help=f"label key of the {quantity} in the data (e.g. REF_{quantity}); default {quantity!r}",
        )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print energy, force and stress errors; returns the exit code."""
    import json

    from ..train import evaluate

    metrics = evaluate(
        args.model,
        args.data,
        swap_stress_yz_xz=args.swap_stress_yz_xz or (),
        energy_key=args.energy_key,
        forces_key=args.forces_key,
        stress_key=args.stress_key,
    )
    print(f"structures               {metrics['num_structures']}")
    for name, value in metrics.items():  # a property model: the MAE of each target, in its units
        if name.startswith("mae_"):
            print(f"MAE {name.removeprefix('mae_'):20s} {value:.4f}")
    if "energy_mae_meV_per_atom" in metrics:
        print(f"energy MAE               {metrics['energy_mae_meV_per_atom']:.3f} meV/atom")
    if "forces_mae_eV_per_A" in metrics:
        print(f"force MAE                {metrics['forces_mae_eV_per_A']:.4f} eV/Å")
    if "stress_mae_GPa" in metrics:
        print(f"stress MAE               {metrics['stress_mae_GPa']:.3f} GPa")
    if args.json:
        print(json.dumps(metrics))
    return 0
