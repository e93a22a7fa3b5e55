"""``mlmat learn CONFIG.yaml``: the active-learning loop from the command line.

A config names the start structure(s), the reference and the budget; the rest has defaults
(top-level keys and sections are those of :class:`ase_mlmat.active.ActiveConfig`)::

    structure: Cu_vacancy.extxyz          # FILE or FILE@INDEX, or a list: [bulk.cif, slab.extxyz@0]
    reference: ase.calculators.emt:EMT    # any "module:Class" ASE calculator; a module beside the config is found
    reference_options: {}                 # its keyword arguments
    db: cu_active.db                      # or postgresql://... (then also committee_dir)
    exploration: {temperatures_K: [300, 600, 900, 1200]}
    selection: {threshold: 0.05}          # eV/Å, committee force spread that asks for a label
    stopping: {max_labels: 200}

Run it again with the same config after an interruption: it resumes from the database (the budget,
stopping.max_labels, may be raised; see docs/active/README.md). ``configs/learn-Cu-EMT.yaml`` is an
example that runs in about a minute.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``learn`` subcommand to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser("learn", help="active learning: MD with a committee, label where it disagrees")
    p.add_argument("config", help="YAML file: top-level keys and committee/exploration/selection/stopping sections")
    p.add_argument("--workers", type=int, help="label on a local Dask cluster with N worker processes")
    p.add_argument("--scheduler", help="label on the Dask cluster at this scheduler address")
    p.add_argument("--db", help="ase.db file or URL (overrides the config)")
    p.add_argument("--max-labels", type=int, help="budget of reference calls (overrides stopping.max_labels)")
    p.set_defaults(func=run_cli)
    return p


def _client(args: argparse.Namespace):
    from ..dask_client import dask_client

    return dask_client(args.workers, args.scheduler)


def run_cli(args: argparse.Namespace) -> int:
    """Run or resume the loop; prints progress and a one-line summary. Returns the exit code."""
    import sys
    import warnings

    from .config import ActiveConfig
    from .loop import ActiveLearner, ActiveLearningError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        config = ActiveConfig.from_yaml(args.config, {"db": args.db, "stopping.max_labels": args.max_labels})
    for warning in caught:  # hidden by Python's default filters, but a config user needs to see it
        print(f"mlmat learn: warning: {args.config}: {warning.message}", file=sys.stderr)
    client = _client(args)
    try:
        result = ActiveLearner(config, client=client).run()
    except ActiveLearningError as err:
        print(f"mlmat learn: stopped: {err}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            cluster = client.cluster
            client.close()
            if cluster is not None and args.workers:
                cluster.close()
    last = result.history.get(max(result.history), {}) if result.history else {}
    mae_text = "".join(
        f", {name} force MAE {last[key]:.4f} eV/Å"
        for name, key in (("test", "test_forces_mae_eV_per_A"), ("out-of-bag", "oob_forces_mae_eV_per_A"))
        if last.get(key) is not None
    )
    print(
        f"{result.reason}: {result.labels} labelled structures in {config.db}{mae_text}; "
        f"progress plot {config.plot_path}"
    )
    return 0
