"""``mlmat plugins``: the installed property predictors and subcommands, with their versions."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``plugins`` subcommand; returns its parser."""
    p = subparsers.add_parser("plugins", help="list installed property predictors and plugin subcommands")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print one line per predictor and per plugin subcommand; returns the exit code."""
    from ..cli import plugin_commands
    from ..properties import available

    predictors = available()
    if not predictors:
        print("no property plugins installed")
    for name, version in predictors.items():
        print(f"{name:20s} {version}")
    for name, ep in plugin_commands().items():
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "?"
        print(f"{'mlmat ' + name:20s} {dist} (subcommand)")
    return 0
