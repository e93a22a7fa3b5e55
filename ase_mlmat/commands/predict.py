"""``mlmat predict``: run a property predictor on structure files, one result or failure per structure."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``predict`` subcommand; returns its parser."""
    p = subparsers.add_parser("predict", help="run a property predictor on structure files")
    p.add_argument("name", help="predictor name (see mlmat plugins)")
    p.add_argument("structures", nargs="+", help="structure files: any ase.io format, several files or an ase.db")
    p.add_argument("--calc", help="shipped model name, checkpoint path, or module:Class (e.g. ase.calculators.emt:EMT)")
    p.add_argument("--option", action="append", help="predictor option KEY=VALUE (repeatable)")
    p.add_argument("--output", help="results file, .json (default) or .csv")
    p.add_argument("--db", help="also append rows to this ase.db (file or URL)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Predict for every structure; a file that cannot be read is a failure row, like a structure that fails.

    Prints one line per structure (and the result's ``details()`` where it has them), writes every row,
    failures included, and returns 1 only if nothing succeeded.
    """
    import dataclasses
    import textwrap

    from ase import Atoms

    from ..data import read_structures
    from ..properties import PredictionFailure, calculator_from_spec, get_predictor
    from ..properties.output import write_csv, write_db, write_json
    from ..yaml_config import parse_key_value_options, typed_builder_options

    cls = get_predictor(args.name)
    predictor = cls(**typed_builder_options(cls, parse_key_value_options(args.option), f"{args.name} predictor"))
    calculator = calculator_from_spec(args.calc) if args.calc else None

    structures, sources, results = [], [], []  # one entry per output row; results[i] None until predicted
    for path in args.structures:
        try:
            frames = read_structures(path)
        except Exception as err:  # one unreadable file is one failure row; the others still run
            structures.append(Atoms())  # no structure: the row's formula is empty
            sources.append(path)
            results.append(PredictionFailure(len(results), path, type(err).__name__, str(err)))
            continue
        for k, atoms in enumerate(frames):
            atoms.calc = None
            structures.append(atoms)
            sources.append(f"{path}@{k}" if len(frames) > 1 else path)
            results.append(None)
    todo = [i for i, result in enumerate(results) if result is None]
    predicted = predictor.predict_many([structures[i] for i in todo], calculator, progress=not args.no_progress)
    for i, result in zip(todo, predicted):
        results[i] = dataclasses.replace(result, index=i) if isinstance(result, PredictionFailure) else result

    failed = 0
    for atoms, result, source in zip(structures, results, sources):
        where = f"{source} ({atoms.get_chemical_formula()})" if len(atoms) else source
        if isinstance(result, PredictionFailure):
            failed += 1
            print(f"{where}: FAILED {result.error_type}: {result.message}")
            continue
        summary = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.as_row().items())
        print(f"{where}: {summary}")
        if hasattr(result, "details"):
            print(textwrap.indent(str(result.details()).rstrip("\n"), "    "))
    output = args.output or f"{args.name}_results.json"
    (write_csv if output.endswith(".csv") else write_json)(output, structures, results, sources)
    print(f"results written to {output} ({len(results) - failed} succeeded, {failed} failed)")
    if args.db:
        write_db(args.db, structures, results, sources, args.name)
        print(f"rows appended to {args.db}")
    return 1 if failed == len(results) else 0
