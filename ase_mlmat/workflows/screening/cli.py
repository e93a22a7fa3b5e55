"""``mlmat screen``: fast ML tier for every structure, then the elastic and QHA tiers for the best.

mlmat screen structures/ more.extxyz mp.json.gz --db screen.db --ashby ashby.png
mlmat screen cands.db --db screen.db --workers 4 --calc mlearn-Si --top-elastic 20 --top-qha 3
mlmat screen cands.db --db screen.db --calc auto --top-elastic 20 --top-qha 3
mlmat screen cands.db --db screen.db --calc chgnet --top-relax 50 --top-elastic 5 --min-synthesizability 0.5
"""

from __future__ import annotations

import argparse

from ...yaml_config import parse_key_value_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``screen`` subcommand; returns its parser."""
    p = subparsers.add_parser("screen", help="screen many structures: ML moduli, hardness, toughness, expansion")
    p.add_argument("inputs", nargs="+", help="structure files, folders, ase.db files or pymatgen JSON lists")
    p.add_argument("--db", default="screen.db", help="ase.db file or URL for the rows (resumed if it exists)")
    p.add_argument("--model", default="mp-binary-kg", help="shipped property model or checkpoint path")
    p.add_argument("--batch-size", type=int, default=256, help="structures per batch (and per Dask task)")
    p.add_argument("--device", default="cpu", help="where the ML model runs: cpu, auto, cuda or cuda:N")
    p.add_argument("--workers", type=int, help="run on a local Dask cluster with N worker processes")
    p.add_argument("--scheduler", help="run on the Dask cluster at this scheduler address")
    p.add_argument("--ashby", help="write the Ashby diagram (H_v against K_IC) to this image file")
    p.add_argument("--ashby-colour", help="column that colours the Ashby diagram's points (synthesizability_score)")
    p.add_argument(
        "--top-table",
        action="append",
        help="write the top candidates (--top rows by hardness, best tier's values, provenance, tiers passed) to "
        "this .csv or .html file (repeatable)",
    )
    p.add_argument("--top", type=int, default=10, help="rows of --top-table")
    p.add_argument(
        "--top-passed",
        choices=("relaxed", "elastic", "qha"),
        help="--top-table keeps only rows that passed this tier (relaxed, confirmed by the elastic tensor or by QHA)",
    )
    p.add_argument(
        "--min-synthesizability",
        type=float,
        help="promote to the slow tiers, and keep in --top-table, only rows with synthesizability_score at least this",
    )
    p.add_argument(
        "--calc",
        help="calculator for the elastic and QHA tiers: shipped model, checkpoint, module:Class, chgnet, sevenn, "
        "or auto: per structure, the shipped potential that covers its elements (distilled-B-N for BN ...)",
    )
    p.add_argument(
        "--distil",
        action="store_true",
        help="with --calc auto: distil a potential (by active learning from --teacher) for a promoted structure "
        "no shipped potential covers, into DB-distilled/distilled-<elements> (resumed on a rerun)",
    )
    p.add_argument("--teacher", default="chgnet", help="teacher of --distil: chgnet, sevenn, module:Class")
    p.add_argument("--distil-config", help="YAML file of mlmat distill's keys for --distil (budget, active, refit)")
    p.add_argument(
        "--top-relax",
        type=int,
        default=0,
        help="relax the top R with --calc and run the fast tier again on them; --top-elastic then takes the best "
        "relaxed rows",
    )
    p.add_argument(
        "--relax-option",
        action="append",
        help="relaxation option KEY=VALUE: fmax_eV_per_A, max_steps, max_seconds (repeatable)",
    )
    p.add_argument("--top-elastic", type=int, default=0, help="promote the top N to the elastic-tensor tier")
    p.add_argument("--top-qha", type=int, default=0, help="promote the top M (of those) to the QHA tier")
    p.add_argument("--rank-by", default="vickers_hardness_GPa", help="fast-tier column to rank by (largest first)")
    p.add_argument("--ascending", action="store_true", help="rank smallest first")
    p.add_argument("--elastic-option", action="append", help="elastic predictor option KEY=VALUE (repeatable)")
    p.add_argument("--qha-option", action="append", help="QHA option KEY=VALUE (repeatable)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_cli)
    return p


def _client(args: argparse.Namespace):
    from ...dask_client import dask_client

    return dask_client(args.workers, args.scheduler)


def _distil_root(db: str) -> str:
    """Folder of --distil's runs beside the database file (in the working directory for a database URL)."""
    from pathlib import Path

    if "://" in db:
        return "screen-distilled"
    path = Path(db)
    return str(path.with_name(path.stem + "-distilled"))


def run_cli(args: argparse.Namespace) -> int:
    from . import ashby_from_db, connect, promote, screen

    client = _client(args)
    try:
        summary = screen(
            args.inputs,
            args.db,
            model=args.model,
            batch_size=args.batch_size,
            client=client,
            progress=not args.no_progress,
            device=args.device,
        )
    finally:
        if client is not None:
            client.close()
    print(
        f"{summary.found} structures: {summary.skipped} already in {args.db}, {summary.screened} screened "
        f"({summary.failed} flagged) in {summary.seconds:.1f} s = {summary.structures_per_hour:.0f} structures/hour"
    )
    db = connect(args.db)
    floor = {} if args.min_synthesizability is None else {"synthesizability_score": args.min_synthesizability}
    if args.top_relax or args.top_elastic or args.top_qha:
        from ...properties import calculator_from_spec
        from .auto_calculator import AUTO, AutoCalculator

        if args.distil and args.calc != AUTO:
            raise SystemExit("--distil needs --calc auto")
        if args.calc == AUTO:
            distil = None
            if args.distil:
                from ...yaml_config import read_mapping
                from .auto_calculator import DistilOnDemand

                options = dict(read_mapping(args.distil_config, "a distillation")) if args.distil_config else {}
                distil = DistilOnDemand(_distil_root(args.db), args.teacher, options)
            calculator = AutoCalculator(device=args.device if args.device != "auto" else "cpu", distil=distil)
        else:
            calculator = calculator_from_spec(args.calc) if args.calc else None
        result = promote(
            db,
            calculator,
            top_elastic=args.top_elastic,
            top_qha=args.top_qha,
            top_relax=args.top_relax,
            relax_options=parse_key_value_options(args.relax_option),
            model=args.model,
            rank_by=args.rank_by,
            descending=not args.ascending,
            elastic_options=parse_key_value_options(args.elastic_option),
            qha_options=parse_key_value_options(args.qha_option),
            progress=not args.no_progress,
            calculator_name=args.calc,
            min_score=floor,
        )
        if result.passed_over:
            print(
                f"passed over {result.passed_over} better-ranked rows that no shipped potential covers: "
                f"{', '.join(result.uncovered)}"
            )
        if args.top_relax:
            print(f"relaxation tier: {result.relax_done} relaxed, {result.relax_failed} failed")
        print(
            f"elastic tier: {result.elastic_done} computed, {result.elastic_failed} failed; "
            f"QHA tier: {result.qha_done} computed, {result.qha_failed} failed"
        )
    if args.ashby:
        ashby_from_db(db, args.ashby, colour_by=args.ashby_colour)
        print(f"Ashby diagram written to {args.ashby}")
    if args.top_table:
        from .report import top_candidates, write_table

        entries = top_candidates(db, args.top, min_score=floor, passed=args.top_passed)
        for path in args.top_table:
            write_table(entries, path)
            print(f"top {len(entries)} candidates written to {path}")
    return 0
