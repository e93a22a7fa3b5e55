"""``mlmat evolve``: evolutionary structure search over a binary composition range, fitness from the fast tier."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``evolve`` subcommand; returns its parser."""
    p = subparsers.add_parser(
        "evolve",
        help="evolutionary structure search (heredity, mutation, permutation) for hard, synthesisable binaries",
        description="Breed cells of two elements (USPEX-style heredity, lattice mutation, permutation) towards "
        "high Vickers hardness from the ML moduli, penalised where the synthesizability score is low; every "
        "structure in an ase.db with its generation, operator and parents (rerun: resumed).",
    )
    p.add_argument("elements", nargs=2, help="the two elements, e.g. B N")
    p.add_argument("--db", required=True, help="ase.db file the structures are written to")
    p.add_argument(
        "--composition", type=float, nargs=2, default=(0.2, 0.8), help="range of the first element's fraction"
    )
    p.add_argument("--max-atoms", type=int, default=8, help="atoms per cell at most")
    p.add_argument("--population", type=int, default=24)
    p.add_argument("--generations", type=int, default=10)
    p.add_argument("--elite", type=int, default=4, help="best structures carried over unchanged")
    p.add_argument(
        "--penalty", type=float, default=40.0, help="GPa of fitness lost per unit of synthesizability below 0.5"
    )
    p.add_argument("--seeds", help="pymatgen JSON list of binary prototypes to seed generation 0 (e.g. the MP file)")
    p.add_argument("--model", default="mp-binary-kg", help="structure→moduli network of the fast tier")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run or resume the search; print each generation's best and a JSON summary. Returns the exit code."""
    import dataclasses
    import json

    from ..workflows.design.evolve import EvolveConfig, evolve, seeds_from_prototypes

    try:
        config = EvolveConfig(
            elements=tuple(args.elements),
            composition=tuple(args.composition),
            max_atoms=args.max_atoms,
            population=args.population,
            generations=args.generations,
            elite=args.elite,
            penalty_GPa=args.penalty,
            seed=args.seed,
        )
    except ValueError as err:
        raise SystemExit(f"mlmat evolve: {err}") from None
    seeds = []
    if args.seeds:
        from ..data.pymatgen_json import read_pymatgen_json

        seeds = seeds_from_prototypes(read_pymatgen_json(args.seeds), config)
    summary = evolve(config, args.db, model=args.model, seeds=seeds, progress=True)
    print(json.dumps(dataclasses.asdict(summary)))
    return 0
