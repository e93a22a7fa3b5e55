"""``mlmat export``: write a potential as a self-contained file for LAMMPS or any libtorch program."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``export`` subcommand; returns its parser."""
    p = subparsers.add_parser(
        "export",
        help="write a potential as a self-contained compiled file (runs without ase_mlmat)",
        description="Write MODEL (checkpoint or shipped name; a committee as its mean) to OUT: energy, forces, "
        "virial and per-atom virial for a caller-built neighbour list (docs/export.md).",
    )
    p.add_argument("model", metavar="MODEL", help="checkpoint path or shipped model name, e.g. mlearn-Cu")
    p.add_argument("out", metavar="OUT", help="file to write (.pt2 for aoti, .pt for torchscript and metatomic)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="default: float64")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N], where the file runs (default: cpu)")
    p.add_argument(
        "--format",
        choices=("aoti", "torchscript", "metatomic"),
        default="aoti",
        help="aoti: compiled, fastest, needs a C++ compiler to export and a matching torch to load; "
        "torchscript: portable, exports in seconds; metatomic: for engines that read metatomic models, needs "
        "metatomic-torch (default: aoti)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Export and print a one-line summary; returns the exit code."""
    from ..export import ExportError, export_model, load_exported

    try:
        path = export_model(args.model, args.out, dtype=args.dtype, device=args.device, file_format=args.format)
    except ExportError as err:
        print(f"mlmat export: error: {err}", file=sys.stderr)
        return 2
    if args.format == "metatomic":
        from ..export.metatomic import read_metatomic_metadata

        meta = read_metatomic_metadata(path)
    else:
        meta = load_exported(path).metadata
    print(
        f"wrote {path} ({meta['file_format']}, {meta['dtype']}, {meta['device']}): elements {meta['elements']}, "
        f"cutoff {meta['cutoff']} Å, {meta['num_interactions']} interactions, "
        f"source sha256 {meta['source_sha256'][:12]}…"
    )
    return 0
