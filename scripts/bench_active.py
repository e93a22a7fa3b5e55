"""Active-learning benches on EMT copper: the learning curve, and committee spread against extrapolation grade.

System: four start structures a general Cu potential must cover -- perfect bulk Cu32 (2x2x2 conventional
fcc), Cu31 (the same with a vacancy), a Cu24 (111) slab and a Cu38 truncated-octahedron cluster -- in EMT
Langevin MD at 300-1200 K. Test frames come from a random stream used nowhere else; training frames are
drawn from a pool of MD frames of the same segments. Every model is a fresh PaiNN (2 interactions, F=16;
batch 4, lr 5e-3 cosine, energy, force and stress weights 1).

``curve``: test force MAE against reference calls, for ``mlmat learn``'s loop with EMT as the reference
(a 3-member committee, MD from every start at every temperature each iteration, stratified selection, 4
labels per iteration; the training set after n calls is its first n labels) and for n frames drawn at
random from the pool. Every point is a refit (5.5 Å, 16 Bessel functions; max(32000 steps, 1000 epochs);
replicate r's seed). The ratio is AL calls / uniform calls at the same mean test MAE (the uniform curve
interpolated log-log); the second ratio also counts the reference MD a DFT user would run to get uniform
frames (200 equilibration steps per segment plus 25 steps per frame).

``uncertainty``: committee force spread against member 0's extrapolation grade (D-optimality), with
committees of ``--members`` models (4.5 Å, 8 Bessel functions) trained on ``--train`` pool frames of all
four starts (``in_domain``: Spearman rank correlation with the true force error, and the share of the 10 %
worst frames among the 10 % most uncertain) or of bulk and vacancy only (``out_of_domain``: also the ROC
AUC for telling frames of the unseen slab and cluster apart).

Usage::

    python scripts/bench_active.py curve --jobs 16            # the full curve: about 12 CPU-hours
    python scripts/bench_active.py curve --quick --jobs 2     # a smoke test, about two minutes; too short to rank
    python scripts/bench_active.py uncertainty --jobs 2       # about 10 CPU-minutes
    python scripts/bench_active.py uncertainty --quick        # a smoke test, about a CPU-minute

Progress goes to stderr; stdout gets one JSON line. Results: docs/active/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from ase import Atoms, units
from ase.build import bulk, fcc111
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.cluster import Octahedron
from ase.constraints import FixCom
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary
from scipy.stats import rankdata, spearmanr

from ase_mlmat.active import ActiveConfig, ActiveStore, ExtrapolationGrade, committee_errors, run_active_learning
from ase_mlmat.calculator import MLCalculator
from ase_mlmat.data import get_labels
from ase_mlmat.train import TrainConfig, fit

EQUILIBRATE, POOL_EVERY, TEST_EVERY = 200, 25, 20  # EMT MD steps
TEST_SEED, POOL_SEED, DRAW_SEED = 1000, 2000, 3000  # random streams of test frames, pool frames, draws from the pool
TEMPERATURES_K = [300.0, 600.0, 900.0, 1200.0]
SMALL_MODEL = {"cutoff": 4.5, "num_features": 16, "num_interactions": 2, "num_basis": 8}  # PaiNN
CURVE = {
    "full": {
        "model": {"cutoff": 5.5, "num_features": 16, "num_interactions": 2, "num_basis": 16},
        "temperatures_K": TEMPERATURES_K,
        "frames_per_segment": {"test": 10, "pool": 40},
        "committee": {"size": 3, "train_steps": 2000, "finetune_steps": 600},
        "exploration": {"equilibration_steps": 200, "candidate_spacing": 25},
        "selection": {"threshold": 0.02},
        "stopping": {"calm_steps": 400, "max_labels": 64},
        "reference_calls": {"active": [32, 48, 64], "uniform": [32, 64, 128, 256]},
        "refit": {"min_steps": 32000, "epochs": 1000},  # optimiser steps: max(min_steps, epochs x batches)
        "replicates": 3,
    },
    "quick": {
        "model": SMALL_MODEL,
        "temperatures_K": [300.0, 1200.0],
        "frames_per_segment": {"test": 2, "pool": 8},
        "committee": {"size": 3, "train_steps": 100, "finetune_steps": 40},
        "exploration": {"equilibration_steps": 20, "candidate_spacing": 10},
        "selection": {"threshold": 0.05},
        "stopping": {"calm_steps": 40, "max_labels": 12},
        "reference_calls": {"active": [8, 12], "uniform": [8, 16, 32]},
        "refit": {"min_steps": 300, "epochs": 20},
        "replicates": 1,
    },
}
UNCERTAINTY = {
    "full": {"train": 16, "members": 3, "steps": 2000, "frames_per_segment": {"test": 10, "pool": 10}},
    "quick": {"train": 8, "members": 2, "steps": 100, "frames_per_segment": {"test": 2, "pool": 4}},
}


# ---- shared: structures, frames, training ----


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def start_structures() -> dict[str, Atoms]:
    """Perfect bulk, vacancy, (111) slab and cluster; vacuum wider than the cutoff, so images do not interact."""
    crystal = bulk("Cu", "fcc", a=3.61, cubic=True) * (2, 2, 2)
    vacancy = crystal.copy()
    del vacancy[0]
    slab = fcc111("Cu", size=(2, 2, 6), a=3.61, vacuum=6.0)
    cluster = Octahedron("Cu", 4, cutoff=1, latticeconstant=3.61)
    cluster.center(vacuum=6.0)
    slab.pbc = cluster.pbc = True
    return {"bulk": crystal, "vacancy": vacancy, "slab": slab, "cluster": cluster}


def emt_frames(starts: list[Atoms], temperatures: list, per_segment: int, *, every: int, seed: int) -> list[Atoms]:
    """EMT Langevin MD frames (2 fs, friction 0.01/fs) with EMT labels, ``per_segment`` per start and temperature.

    Each segment equilibrates ``EQUILIBRATE`` steps, then keeps a frame every ``every`` steps; a frame's
    ``info["start"]`` is the index of its start structure.
    """
    frames = []
    for (s, start), (k, temperature) in itertools.product(enumerate(starts), enumerate(temperatures)):
        rng = np.random.default_rng([seed, k] if s == 0 else [seed, s, k])
        atoms = start.copy()
        atoms.calc = EMT()
        atoms.set_momenta(
            rng.normal(size=(len(atoms), 3)) * np.sqrt(units.kB * temperature * atoms.get_masses())[:, None]
        )
        Stationary(atoms)
        atoms.set_constraint(FixCom())
        dyn = Langevin(atoms, 2 * units.fs, temperature_K=temperature, friction=0.01 / units.fs, fixcm=False, rng=rng)
        dyn.run(EQUILIBRATE)
        for _ in range(per_segment):
            dyn.run(every)
            frame = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True, info={"start": s})
            frame.calc = SinglePointCalculator(
                frame, energy=atoms.get_potential_energy(), forces=atoms.get_forces(), stress=atoms.get_stress()
            )
            frames.append(frame)
    return frames


def train_painn(structures: list[Atoms], model: dict, steps: int, seed: int) -> torch.nn.Module:
    """A fresh PaiNN trained about ``steps`` optimiser steps (whole epochs, batch 4) on ``structures``, one thread."""
    torch.set_num_threads(1)
    config = TrainConfig(
        model=dict(model),
        epochs=int(np.ceil(steps / np.ceil(len(structures) / 4))),
        batch_size=4,
        learning_rate=5e-3,
        scheduler="cosine",
        energy_weight=1.0,
        stress_weight=1.0,
        seed=seed,
        device="cpu",
        progress=False,
        plots=False,
        early_stopping_patience=10**6,
    )
    return fit(config, structures, [get_labels(a) for a in structures]).model


# ---- curve: active learning against uniform sampling ----


def refit(job: tuple) -> tuple:
    """(key, test force MAE in eV/Å, MAE per start, CPU s) of a fresh model trained on ``structures``."""
    key, structures, test, settings, seed = job
    c0 = time.process_time()
    steps = max(settings["refit"]["min_steps"], settings["refit"]["epochs"] * int(np.ceil(len(structures) / 4)))
    model = train_painn(structures, settings["model"], steps, seed)

    def mae(frames: list) -> float:
        return committee_errors([model], frames, [get_labels(a) for a in frames])["forces_mae_eV_per_A"]

    per_start = [mae([a for a in test if a.info["start"] == s]) for s in sorted({a.info["start"] for a in test})]
    return key, mae(test), per_start, time.process_time() - c0


def al_config(settings: dict, workdir: Path, test_file: Path, seed: int) -> ActiveConfig:
    """The loop's recipe: every start and temperature each iteration, stratified selection, 4 labels at a time."""
    exploration = {"temperatures_K": settings["temperatures_K"], "schedule": "all", "continue_md": True}
    train_options = {"energy_weight": 1.0, "stress_weight": 1.0}
    selection = {"rule": "stratified", "labels_per_iteration": 4, "max_candidates": 5, **settings["selection"]}
    return ActiveConfig.from_dict(
        {
            "db": str(workdir / f"al_r{seed}.db"),
            "reference": "ase.calculators.emt:EMT",
            "test_data": str(test_file),
            "seed": seed,
            "committee": {**settings["committee"], "model": dict(settings["model"]), "train_options": train_options},
            "exploration": {**exploration, "num_seed": 4, "check_interval": 10, **settings["exploration"]},
            "selection": selection,
            "stopping": settings["stopping"],
        }
    )


def run_al(job: tuple) -> dict:
    """One AL replicate (seed ``seed``): its labelled structures in label order, and where they came from."""
    settings, workdir, test_file, seed = job
    torch.set_num_threads(1)
    config = al_config(settings, Path(workdir), Path(test_file), seed)
    c0 = time.process_time()
    result = run_active_learning(config, structure=list(start_structures().values()), log=lambda m: log(f"r{seed} {m}"))
    store = ActiveStore(config.db)
    rows = list(store.db.select(al_status="labelled", sort="id"))
    return {
        "seed": seed,
        "structures": store.labelled()[0],
        "stop_reason": result.reason,
        "md_steps": result.md_steps,
        "label_segments": [[row.get("start_index"), row.get("temperature_K")] for row in rows],
        "cpu_seconds": round(time.process_time() - c0, 1),
    }


def calls_for_error(curve: list[tuple[int, float]], target: float) -> tuple[float, str | None]:
    """Calls at which ``curve`` (calls, MAE), as its running minimum interpolated log-log, reaches ``target``.

    Outside the curve the answer is its end, with ``"at least"`` (never reached) or ``"at most"`` (the first
    point is already below).
    """
    curve = [(n, min(e for _, e in curve[: k + 1])) for k, (n, _) in enumerate(curve)]
    if curve[0][1] <= target:
        return float(curve[0][0]), None if curve[0][1] == target else "at most"
    for (n0, e0), (n1, e1) in itertools.pairwise(curve):
        if e0 > target >= e1:
            return float(np.exp(np.log(n0) + np.log(e0 / target) / np.log(e0 / e1) * np.log(n1 / n0))), None
    return float(curve[-1][0]), "at least"


def ratio_rows(active: list[tuple[int, float]], uniform: list[tuple[int, float]], segments: int) -> list[dict]:
    """Per AL point: uniform calls at its error and the ratio, counting labels only and with uniform's MD."""
    rows = []
    for n, error in active:
        m, bound = calls_for_error(uniform, error)
        with_md = segments * EQUILIBRATE + m * POOL_EVERY  # reference MD steps that give m pool frames
        rows.append(
            {"reference_calls": n, "uniform_calls_same_error": round(m, 1), "ratio": round(n / m, 3), "bound": bound}
            | {"uniform_calls_with_md": round(with_md), "ratio_with_md": round(n / with_md, 4)}
        )
    return rows


def curve_points(points: dict[int, list[float]]) -> list[dict]:
    """Per number of reference calls: the mean test force MAE over replicates and each replicate's."""
    return [
        {
            "reference_calls": n,
            "forces_mae_eV_per_A": round(float(np.mean(e)), 5),
            "per_replicate": [round(x, 5) for x in e],
        }
        for n, e in sorted(points.items())
    ]


def run_curve_jobs(settings: dict, replicates: int, jobs: int, workdir: str | None, test: list, pool: list) -> tuple:
    """AL replicates and refits of AL and uniform training sets, in ``jobs`` worker processes.

    Returns (MAE by kind, n and replicate; per-start MAEs by kind and n; AL runs; CPU s in the workers).
    """
    results: dict[str, dict[int, dict[int, float]]] = {"active": {}, "uniform": {}}
    per_start: dict[str, dict[int, list[list[float]]]] = {"active": {}, "uniform": {}}
    runs, cpu = [], 0.0
    with tempfile.TemporaryDirectory() as scratch, multiprocessing.get_context("fork").Pool(jobs) as workers:
        workdir = Path(workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        test_file = workdir / "test.extxyz"
        write(test_file, test)
        pending_al = [
            workers.apply_async(run_al, ((settings, str(workdir), str(test_file), r),)) for r in range(replicates)
        ]
        uniform_jobs = [
            (("uniform", n, r), [pool[i] for i in np.random.default_rng([DRAW_SEED, r]).permutation(len(pool))[:n]])
            for r in range(replicates)
            for n in settings["reference_calls"]["uniform"]
        ]
        uniform_jobs.sort(key=lambda job: -len(job[1]))  # longest first, beside the AL runs
        pending = [workers.apply_async(refit, ((key, s, test, settings, key[2]),)) for key, s in uniform_jobs]
        for r, handle in enumerate(pending_al):
            run = handle.get()
            runs.append(run)
            cpu += run["cpu_seconds"]
            log(f"AL replicate {r}: {len(run['structures'])} labels, {run['md_steps']} MD steps; {run['stop_reason']}")
            for n in [n for n in settings["reference_calls"]["active"] if n <= len(run["structures"])]:
                job = (("active", n, r), run["structures"][:n], test, settings, r)
                pending.append(workers.apply_async(refit, (job,)))
        for handle in pending:
            (kind, n, r), mae, by_start, seconds = handle.get()
            cpu += seconds
            results[kind].setdefault(n, {})[r] = mae
            per_start[kind].setdefault(n, []).append(by_start)
            log(f"{kind:7s} {n:4d} calls, replicate {r}: force MAE {mae:.5f} eV/Å ({seconds:.0f} CPU s)")
    return results, per_start, runs, cpu


def measure_curve(args: argparse.Namespace) -> dict:
    """The ``curve`` measurement's report."""
    settings = CURVE["quick" if args.quick else "full"]
    replicates = args.replicates or settings["replicates"]
    named = start_structures()
    starts, temperatures = list(named.values()), settings["temperatures_K"]
    t0 = time.perf_counter()
    test = emt_frames(starts, temperatures, settings["frames_per_segment"]["test"], every=TEST_EVERY, seed=TEST_SEED)
    pool = emt_frames(starts, temperatures, settings["frames_per_segment"]["pool"], every=POOL_EVERY, seed=POOL_SEED)
    log(f"{len(test)} test frames, {len(pool)} pool frames ({time.perf_counter() - t0:.0f} s)")
    results, per_start, runs, cpu = run_curve_jobs(settings, replicates, args.jobs, args.workdir, test, pool)
    curves = {
        kind: curve_points({n: [by_r[r] for r in sorted(by_r)] for n, by_r in points.items()})
        for kind, points in results.items()
    }
    mean = {kind: [(p["reference_calls"], p["forces_mae_eV_per_A"]) for p in c] for kind, c in curves.items()}
    segments = len(starts) * len(temperatures)
    ratios = ratio_rows(mean["active"], mean["uniform"], segments)
    per_replicate = []  # each replicate's largest AL point against its own uniform curve
    for r in range(replicates):
        active = [
            (p["reference_calls"], p["per_replicate"][r]) for p in curves["active"] if len(p["per_replicate"]) > r
        ]
        uniform = [(p["reference_calls"], p["per_replicate"][r]) for p in curves["uniform"]]
        per_replicate.append(ratio_rows(active[-1:], uniform, segments)[0]["ratio"])
    for row in ratios:
        log(f"{row['reference_calls']} AL calls = {row['uniform_calls_same_error']} uniform: ratio {row['ratio']}")
    return {
        "benchmark": "active_learning_vs_uniform_md_sampling",
        "mode": "quick" if args.quick else "full",
        "reference": "EMT",
        "starts": {name: len(atoms) for name, atoms in named.items()},
        "temperatures_K": temperatures,
        "model": {"architecture": "painn", **settings["model"]},
        "refit": {**settings["refit"], "batch_size": 4},
        "replicates": replicates,
        "test_frames": len(test),
        "pool_frames": len(pool),
        "active": curves["active"],
        "uniform": curves["uniform"],
        "forces_mae_per_start": {
            kind: {
                n: dict(zip(named, np.mean(rows, axis=0).round(5).tolist(), strict=True)) for n, rows in points.items()
            }
            for kind, points in per_start.items()
        },
        "ratios": ratios,
        "ratio_per_replicate": per_replicate,
        "al_runs": [{k: v for k, v in run.items() if k != "structures"} for run in runs],
        "seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds_in_tasks": round(cpu, 1),
    }


# ---- uncertainty: committee spread against the extrapolation grade ----


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive outranks a negative (Mann-Whitney), ties counted half."""
    ranks = rankdata(scores)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(models: list, train: list, test: list) -> tuple[dict, dict, float]:
    """Per test frame and atom: true force errors (eV/Å), committee spread (eV/Å) and grade.

    Returns those rows, the ms per frame of spread and grade, and the s to build the grade's active set.
    """
    committee, single = MLCalculator(models, dtype="float64"), MLCalculator(models[0], dtype="float64")
    t0 = time.perf_counter()
    grade = ExtrapolationGrade(models[0], train)
    build_seconds = time.perf_counter() - t0
    rows = {"spread": [], "grade": [], "error_mean": [], "error_single": []}
    seconds = {"spread": 0.0, "grade": 0.0}
    for frame in test:
        reference = get_labels(frame).forces
        atoms = frame.copy()
        t0 = time.perf_counter()
        atoms.calc = committee
        forces, spread = atoms.get_forces(), committee.results["forces_std"]
        seconds["spread"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        rows["grade"].append(grade.atom_grades(atoms))
        seconds["grade"] += time.perf_counter() - t0
        rows["spread"].append(np.linalg.norm(spread, axis=1))
        rows["error_mean"].append(np.linalg.norm(forces - reference, axis=1))
        atoms.calc = single
        rows["error_single"].append(np.linalg.norm(atoms.get_forces() - reference, axis=1))
    return rows, {k: 1000 * v / len(test) for k, v in seconds.items()}, build_seconds


def ranking(rows: dict) -> dict:
    """How well each uncertainty ranks the error it is meant to predict, per frame (max over atoms) and atom."""
    out = {}
    for measure, error in {"spread": "error_mean", "grade": "error_single"}.items():
        frame_u = np.array([u.max() for u in rows[measure]])
        frame_e = np.array([e.max() for e in rows[error]])
        atom_u, atom_e = np.concatenate(rows[measure]), np.concatenate(rows[error])
        top = max(1, len(frame_u) // 10)
        worst, flagged = set(np.argsort(-frame_e)[:top]), set(np.argsort(-frame_u)[:top])
        out[measure] = {
            "spearman_frames": round(float(spearmanr(frame_u, frame_e)[0]), 3),
            "spearman_atoms": round(float(spearmanr(atom_u, atom_e)[0]), 3),
            "worst_10pct_found": round(len(worst & flagged) / top, 3),
        }
    return out


def uncertainty_entry(rows: dict, per_frame_ms: dict, build_s: float, unseen: np.ndarray | None) -> dict:
    """One training set's report from ``evaluate``'s results.

    With ``unseen`` (a mask of test frames from unseen starts), also how well each uncertainty tells them apart.
    """
    entry = {
        "ranking": ranking(rows),
        "per_frame_ms": {m: round(v, 2) for m, v in per_frame_ms.items()},
        "grade_build_s": round(build_s, 2),
        "forces_mae_eV_per_A": {
            "committee_mean": round(float(np.mean(np.concatenate(rows["error_mean"]))), 5),
            "single": round(float(np.mean(np.concatenate(rows["error_single"]))), 5),
        },
        "grade_frames_above_1": round(float(np.mean([g.max() > 1.0 for g in rows["grade"]])), 3),
    }
    if unseen is not None:
        frame_max = {m: np.array([u.max() for u in rows[m]]) for m in ("spread", "grade")}
        entry["auc_unseen_starts"] = {m: round(roc_auc(frame_max[m], unseen), 3) for m in frame_max}
        for m, values in frame_max.items():
            entry[f"median_{m}"] = {
                "seen": round(float(np.median(values[~unseen])), 4),
                "unseen": round(float(np.median(values[unseen])), 4),
            }
    return entry


def measure_uncertainty(args: argparse.Namespace) -> dict:
    """The ``uncertainty`` measurement's report."""
    settings = UNCERTAINTY["quick" if args.quick else "full"]
    n_train, members = args.train or settings["train"], args.members or settings["members"]
    steps = args.steps or settings["steps"]
    t_start = time.perf_counter()
    named = start_structures()
    names, starts = list(named), list(named.values())
    test = emt_frames(starts, TEMPERATURES_K, settings["frames_per_segment"]["test"], every=TEST_EVERY, seed=TEST_SEED)
    pool = emt_frames(starts, TEMPERATURES_K, settings["frames_per_segment"]["pool"], every=POOL_EVERY, seed=POOL_SEED)
    rng = np.random.default_rng(DRAW_SEED)
    sets = {"in_domain": [pool[i] for i in rng.permutation(len(pool))[:n_train]]}
    crystal = [a for a in pool if names[a.info["start"]] in ("bulk", "vacancy")]
    sets["out_of_domain"] = [crystal[i] for i in rng.permutation(len(crystal))[:n_train]]
    log(f"{len(test)} test frames; {n_train} training frames per set; {members} members x {steps} steps")
    jobs = [(structures, SMALL_MODEL, steps, seed) for structures in sets.values() for seed in range(members)]
    with multiprocessing.get_context("fork").Pool(args.jobs) as workers:
        models = workers.starmap(train_painn, jobs)
    report = {
        "benchmark": "committee_spread_vs_extrapolation_grade",
        "reference": "EMT",
        "model": {"architecture": "painn", **SMALL_MODEL},
        "train_frames": n_train,
        "members": members,
        "steps": steps,
        "test_frames": len(test),
    }
    unseen = np.array([names[a.info["start"]] in ("slab", "cluster") for a in test])
    for k, (name, structures) in enumerate(sets.items()):
        result = evaluate(models[k * members : (k + 1) * members], structures, test)
        report[name] = uncertainty_entry(*result, unseen=unseen if name == "out_of_domain" else None)
        log(f"{name}: {json.dumps(report[name])}")
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quick", action="store_true", help="a small smoke test, too short to rank")
    common.add_argument("--jobs", type=int, default=1, help="worker processes, one torch thread each")
    sub = parser.add_subparsers(dest="measure", required=True, metavar="{curve,uncertainty}")
    text = "active learning against uniform MD sampling: test force MAE against reference calls"
    curve = sub.add_parser("curve", parents=[common], help=text, description=text)
    curve.add_argument("--replicates", type=int, help="AL runs / uniform subsets / refit seeds (default 3; quick 1)")
    curve.add_argument("--workdir", help="keep the AL databases here (default: a temporary directory)")
    text = "committee force spread against the single-model extrapolation grade, on the same models and frames"
    uncertainty = sub.add_parser("uncertainty", parents=[common], help=text, description=text)
    uncertainty.add_argument("--train", type=int, help="training frames per set (default 16; quick 8)")
    uncertainty.add_argument("--members", type=int, help="committee size (default 3; quick 2)")
    uncertainty.add_argument("--steps", type=int, help="optimiser steps per member (default 2000; quick 100)")
    args = parser.parse_args(argv)
    report = measure_curve(args) if args.measure == "curve" else measure_uncertainty(args)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
