"""``mlmat models``: the registered architectures and the shipped models."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``models`` subcommand; returns its parser."""
    p = subparsers.add_parser("models", help="list architectures and shipped models")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the architectures and shipped models; returns the exit code."""
    from ..model_store import shipped
    from ..models import available

    print("architectures:", ", ".join(available()))
    print("shipped models:", ", ".join(shipped()))
    return 0
