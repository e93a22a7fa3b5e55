"""Rerun one AL replicate of a bench_active report and keep its labels as an extxyz file.

bench_active keeps its AL databases only with ``--workdir``, and without them an AL point cannot be
refitted again (``refit_convergence.py --al-db``). The loop is seeded (MD, bootstrap, initial weights;
one torch thread), so the report's settings rebuild its run up to floating-point drift between library
and package versions. This script reruns replicate R with them, spending the label budgets in the order
given (``--budgets 48 64`` replays v8's run to 48 labels and v9's resume to 64), checks each label's MD
segment (start structure, temperature) against the report's record of the run (its first labels, when
the budget is smaller), and writes the labelled structures in label order, EMT energies, forces and
stresses included, with ``start`` and ``temperature_K`` in each frame's info (seed copies: "seed", 0).
The check is what tells a rebuilt run from a new replicate: on 2026-12-02 (ASE 3.29.0, numpy 2.4.6) v9's
replicate 0 rebuilt its four seed labels exactly, but its first committee scored 0.04269 eV/Å on the test
frames where the report has 0.04261, so later labels may differ.

Usage::

    python scripts/rerun_al.py docs/active/bench_active_v9.json --replicate 0 --budgets 48 64 \\
        --workdir DIR --out docs/active/labels/v9_r0.extxyz

With ``--new-replicate`` the run is a fresh replicate with the report's settings (its seed is R), whether or
not the report has one of that seed; nothing is checked and ``"matches_report"`` is null. ``--train-steps`` and
``--finetune-steps`` change the committee's training (a variant of the report's loop, so also unchecked).
``--continue-from FILE`` extends a kept label set: its labelled frames are given to a new loop with the
report's settings (no reference call for them), which spends ``--budgets`` more reference calls on top. The
committee is retrained from scratch on them and MD restarts from the start structures, so this is a
continuation of the labels, not of the run's MD state (also unchecked). The output holds the given frames
first, with their ``start`` and ``temperature_K``, then the new labels.

The output file is then a training set for ``refit_convergence.py --al-db FILE``. Progress goes to stderr;
stdout gets one JSON line, ``"matches_report": true`` when every label's segment is the report's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ase.io import read, write
from bench_active import MIXED, SETTINGS, log, run_al, start_structures, test_frames


def settings_of(report: dict) -> dict:
    """bench_active's settings for the AL loop of ``report`` (a mixed-system report of the v2 recipe)."""
    if report["al_recipe"] != "v2" or report["al_seeds"] != "rattled" or "cluster" not in report["starts"]:
        raise SystemExit("only mixed-system reports of the v2 recipe with rattled seeds can be rerun here")
    committee = report["al_committee"]
    model = {key: value for key, value in report["model"].items() if key != "architecture"}
    return {**SETTINGS["full"], **MIXED, **committee, "model": model}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="bench_active JSON report whose AL run to rerun")
    parser.add_argument("--replicate", type=int, default=0, help="AL replicate (its seed)")
    parser.add_argument("--budgets", type=int, nargs="+", help="label budgets in turn (default: the report's)")
    parser.add_argument("--workdir", required=True, help="where the AL database goes (kept)")
    parser.add_argument("--out", required=True, help="extxyz file of the labelled structures")
    parser.add_argument(
        "--new-replicate", action="store_true", help="a fresh replicate with the report's settings (no segment check)"
    )
    parser.add_argument("--train-steps", type=int, help="steps of a committee member trained from scratch")
    parser.add_argument("--finetune-steps", type=int, help="steps of a warm-started committee member")
    parser.add_argument(
        "--continue-from",
        metavar="FILE",
        help="extxyz label set (this script's output) to give the loop; --budgets counts new calls",
    )
    args = parser.parse_args(argv)
    report = json.loads(Path(args.report).read_text().strip().splitlines()[-1])
    record = next((run for run in report["al_runs"] if run["seed"] == args.replicate), None)
    settings = settings_of(report)
    changed = {
        key: value
        for key, value in (("train_steps", args.train_steps), ("finetune_steps", args.finetune_steps))
        if value is not None
    }
    settings.update(changed)
    given = read(args.continue_from, index=":") if args.continue_from else None
    checked = not (args.new_replicate or changed or given)  # a rebuild of the report's own run
    if record is None and checked:
        parser.error(f"{args.report} has no AL run of replicate {args.replicate}")
    starts = list(start_structures("mixed"))
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    test_file = workdir / "test.extxyz"
    write(test_file, test_frames(list(start_structures("mixed").values()), settings))
    run, cpu_seconds = None, 0.0
    for budget in args.budgets or [settings["max_labels"]]:
        job = (
            {**settings, "max_labels": budget},
            str(workdir),
            str(test_file),
            args.replicate,
            "v2",
            report["al_schedule"],
            "mixed",
            report["al_selection"],
            given,
        )
        run = run_al(job)
        cpu_seconds += run["cpu_seconds"]  # each budget's resume times only itself
        log(
            f"replicate {args.replicate}: {len(run['structures'])} labels ({run['cpu_seconds']:.0f} CPU s); "
            f"{run['reason']}"
        )
    segments = [
        [None if s is None else starts[s], t]
        for s, t in zip(run["label_starts"], run["label_temperatures_K"], strict=True)
    ]
    expected = (
        None
        if record is None or not checked
        else [list(pair) for pair in zip(record["label_starts"], record["label_temperatures_K"], strict=True)]
    )
    for k, (atoms, (start, temperature)) in enumerate(zip(run["structures"], segments, strict=True)):
        if given and k < len(given):  # given frames keep the segment they were labelled in
            start, temperature = given[k].info.get("start"), given[k].info.get("temperature_K")
        atoms.info.update({"start": start or "seed", "temperature_K": temperature or 0.0})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write(args.out, run["structures"], format="extxyz")
    committee = {key: settings[key] for key in ("train_steps", "finetune_steps")}
    summary = {
        "report": args.report,
        "replicate": args.replicate,
        "labels": len(segments),
        "out": args.out,
        "md_steps": run["md_steps"],
        "committee": committee,
        "committee_curve": run["committee_curve"],
        "cpu_seconds": round(cpu_seconds),
        "continued_from": args.continue_from,
        "given_labels": len(given or []),
    }
    if expected is None:
        kind = "a variant" if changed or given else "new replicate"
        log(f"{len(segments)} labels of {kind} {args.replicate} written to {args.out}")
        print(json.dumps({**summary, "matches_report": None}))
        return 0
    same = segments == expected[: len(segments)]  # a smaller budget replays the report's first labels
    log(f"{len(segments)} labels written to {args.out}; MD segments {'match' if same else 'DIFFER from'} the report's")
    first_difference = next((k for k, (a, b) in enumerate(zip(segments, expected)) if a != b), None)
    print(json.dumps({**summary, "matches_report": same, "first_difference": first_difference}))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
