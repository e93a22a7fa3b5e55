"""Committee force spread vs the single-model extrapolation grade (D-optimality), on the same models and frames.

System, reference and frames: EMT copper, four start structures (perfect bulk Cu32, the Cu31 vacancy cell, a
Cu24 (111) slab, a Cu38 cluster), Langevin MD at 300-1200 K (the frames of ``bench_active.py``, built here
too). Two training sets, each fitted by a committee of ``--members`` PaiNNs (F=16, 2 interactions, 4.5 Å, 8
Bessel functions; own seeds, same data); member 0 is the single model the grade belongs to.

* ``in_domain``: ``--train`` frames drawn uniformly from the MD pool of all four starts. Question: does the
  uncertainty rank test frames (and atoms) by their true force error? Spearman rank correlation between
  the uncertainty and the true error -- of member 0 for the grade, of the committee mean for the spread --
  and the share of the 10 % worst frames found among the 10 % most uncertain.
* ``out_of_domain``: the same number of frames from bulk and vacancy MD only. Question: are slab and
  cluster frames (never seen) told apart from bulk and vacancy ones? ROC AUC of the uncertainty as a
  classifier of unseen-start frames (0.5: chance, 1: perfect).

Cost per frame: the grade needs one forward pass of one model and no forces; the committee ``--members``
forward and backward passes. Progress goes to stderr; stdout gets one JSON line.

Usage::

    python scripts/bench_uncertainty.py --jobs 2      # ~10 CPU-minutes
    python scripts/bench_uncertainty.py --quick       # a smoke test, about a CPU-minute
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import sys
import time

import numpy as np
import torch
from ase import Atoms, units
from ase.build import bulk, fcc111
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.cluster import Octahedron
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary
from scipy.stats import rankdata, spearmanr

from ase_mlmat.active import ExtrapolationGrade
from ase_mlmat.calculator import MLCalculator
from ase_mlmat.data import get_labels
from ase_mlmat.train import TrainConfig, fit

MODEL = {"cutoff": 4.5, "num_features": 16, "num_interactions": 2, "num_basis": 8}
TEMPERATURES_K = [300.0, 600.0, 900.0, 1200.0]


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


def emt_frames(starts: list[Atoms], per_segment: int, *, every: int, seed: int) -> list[Atoms]:
    """EMT Langevin MD frames (2 fs, friction 0.01/fs, 200 steps to equilibrate), ``per_segment`` per start and T."""
    frames = []
    for (s, start), (k, temperature) in itertools.product(enumerate(starts), enumerate(TEMPERATURES_K)):
        rng = np.random.default_rng([seed, k] if s == 0 else [seed, s, k])
        atoms = start.copy()
        atoms.calc = EMT()
        atoms.set_momenta(
            rng.normal(size=(len(atoms), 3)) * np.sqrt(units.kB * temperature * atoms.get_masses())[:, None]
        )
        Stationary(atoms)
        atoms.set_constraint(FixCom())
        dyn = Langevin(atoms, 2 * units.fs, temperature_K=temperature, friction=0.01 / units.fs, fixcm=False, rng=rng)
        dyn.run(200)
        for _ in range(per_segment):
            dyn.run(every)
            frame = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True, info={"start": s})
            frame.calc = SinglePointCalculator(
                frame, energy=atoms.get_potential_energy(), forces=atoms.get_forces(), stress=atoms.get_stress()
            )
            frames.append(frame)
    return frames


def train_member(job: tuple) -> object:
    """Member ``seed``: PaiNN trained ``steps`` optimiser steps (batch 4, lr 5e-3 cosine, loss weights 1)."""
    structures, seed, steps = job
    torch.set_num_threads(1)
    config = TrainConfig(
        model=dict(MODEL),
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


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive outranks a negative (Mann-Whitney), ties counted half."""
    ranks = rankdata(scores)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(models: list, train: list, test: list) -> dict:
    """Per test frame and atom: true force errors, committee spread and grade; their timings."""
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
    return {
        "rows": rows,
        "per_frame_ms": {k: 1000 * v / len(test) for k, v in seconds.items()},
        "grade_build_s": build_seconds,
    }


def ranking(rows: dict) -> dict:
    """How well each uncertainty ranks the error it is meant to predict, per frame (max over atoms) and atom."""
    pairs = {"spread": "error_mean", "grade": "error_single"}
    out = {}
    for measure, error in pairs.items():
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=16, help="training frames per set")
    parser.add_argument("--members", type=int, default=3, help="committee size")
    parser.add_argument("--steps", type=int, default=2000, help="optimiser steps per member")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (one torch thread each)")
    parser.add_argument("--quick", action="store_true", help="tiny run (~1 CPU-minute): a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.members, args.steps = 8, 2, 100
    t_start = time.perf_counter()
    named = start_structures()
    names, starts = list(named), list(named.values())
    test = emt_frames(starts, 2 if args.quick else 10, every=20, seed=1000)  # bench_active's test frames
    pool = emt_frames(starts, 4 if args.quick else 10, every=25, seed=2000)
    rng = np.random.default_rng(3000)
    sets = {"in_domain": [pool[i] for i in rng.permutation(len(pool))[: args.train]]}
    crystal = [a for a in pool if names[a.info["start"]] in ("bulk", "vacancy")]
    sets["out_of_domain"] = [crystal[i] for i in rng.permutation(len(crystal))[: args.train]]
    log(f"{len(test)} test frames; {args.train} training frames per set; {args.members} members x {args.steps} steps")
    jobs = [(structures, seed, args.steps) for structures in sets.values() for seed in range(args.members)]
    with multiprocessing.get_context("fork").Pool(args.jobs) as workers:
        models = workers.map(train_member, jobs)
    report = {
        "benchmark": "committee_spread_vs_extrapolation_grade",
        "reference": "EMT",
        "model": {"architecture": "painn", **MODEL},
        "train_frames": args.train,
        "members": args.members,
        "steps": args.steps,
        "test_frames": len(test),
    }
    unseen = np.array([names[a.info["start"]] in ("slab", "cluster") for a in test])
    for k, (name, structures) in enumerate(sets.items()):
        result = evaluate(models[k * args.members : (k + 1) * args.members], structures, test)
        rows = result["rows"]
        entry = {
            "ranking": ranking(rows),
            "per_frame_ms": {m: round(v, 2) for m, v in result["per_frame_ms"].items()},
            "grade_build_s": round(result["grade_build_s"], 2),
            "forces_mae_eV_per_A": {
                "committee_mean": round(float(np.mean(np.concatenate(rows["error_mean"]))), 5),
                "single": round(float(np.mean(np.concatenate(rows["error_single"]))), 5),
            },
            "grade_frames_above_1": round(float(np.mean([g.max() > 1.0 for g in rows["grade"]])), 3),
        }
        if name == "out_of_domain":
            entry["auc_unseen_starts"] = {
                m: round(roc_auc(np.array([u.max() for u in rows[m]]), unseen), 3) for m in ("spread", "grade")
            }
            for m in ("spread", "grade"):
                for label, mask in (("seen", ~unseen), ("unseen", unseen)):
                    entry.setdefault(f"median_{m}", {})[label] = round(
                        float(np.median([u.max() for u, s in zip(rows[m], mask, strict=True) if s])), 4
                    )
        report[name] = entry
        log(f"{name}: {json.dumps(entry)}")
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
