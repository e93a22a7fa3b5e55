"""``mlmat distill STRUCTURES... --teacher chgnet --out DIR``: a universal potential distilled into a fast one.

See :mod:`ase_mlmat.workflows.distill` for what it does and docs/distill.md for the model card. Rerunning the same
command continues the run in DIR (a larger ``--budget`` buys more labels).
"""

from __future__ import annotations

import argparse


def _floats(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``distill`` subcommand; returns its parser."""
    p = subparsers.add_parser(
        "distill", help="distil a universal potential (CHGNet, SevenNet, any ASE calculator) into a fast one"
    )
    p.add_argument("structures", nargs="+", help="structure files (FILE or FILE@INDEX) of the chemistry to learn")
    p.add_argument("--teacher", required=True, help='"chgnet", "sevenn", "module:Class" or a checkpoint')
    p.add_argument("--out", required=True, help="directory of the run (potential.pt, card.json, parity.png, ...)")
    p.add_argument("--budget", type=int, help="teacher calls of the active learning (default 100)")
    p.add_argument(
        "--temperatures",
        type=_floats,
        dest="temperatures_K",
        metavar="T1,T2",
        help="MD temperatures, K (default 300,900)",
    )
    p.add_argument("--strain", type=float, help="normal and shear strain of the strained cells (default 0.01)")
    p.add_argument(
        "--compressions",
        type=_floats,
        metavar="V1,V2",
        help="volume fractions of compressed copies labelled first, e.g. 0.85,0.7 (default none)",
    )
    p.add_argument("--min-atoms", type=int, help="atoms of the supercell, at least (default 32)")
    p.add_argument("--test-frames", type=int, help="independent frames labelled by the teacher (default 12)")
    p.add_argument("--refit-epochs", type=int, help="epochs of the final refit (default 200)")
    p.add_argument("--refit-minutes", type=float, help="time budget of the final refit, minutes (default 10)")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="cpu or cuda (default cpu)")
    p.add_argument(
        "--config", help="YAML file with DistillConfig keys; its 'active' and 'refit' sections tune the loop and refit"
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run or continue the distillation; prints progress and where the card is."""
    import os
    import sys
    from pathlib import Path

    from ..active.loop import ActiveLearningError
    from ..workflows.distill import config_from_options, distill
    from ..workflows.structures import load_structure
    from ..yaml_config import read_mapping

    options = dict(read_mapping(args.config, "a distillation")) if args.config else {}
    flags = {
        name: getattr(args, name)
        for name in ("budget", "temperatures_K", "strain", "compressions", "min_atoms", "test_frames", "seed", "device")
    }
    options.update({k: v for k, v in flags.items() if v is not None})
    refit = dict(options.get("refit") or {})
    if args.refit_epochs is not None:
        refit["epochs"] = args.refit_epochs
    if args.refit_minutes is not None:
        refit["max_minutes"] = args.refit_minutes
    options["refit"] = refit
    # a reference module of one's own ("my_dft:MyCalc") is found in the working directory or beside the config
    active = options["active"] = dict(options.get("active") or {})
    where = [os.getcwd(), *([str(Path(args.config).resolve().parent)] if args.config else [])]
    active["reference_dirs"] = [*active.get("reference_dirs", []), *where]
    config = config_from_options(args.teacher, args.out, options)
    structures = [load_structure(spec, "") for spec in args.structures]
    try:
        result = distill(structures, config)
    except ActiveLearningError as err:  # e.g. a rerun whose options contradict the stored run
        print(f"mlmat distill: stopped: {err}", file=sys.stderr)
        return 1
    errors = result.card["independent"]
    print(
        f"distilled {result.potential}: {result.card['labels']} labels, {result.card['teacher_calls']} teacher calls; "
        f"on {errors['frames']} independent frames: energy MAE {errors['energy_mae_meV_per_atom']:.2f} meV/atom, "
        f"force MAE {errors.get('forces_mae_eV_per_A', float('nan')):.4f} eV/Å, "
        f"stress MAE {errors.get('stress_mae_GPa', float('nan')):.3f} GPa; card {result.card_path}"
    )
    return 0
