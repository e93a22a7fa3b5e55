"""Active learning vs uniform MD sampling: force error against EMT per reference call.

System: fcc Cu, 2x2x2 conventional cell with one vacancy (31 atoms); reference: ASE's EMT.

* Test set: frames of independent EMT Langevin MD at every temperature (300-1200 K),
  from a random seed used nowhere else — never trained on.
* (a) Active learning: ``run_active_learning`` with EMT as the reference; its labelled
  structures, taken in the order they were labelled, give the data set after n calls.
* (b) Uniform: frames sampled uniformly from a long EMT MD pool at the same temperatures
  (the MD itself is not counted as reference calls — the baseline's most favourable count).

For every point of both curves a fresh PaiNN of the same size is trained with the same
recipe (same steps, seed, learning rate), so the curves compare data, not training luck.
The ratio is (AL calls) / (uniform calls for the same force MAE), the uniform curve
interpolated log-log; when uniform never reaches the AL error the ratio is an upper bound.
The issue's aim is a ratio of at most 1/3.

Usage::

    python scripts/bench_active.py --quick          # ~3 minutes on 2 busy cores
    python scripts/bench_active.py                  # ~15-20 minutes

Progress goes to stderr; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary

from ase_mlmat.active import ActiveConfig, ActiveStore, committee_errors, run_active_learning
from ase_mlmat.data import get_labels
from ase_mlmat.train import TrainConfig, fit

# PaiNN with 16 features keeps the full run near 15 minutes on 2 CPU cores; both curves use it.
# refit_steps is long enough that errors are limited by data, not by training (checked: 600 steps
# give ~0.07 eV/Å for 2 and for 32 frames alike; 2400 steps give 0.115, 0.058 and 0.041 for 2, 8, 32).
SETTINGS = {
    "full": dict(model={"cutoff": 4.5, "num_features": 16, "num_interactions": 2, "num_basis": 8},
                 temperatures_K=[300.0, 600.0, 900.0, 1200.0], test_per_T=25, pool_per_T=50, committee_size=3,
                 train_steps=600, finetune_steps=200, refit_steps=2400, calm_steps=400, labels_per_iteration=4,
                 num_seed=4, max_labels=32, al_points=[4, 8, 12, 16, 24, 32],
                 uniform=[4, 8, 16, 32, 64, 128], threshold=0.04),
    "quick": dict(model={"cutoff": 4.5, "num_features": 16, "num_interactions": 2, "num_basis": 8},
                  temperatures_K=[300.0, 1200.0], test_per_T=10, pool_per_T=20, committee_size=3,
                  train_steps=300, finetune_steps=100, refit_steps=1200, calm_steps=100, labels_per_iteration=4,
                  num_seed=4, max_labels=12, al_points=[4, 8, 12], uniform=[4, 8, 16, 32], threshold=0.05),
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def start_structure() -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True) * (2, 2, 2)
    del atoms[0]
    return atoms


def emt_frames(temperatures: list[float], per_T: int, *, every: int, seed: int, timestep_fs: float = 2.0,
               equilibrate: int = 200) -> list[Atoms]:
    """EMT Langevin MD frames with EMT labels, ``per_T`` at each temperature, ``every`` steps apart."""
    frames = []
    for k, temperature in enumerate(temperatures):
        rng = np.random.default_rng([seed, k])
        atoms = start_structure()
        atoms.calc = EMT()
        sigma = np.sqrt(units.kB * temperature * atoms.get_masses())[:, None]
        atoms.set_momenta(rng.normal(size=(len(atoms), 3)) * sigma)
        Stationary(atoms)
        atoms.set_constraint(FixCom())
        dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature, friction=0.01 / units.fs,
                       fixcm=False, rng=rng)
        dyn.run(equilibrate)
        for _ in range(per_T):
            dyn.run(every)
            frame = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True)
            frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(),
                                               forces=atoms.get_forces(), stress=atoms.get_stress())
            frames.append(frame)
    return frames


def refit_mae(structures: list[Atoms], test: list[Atoms], settings: dict, seed: int) -> float:
    """Test force MAE (eV/Å) of a fresh model trained on ``structures`` with the fixed recipe."""
    labels = [get_labels(a) for a in structures]
    batches = int(np.ceil(len(structures) / 4))
    config = TrainConfig(model=dict(settings["model"]), epochs=int(np.ceil(settings["refit_steps"] / batches)),
                         batch_size=4, learning_rate=5e-3, scheduler="cosine", seed=seed, device="cpu",
                         progress=False, plots=False, early_stopping_patience=10**6)
    model = fit(config, structures, labels).model
    return committee_errors([model], test, [get_labels(a) for a in test])["forces_mae_eV_per_A"]


def calls_for_error(curve: list[tuple[int, float]], target: float) -> tuple[float, bool]:
    """Reference calls at which ``curve`` (calls, MAE) first reaches ``target``; (calls, is_lower_bound).

    The curve is replaced by its running minimum (the best error reached with at most n calls), so
    training noise cannot make a larger data set look worse; between points it is interpolated log-log.
    """
    curve = [(n, min(e for _, e in curve[: k + 1])) for k, (n, _) in enumerate(curve)]
    for (n0, e0), (n1, e1) in itertools.pairwise(curve):
        if e0 > target >= e1:
            fraction = np.log(e0 / target) / np.log(e0 / e1)
            return float(np.exp(np.log(n0) + fraction * np.log(n1 / n0))), False
    if curve[0][1] <= target:
        return float(curve[0][0]), False
    return float(curve[-1][0]), True  # never reached: at least this many calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (~3 min)")
    parser.add_argument("--workdir", help="keep the AL database here (default: a temporary directory)")
    parser.add_argument("--schedule", choices=["all", "ramp"], default="all", help="AL temperature schedule")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = SETTINGS["quick" if args.quick else "full"]
    temperatures = settings["temperatures_K"]
    t0 = time.perf_counter()

    test = emt_frames(temperatures, settings["test_per_T"], every=20, seed=1000 + args.seed)
    pool = emt_frames(temperatures, settings["pool_per_T"], every=25, seed=2000 + args.seed)
    log(f"{len(test)} test frames, {len(pool)} uniform-pool frames ({time.perf_counter() - t0:.0f} s)")

    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        test_file = workdir / "test.extxyz"
        from ase.io import write

        write(test_file, test)
        config = ActiveConfig(
            db=str(workdir / "bench_active.db"), reference="ase.calculators.emt:EMT", num_seed=settings["num_seed"],
            committee_size=settings["committee_size"], model=dict(settings["model"]),
            train_steps=settings["train_steps"], finetune_steps=settings["finetune_steps"],
            temperatures_K=temperatures, temperature_schedule=args.schedule, calm_steps=settings["calm_steps"],
            threshold=settings["threshold"], labels_per_iteration=settings["labels_per_iteration"],
            max_labels=settings["max_labels"], test_data=str(test_file), seed=args.seed,
        )
        t_al = time.perf_counter()
        result = run_active_learning(config, structure=start_structure(), log=lambda m: print(m, file=sys.stderr))
        al_seconds = time.perf_counter() - t_al
        structures = ActiveStore(config.db).labelled()[0]  # in the order they were labelled

    committee_curve = [{"reference_calls": h["reference_calls"], "forces_mae_eV_per_A": h["test_forces_mae_eV_per_A"]}
                       for _, h in sorted(result.history.items()) if "test_forces_mae_eV_per_A" in h]
    al_points = sorted({n for n in settings["al_points"] if n < len(structures)} | {len(structures)})
    active = []
    for n in al_points:
        active.append((n, refit_mae(structures[:n], test, settings, args.seed)))
        log(f"active  {n:4d} calls: force MAE {active[-1][1]:.4f} eV/Å")
    order = np.random.default_rng(3000 + args.seed).permutation(len(pool))  # nested uniform subsets
    uniform = []
    for n in settings["uniform"]:
        uniform.append((n, refit_mae([pool[i] for i in order[:n]], test, settings, args.seed)))
        log(f"uniform {n:4d} calls: force MAE {uniform[-1][1]:.4f} eV/Å")

    n_al, e_al = active[-1]
    n_uniform, bound = calls_for_error(uniform, e_al)
    ratios = []
    for n, e in active:
        m, b = calls_for_error(uniform, e)
        ratios.append({"reference_calls": n, "uniform_calls_same_error": round(m, 1), "ratio": round(n / m, 3),
                       "upper_bound": b})
    report = {
        "benchmark": "active_learning_vs_uniform_md_sampling",
        "mode": "quick" if args.quick else "full",
        "reference": "EMT",
        "system": "Cu31: fcc Cu 2x2x2 conventional cell with one vacancy",
        "temperatures_K": temperatures,
        "model": {"architecture": "painn", **settings["model"], "refit_steps": settings["refit_steps"]},
        "test_frames": len(test),
        "active": [{"reference_calls": n, "forces_mae_eV_per_A": round(e, 5)} for n, e in active],
        "uniform": [{"reference_calls": n, "forces_mae_eV_per_A": round(e, 5)} for n, e in uniform],
        "active_committee_in_loop": committee_curve,
        "al_stop_reason": result.reason,
        "al_md_steps": result.md_steps,
        "ratio_at_equal_error": round(n_al / n_uniform, 3),
        "ratio_is_upper_bound": bound,
        "ratios": ratios,
        "aim": "ratio <= 0.333",
        "al_seconds": round(al_seconds, 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
