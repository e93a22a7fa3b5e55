"""``mlmat generate``: new candidate structures by element substitution into known prototypes."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``generate`` subcommand; returns its parser."""
    p = subparsers.add_parser(
        "generate",
        help="new candidate structures by element substitution into known prototypes",
        description="Substitute elements into the binary prototypes of PROTOTYPES (a pymatgen JSON list, e.g. the "
        "Materials Project file) with the ICSD-mined substitution probabilities of Hautier et al., keep the "
        "charge-balanced ones where the prototype is, drop duplicates and known structures, relax those a shipped "
        "potential covers, and write them with their provenance to an ase.db (rerun: resumed).",
    )
    p.add_argument("prototypes", help="pymatgen JSON list (.json or .json.gz) of binary structures")
    p.add_argument("--db", required=True, help="ase.db file (or URL) the candidates are written to")
    p.add_argument("--threshold", type=float, default=1e-3, help="smallest p(A'|A) p(B'|B) kept (default 1e-3)")
    p.add_argument("--max-candidates", type=int, help="keep only the most probable N")
    p.add_argument("--elements", nargs="+", help="elements substituted in (default: those of the prototypes)")
    p.add_argument("--no-relax", action="store_true", help="write every candidate as generated")
    p.add_argument("--fmax", type=float, default=0.05, help="relaxation force tolerance, eV/Å")
    p.add_argument("--max-steps", type=int, default=200, help="FIRE steps at most per relaxation batch")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Generate and write the candidates; print a one-line JSON summary. Returns the exit code."""
    import dataclasses
    import json

    from ..workflows.design.generate import generate

    if not 0 < args.threshold < 1:
        raise SystemExit(f"mlmat generate: --threshold is a probability in (0, 1), got {args.threshold}")
    summary = generate(
        args.prototypes,
        args.db,
        threshold=args.threshold,
        max_candidates=args.max_candidates,
        elements=args.elements,
        relax=not args.no_relax,
        fmax_eV_per_A=args.fmax,
        max_steps=args.max_steps,
        progress=True,
    )
    print(json.dumps(dataclasses.asdict(summary)))
    return 0
