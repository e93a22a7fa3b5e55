"""Active learning vs uniform MD sampling: force error against EMT per reference call.

System (``--system vacancy``, v3): fcc Cu, 2x2x2 conventional cell with one vacancy (31 atoms).
``--system mixed`` (v4): four start structures a general-purpose Cu potential must cover — perfect
bulk (32 atoms), the vacancy cell (31), a (111) slab (24) and a 38-atom cluster; test and pool frames
come from every start at every temperature in equal numbers, and the AL committee runs one MD
trajectory per start and temperature. Reference: ASE's EMT.

* Test set: frames of independent EMT Langevin MD at every temperature (300-1200 K),
  from a random seed used nowhere else — never trained on.
* (a) Active learning: ``run_active_learning`` with EMT as the reference; its labelled
  structures, taken in the order they were labelled, give the data set after n calls.
  The loop runs one committee MD trajectory per temperature that goes on between iterations
  (``continue_md``) and labels, from the frames of all temperatures, the ones with the largest
  force spread weighted by their distance to what is already chosen or labelled
  (``selection="weighted"``, batch query-by-committee). ``--al-recipe v1`` gives the earlier
  loop (MD restarted from the perfect cell every iteration, most uncertain then farthest-point).
* (b) Uniform: frames sampled uniformly from a long EMT MD pool at the same temperatures.

Every point of both curves is a fresh PaiNN of the same size trained with the same recipe:
``refit_epochs`` epochs of the n structures, at least ``refit_min_steps`` optimiser steps
(so small sets are not under-trained and large ones are not cut short). Each point is repeated
``replicates`` times — replicate r has its own AL run (seed r), its own uniform subset (nested
in n) and its own refit seed — and reported as mean, min and max.

Accounting. Headline: a reference call is a labelled structure; the uniform baseline's EMT MD
is *not* counted (the baseline's most favourable count, as if the MD pool were free). The ratio
is (AL calls) / (uniform calls at the same mean force MAE), the mean uniform curve interpolated
log-log; when uniform never reaches the AL error within its largest set, the ratio is an upper
bound. Secondary, DFT-realistic count: the uniform baseline must run reference MD to get its
frames, ``len(T) * equilibrate + n * every`` reference calls for n frames (the AL loop's MD is
run with the committee and costs no reference call). The issue's aim is a ratio <= 1/3.

Usage::

    python scripts/bench_active.py --quick          # ~4 CPU-minutes; a smoke test, its refits are too short to rank
    python scripts/bench_active.py --jobs 2         # ~3.5 CPU-hours (209 CPU-min measured; 107 min wall with 2 jobs)
    python scripts/bench_active.py --jobs 2 --system mixed   # v4
    python scripts/bench_active.py --jobs 2 --system mixed --seeds pool --replicates 2 \
        --uniform-from docs/active/bench_active_v4.json      # v4, seeded with real MD frames
    python scripts/bench_active.py --jobs 2 --system mixed --equilibration-steps 200 --candidate-spacing 25 \
        --uniform-from docs/active/bench_active_v4.json      # v5: no candidates while the MD equilibrates
    python scripts/bench_active.py --jobs 2 --system mixed --replicates 2 --equilibration-steps 200 \
        --candidate-spacing 25 --cutoff 5.5 --num-basis 16 --refit-epochs 1000 --refit-min-steps 16000 \
        --uniform-sizes 16 32 64 128 --al-points 16      # v6: a model that sees EMT's range, converged refits
    python scripts/bench_active.py ...v6's flags... --uniform-from docs/active/bench_active_v6.json \
        --al-points 32 48 --max-labels 64 --workdir DIR  # v7: v6's loops (their dbs in DIR) resumed to 64 labels
    python scripts/bench_active.py ...v6's flags... --uniform-from docs/active/bench_active_v6.json \
        --selection stratified --al-points 16 32 --max-labels 48   # v8: labels shared over the MD segments

The flags default to the loop as v3 and v4 ran it (no equilibration, candidates at any check), so the
earlier reports stay reproducible; v5 passes the library's defaults.

Progress goes to stderr; stdout gets one JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
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

from ase_mlmat.active import ActiveConfig, ActiveStore, committee_errors, run_active_learning
from ase_mlmat.data import get_labels
from ase_mlmat.train import TrainConfig, fit

# Both curves use the same PaiNN and recipe. v1 trained every point for a fixed 2400 steps: the
# uniform curve then stopped improving at 32 frames (0.037 eV/Å for 32, 64 and 128 frames), a
# training limit, not a data limit. v2 let steps grow with the data set (200 epochs, >= 2000 steps)
# but kept the library's default loss weights (energy 100, stress 100, forces 1): the energy term
# held the force error far above what the data allow (one seed, 32 uniform frames, 2000 steps:
# force MAE 0.041 eV/Å with energy/stress weights 100, 0.016 with 10, 0.009 with 1). v3 weighs
# energy, stress and forces 1 each, in every refit and every AL committee, and trains refits 300
# epochs with a floor of 4000 steps (32 frames: 0.0088 after 2000 steps, 0.0078 after 4000).
# At n <= 52 both curves get exactly the same training; larger uniform sets get more — which
# favours the uniform baseline, never AL.
# v3 measured (docs/active/bench_active_v3.json): the curves coincide, 0.0080 vs 0.0078 eV/Å at 32
# calls, ratio 1.49; 16 -> 128 uniform frames gains only 21 %, so this model size is saturated early.
SETTINGS = {
    "full": dict(
        model={"cutoff": 4.5, "num_features": 16, "num_interactions": 2, "num_basis": 8},
        temperatures_K=[300.0, 600.0, 900.0, 1200.0],
        test_per_T=25,
        pool_per_T=50,
        committee_size=3,
        train_steps=2000,
        finetune_steps=600,
        refit_epochs=300,
        refit_min_steps=4000,
        calm_steps=400,
        labels_per_iteration=4,
        num_seed=4,
        max_labels=32,
        al_points=[4, 8, 16, 24, 32],
        uniform=[4, 8, 16, 32, 64, 128],
        threshold=0.02,
        replicates=3,
        energy_weight=1.0,
        stress_weight=1.0,
        max_candidates=20,
        check_interval=10,
    ),
    "quick": dict(
        model={"cutoff": 4.5, "num_features": 16, "num_interactions": 2, "num_basis": 8},
        temperatures_K=[300.0, 1200.0],
        test_per_T=10,
        pool_per_T=20,
        committee_size=3,
        train_steps=300,
        finetune_steps=100,
        refit_epochs=50,
        refit_min_steps=600,
        calm_steps=100,
        labels_per_iteration=4,
        num_seed=4,
        max_labels=12,
        al_points=[4, 8, 12],
        uniform=[4, 8, 16, 32],
        threshold=0.05,
        replicates=2,
        energy_weight=1.0,
        stress_weight=1.0,
        max_candidates=20,
        check_interval=10,
    ),
}
# v4 measured (docs/active/bench_active_v4.json): AL 0.0096, uniform 0.0100 eV/Å at 32 calls, ratio 0.70.
# v5 measured (docs/active/bench_active_v5.json): the same with 200 equilibration steps and candidates >= 25 steps
# apart: AL 0.0093 eV/Å at 32 calls, ratio 0.55.
# v6 measured (docs/active/bench_active_v6.json): cutoff 5.5 A (EMT Cu reaches the fourth shell, 5.1 A), 16 Bessel
# functions, refits 1000 epochs with >= 16000 steps (v5's 4000-step refits were far from converged:
# scripts/refit_convergence.py): AL 0.0045, uniform 0.0051 eV/A at 32 calls, ratio 0.51 (2 replicates).
# v7 measured (docs/active/bench_active_v7.json): v6's loops resumed to 64 labels: AL 0.0038 / 0.0035 eV/A at
# 48 / 64 calls, ratio 0.56 / 0.65; the later labels go to hot slab and cluster frames.
# v4, --system mixed: four start structures (perfect bulk, vacancy, (111) slab, 38-atom cluster); test and
# pool frames per start and temperature; the AL committee runs one trajectory per start and temperature.
MIXED = dict(test_per_T=10, pool_per_T=40, al_points=[4, 8, 16, 32], uniform=[4, 8, 16, 32, 64, 128])
MIXED_QUICK = dict(test_per_T=4, pool_per_T=8, al_points=[4, 8, 12], uniform=[4, 8, 16, 32])
SYSTEMS = {
    "vacancy": "Cu31: fcc Cu 2x2x2 conventional cell with one vacancy",
    "mixed": "Cu32 bulk (2x2x2 conventional), Cu31 (the same with a vacancy), Cu24 (111) slab (2x2x6, "
    "6 A vacuum each side), Cu38 truncated-octahedron cluster (6 A vacuum)",
}
EQUILIBRATE, POOL_EVERY, TEST_EVERY = 200, 25, 20  # EMT MD steps


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def start_structures(system: str) -> dict[str, Atoms]:
    """Start structures of ``system``: "vacancy" (Cu31 only) or "mixed" (bulk, vacancy, (111) slab, cluster)."""
    crystal = bulk("Cu", "fcc", a=3.61, cubic=True) * (2, 2, 2)
    vacancy = crystal.copy()
    del vacancy[0]
    if system == "vacancy":
        return {"vacancy": vacancy}
    slab = fcc111("Cu", size=(2, 2, 6), a=3.61, vacuum=6.0)  # 24 atoms, two free surfaces
    cluster = Octahedron("Cu", 4, cutoff=1, latticeconstant=3.61)  # 38-atom truncated octahedron
    cluster.center(vacuum=6.0)
    for atoms in (slab, cluster):
        atoms.pbc = True  # vacuum wider than the cutoff: periodic images do not interact
    return {"bulk": crystal, "vacancy": vacancy, "slab": slab, "cluster": cluster}


def emt_frames(
    starts: list[Atoms],
    temperatures: list[float],
    per_T: int,
    *,
    every: int,
    seed: int,
    timestep_fs: float = 2.0,
    equilibrate: int = EQUILIBRATE,
) -> list[Atoms]:
    """EMT Langevin MD frames with EMT labels, ``per_T`` per start structure and temperature, ``every`` steps apart."""
    frames = []
    for (s, start), (k, temperature) in itertools.product(enumerate(starts), enumerate(temperatures)):
        rng = np.random.default_rng([seed, k] if s == 0 else [seed, s, k])  # start 0: the v3 streams
        atoms = start.copy()
        atoms.calc = EMT()
        sigma = np.sqrt(units.kB * temperature * atoms.get_masses())[:, None]
        atoms.set_momenta(rng.normal(size=(len(atoms), 3)) * sigma)
        Stationary(atoms)
        atoms.set_constraint(FixCom())
        dyn = Langevin(
            atoms, timestep_fs * units.fs, temperature_K=temperature, friction=0.01 / units.fs, fixcm=False, rng=rng
        )
        dyn.run(equilibrate)
        for _ in range(per_T):
            dyn.run(every)
            frame = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True, info={"start": s})
            frame.calc = SinglePointCalculator(
                frame, energy=atoms.get_potential_energy(), forces=atoms.get_forces(), stress=atoms.get_stress()
            )
            frames.append(frame)
    return frames


def test_frames(starts: list[Atoms], settings: dict, seed: int = 0) -> list[Atoms]:
    """The bench's test frames for run ``seed`` (an EMT MD stream used nowhere else)."""
    return emt_frames(starts, settings["temperatures_K"], settings["test_per_T"], every=TEST_EVERY, seed=1000 + seed)


def test_and_pool(starts: list[Atoms], settings: dict, seed: int = 0) -> tuple[list[Atoms], list[Atoms]]:
    """The bench's test frames and uniform-pool frames (independent EMT MD streams) for run ``seed``."""
    pool = emt_frames(starts, settings["temperatures_K"], settings["pool_per_T"], every=POOL_EVERY, seed=2000 + seed)
    return test_frames(starts, settings, seed), pool


def uniform_order(num_pool: int, replicate: int, seed: int = 0) -> np.ndarray:
    """Pool indices in replicate ``replicate``'s random order; its uniform set of n frames is the first n."""
    return np.random.default_rng([3000 + seed, replicate]).permutation(num_pool)


def refit_steps(n: int, settings: dict) -> int:
    """Optimiser steps of a refit on ``n`` structures (batch size 4): ``refit_epochs`` epochs, at least the floor."""
    return max(settings["refit_min_steps"], settings["refit_epochs"] * int(np.ceil(n / 4)))


def loss_weights(settings: dict) -> dict:
    """Loss weights of every model trained here (refits and AL committees); forces weigh 1."""
    return {"energy_weight": settings["energy_weight"], "stress_weight": settings["stress_weight"]}


def refit(structures: list[Atoms], settings: dict, seed: int):
    """A fresh model trained on ``structures`` with the common recipe (one torch thread)."""
    torch.set_num_threads(1)
    labels = [get_labels(a) for a in structures]
    batches = int(np.ceil(len(structures) / 4))
    epochs = int(np.ceil(refit_steps(len(structures), settings) / batches))
    config = TrainConfig(
        model=dict(settings["model"]),
        epochs=epochs,
        batch_size=4,
        learning_rate=5e-3,
        scheduler="cosine",
        seed=seed,
        device="cpu",
        progress=False,
        plots=False,
        early_stopping_patience=10**6,
        **loss_weights(settings),
    )
    return fit(config, structures, labels).model


def refit_mae(structures: list[Atoms], test: list[Atoms], settings: dict, seed: int) -> tuple[float, list[float]]:
    """Test force MAE (eV/Å) of a fresh model trained on ``structures`` with the common recipe: all, per start."""
    model = refit(structures, settings, seed)

    def mae(frames: list[Atoms]) -> float:
        return committee_errors([model], frames, [get_labels(a) for a in frames])["forces_mae_eV_per_A"]

    starts = sorted({a.info.get("start", 0) for a in test})
    return mae(test), [mae([a for a in test if a.info.get("start", 0) == s]) for s in starts]


def calls_for_error(curve: list[tuple[int, float]], target: float) -> tuple[float, str | None]:
    """Reference calls at which ``curve`` (calls, MAE) first reaches ``target``, and whether that is a bound.

    The curve is replaced by its running minimum (the best error reached with at most n calls), so
    training noise cannot make a larger data set look worse; between points it is interpolated log-log.
    Outside the curve the answer is its end: ``"at least"`` the last point's calls when the curve never
    reaches ``target``, ``"at most"`` the first point's calls when that point is already below it.
    """
    curve = [(n, min(e for _, e in curve[: k + 1])) for k, (n, _) in enumerate(curve)]
    if curve[0][1] <= target:
        return float(curve[0][0]), None if curve[0][1] == target else "at most"
    for (n0, e0), (n1, e1) in itertools.pairwise(curve):
        if e0 > target >= e1:
            fraction = np.log(e0 / target) / np.log(e0 / e1)
            return float(np.exp(np.log(n0) + fraction * np.log(n1 / n0))), None
    return float(curve[-1][0]), "at least"


def al_config(
    settings: dict,
    workdir: Path,
    test_file: Path,
    seed: int,
    recipe: str,
    schedule: str,
    num_starts: int = 1,
    selection: str = "weighted",
) -> ActiveConfig:
    v2 = recipe == "v2"
    return ActiveConfig(
        db=str(workdir / f"bench_active_r{seed}.db"),
        reference="ase.calculators.emt:EMT",
        num_seed=settings["num_seed"],
        committee_size=settings["committee_size"],
        model=dict(settings["model"]),
        train_steps=settings["train_steps"],
        finetune_steps=settings["finetune_steps"],
        temperatures_K=settings["temperatures_K"],
        temperature_schedule=schedule,
        calm_steps=settings["calm_steps"],
        threshold=settings["threshold"],
        labels_per_iteration=settings["labels_per_iteration"],
        max_labels=settings["max_labels"],
        test_data=str(test_file),
        seed=seed,
        selection=selection if v2 else "diverse",
        continue_md=v2,
        train_options=loss_weights(settings),
        max_candidates=max(4, settings["max_candidates"] // num_starts),
        check_interval=settings["check_interval"],
        equilibration_steps=settings["equilibration_steps"],
        candidate_spacing=settings["candidate_spacing"],
    )


def run_al(job: tuple) -> dict:
    """One AL run (replicate ``seed``); returns its labelled structures and summary."""
    settings, workdir, test_file, seed, recipe, schedule, system, selection, seed_frames = job
    torch.set_num_threads(1)
    starts = list(start_structures(system).values())
    if seed_frames:  # they replace the rattled copies; the loop labels them (one reference call each)
        settings = {**settings, "num_seed": 0}
    config = al_config(settings, Path(workdir), Path(test_file), seed, recipe, schedule, len(starts), selection)
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_active_learning(
        config,
        structure=starts,
        seed_structures=seed_frames,
        log=lambda m: print(f"[r{seed}] {m}", file=sys.stderr, flush=True),
    )
    structures = ActiveStore(config.db).labelled()[0]  # in the order they were labelled
    rows = list(ActiveStore(config.db).db.select(al_status="labelled", sort="id"))
    temperatures = [row.get("temperature_K") for row in rows]
    label_starts = [row.get("start_index") for row in rows]
    committee = [
        {"reference_calls": h["reference_calls"], "forces_mae_eV_per_A": round(h["test_forces_mae_eV_per_A"], 5)}
        for _, h in sorted(result.history.items())
        if "test_forces_mae_eV_per_A" in h
    ]
    return {
        "seed": seed,
        "structures": structures,
        "reason": result.reason,
        "md_steps": result.md_steps,
        "committee_curve": committee,
        "label_temperatures_K": temperatures,
        "label_starts": label_starts,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
    }


def pool_seed_indices(pool: list[Atoms], replicate: int) -> list[int]:
    """Indices of one random pool frame per start structure (replicate ``replicate``'s seed set)."""
    rng = np.random.default_rng([4000, replicate])
    starts = np.array([a.info.get("start", 0) for a in pool])
    return [int(rng.choice(np.flatnonzero(starts == s))) for s in sorted(set(starts.tolist()))]


def pool_seeds(pool: list[Atoms], replicate: int) -> list[Atoms]:
    """The frames of :func:`pool_seed_indices`, unlabelled (the AL loop labels them itself)."""
    return [
        Atoms(pool[i].numbers, pool[i].positions, cell=pool[i].cell, pbc=pool[i].pbc)
        for i in pool_seed_indices(pool, replicate)
    ]


def run_refit(job: tuple) -> tuple:
    key, structures, test, settings, seed = job
    c0 = time.process_time()
    mae, per_start = refit_mae(structures, test, settings, seed)
    return key, mae, per_start, time.process_time() - c0


def summarize(points: dict[int, list[float]]) -> list[dict]:
    return [
        {
            "reference_calls": n,
            "forces_mae_eV_per_A": round(float(np.mean(e)), 5),
            "min": round(float(np.min(e)), 5),
            "max": round(float(np.max(e)), 5),
            "per_replicate": [round(x, 5) for x in e],
        }
        for n, e in sorted(points.items())
    ]


def ratio_table(active: list[tuple[int, float]], uniform: list[tuple[int, float]], trajectories: int) -> list[dict]:
    """Per AL point: uniform calls at the same error and the ratio; ``trajectories``: reference MD runs of the pool."""
    rows = []
    for n, e in active:
        m, bound = calls_for_error(uniform, e)
        md_calls = trajectories * EQUILIBRATE + m * POOL_EVERY  # reference MD a DFT user would run for m frames
        rows.append(
            {
                "reference_calls": n,
                "uniform_calls_same_error": round(m, 1),
                "ratio": round(n / m, 3),
                "upper_bound": bound == "at least",
                "lower_bound": bound == "at most",
                "uniform_calls_with_md": round(md_calls),
                "ratio_with_md": round(n / md_calls, 4),
            }
        )
    return rows


def earlier_uniform(
    path: str, settings: dict, args: argparse.Namespace, replicates: int, num_test: int, num_pool: int
) -> tuple[list[dict], dict]:
    """The uniform curve and its per-start errors from an earlier report, after checking it was made the same way."""
    earlier = json.loads(Path(path).read_text().strip().splitlines()[-1])
    expected = {
        "system": SYSTEMS[args.system],
        "temperatures_K": settings["temperatures_K"],
        "model": {"architecture": "painn", **settings["model"]},
        "test_frames": num_test,
        "pool_frames": num_pool,
        "refit": {
            "epochs": settings["refit_epochs"],
            "min_steps": settings["refit_min_steps"],
            "batch_size": 4,
            "learning_rate": 5e-3,
            "scheduler": "cosine",
            **loss_weights(settings),
        },
    }
    differ = [key for key, value in expected.items() if earlier.get(key) != value]
    if differ or earlier.get("uniform_from") or earlier["replicates"] < replicates or args.seed != 0:
        raise SystemExit(f"{path} was not made with these settings ({', '.join(differ) or 'replicates/seed'})")
    uniform = [{**p, "per_replicate": p["per_replicate"][:replicates]} for p in earlier["uniform"]]
    # per-start errors stay the earlier run's means over all its replicates
    log(f"uniform curve from {path} ({replicates} of its {earlier['replicates']} replicates)")
    per_start = {int(n): errors for n, errors in earlier["forces_mae_per_start"]["uniform"].items()}
    return summarize({p["reference_calls"]: p["per_replicate"] for p in uniform}), per_start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (~4 CPU-minutes)")
    parser.add_argument("--workdir", help="keep the AL databases here (default: a temporary directory)")
    parser.add_argument("--schedule", choices=["all", "ramp"], default="all", help="AL temperature schedule")
    parser.add_argument(
        "--al-recipe",
        choices=["v1", "v2"],
        default="v2",
        help="v2: continued MD + uncertainty-weighted selection; v1: the earlier loop",
    )
    parser.add_argument(
        "--selection",
        choices=["weighted", "diverse", "d-optimal", "stratified"],
        default="weighted",
        help="AL selection of the v2 recipe: spread x distance (v3-v7), D-optimality on "
        "member 0's last-layer features, or labels shared over the MD segments by their mean "
        "spread first (v8)",
    )
    parser.add_argument(
        "--uniform-from",
        metavar="JSON",
        help="take the uniform curve from an earlier report of this script with the same system, "
        "model, refit, frames and seed (it is deterministic) instead of refitting it",
    )
    parser.add_argument("--replicates", type=int, help="AL runs / uniform subsets / refit seeds per point")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (each one torch thread)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (of the main process)")
    parser.add_argument(
        "--system",
        choices=["vacancy", "mixed"],
        default="vacancy",
        help="vacancy: Cu31 only (v3); mixed: bulk, vacancy, (111) slab and cluster (v4)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds",
        choices=["rattled", "pool"],
        default="rattled",
        help="AL seed set: rattled copies of the starts, or one random pool MD frame per start "
        "(as bench_pool_selection; labelled by the loop, so still counted as calls)",
    )
    parser.add_argument(
        "--equilibration-steps",
        type=int,
        default=0,
        help="committee MD steps after each fresh start that give no candidates (0 as v3, v4; "
        "v5: 200, the library's default)",
    )
    parser.add_argument(
        "--candidate-spacing",
        type=int,
        default=0,
        help="fewest committee MD steps between two candidates of a segment (0 as v3, v4; "
        "v5: 25, the library's default)",
    )
    parser.add_argument("--cutoff", type=float, help="model cutoff, Å (default 4.5 as v3-v5; v6: 5.5)")
    parser.add_argument("--num-basis", type=int, help="radial basis functions (default 8 as v3-v5; v6: 16)")
    parser.add_argument("--refit-epochs", type=int, help="epochs of every refit (default 300 as v3-v5; v6: 1000)")
    parser.add_argument(
        "--refit-min-steps", type=int, help="fewest optimiser steps of a refit (default 4000 as v3-v5; v6: 16000)"
    )
    parser.add_argument("--uniform-sizes", type=int, nargs="+", metavar="N", help="uniform set sizes to refit")
    parser.add_argument("--al-points", type=int, nargs="+", metavar="N", help="AL label counts to refit")
    parser.add_argument(
        "--max-labels",
        type=int,
        help="AL label budget (default 32, --quick 12); with --workdir holding an earlier run's "
        "databases, the loop resumes from them and spends only the extra labels (v7: 64 after "
        "v6's 32)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = dict(SETTINGS["quick" if args.quick else "full"])
    settings.update(equilibration_steps=args.equilibration_steps, candidate_spacing=args.candidate_spacing)
    if args.system == "mixed":
        settings.update(MIXED_QUICK if args.quick else MIXED)
    settings["model"] = {
        **settings["model"],
        **{key: value for key, value in (("cutoff", args.cutoff), ("num_basis", args.num_basis)) if value is not None},
    }
    for key, value in (
        ("refit_epochs", args.refit_epochs),
        ("refit_min_steps", args.refit_min_steps),
        ("uniform", args.uniform_sizes),
        ("al_points", args.al_points),
        ("max_labels", args.max_labels),
    ):
        if value is not None:
            settings[key] = value
    named_starts = start_structures(args.system)
    starts = list(named_starts.values())
    replicates = args.replicates or settings["replicates"]
    temperatures = settings["temperatures_K"]
    t0, c0 = time.perf_counter(), time.process_time()

    test, pool = test_and_pool(starts, settings, args.seed)
    log(f"{len(test)} test frames, {len(pool)} uniform-pool frames ({time.perf_counter() - t0:.0f} s)")
    reused = (
        earlier_uniform(args.uniform_from, settings, args, replicates, len(test), len(pool))
        if args.uniform_from
        else None
    )  # checked before hours of AL, not after
    context = multiprocessing.get_context("fork")
    cpu_children = 0.0

    with tempfile.TemporaryDirectory() as scratch, context.Pool(args.jobs) as workers:
        workdir = Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        test_file = workdir / "test.extxyz"
        write(test_file, test)
        t_al = time.perf_counter()
        jobs = [
            (
                settings,
                str(workdir),
                str(test_file),
                args.seed + r,
                args.al_recipe,
                args.schedule,
                args.system,
                args.selection,
                pool_seeds(pool, r) if args.seeds == "pool" else None,
            )
            for r in range(replicates)
        ]
        pending_al = [workers.apply_async(run_al, (job,)) for job in jobs]  # queued first, so they start first
        uniform_jobs = []
        for r in range(0 if args.uniform_from else replicates):
            order = uniform_order(len(pool), r, args.seed)  # nested uniform subsets
            uniform_jobs += [
                (("uniform", n, r), [pool[i] for i in order[:n]], test, settings, args.seed + r)
                for n in settings["uniform"]
            ]
        uniform_jobs.sort(key=lambda job: -refit_steps(len(job[1]), settings))  # longest first: better packing
        pending = [workers.apply_async(run_refit, (job,)) for job in uniform_jobs]  # they do not wait for AL
        runs = []
        for handle in pending_al:
            run = handle.get()
            log(
                f"AL replicate {run['seed']}: {len(run['structures'])} labels, {run['md_steps']} committee MD steps, "
                f"{run['cpu_seconds']:.0f} CPU s; {run['reason']}"
            )
            cpu_children += run["cpu_seconds"]
            r, structures = len(runs), run["structures"]
            runs.append(run)
            # queued now, so they run beside the AL replicates still going
            points = sorted({n for n in settings["al_points"] if n < len(structures)} | {len(structures)})
            pending += [
                workers.apply_async(run_refit, ((("active", n, r), structures[:n], test, settings, args.seed + r),))
                for n in points
            ]
        al_seconds = time.perf_counter() - t_al
        results: dict[str, dict[int, list[float]]] = {"active": {}, "uniform": {}}
        by_start: dict[str, dict[int, list[list[float]]]] = {"active": {}, "uniform": {}}
        for handle in pending:
            (kind, n, r), mae, per_start, cpu = handle.get()
            cpu_children += cpu
            results[kind].setdefault(n, []).append((r, mae))
            by_start[kind].setdefault(n, []).append(per_start)
            detail = "".join(f", {name} {e:.4f}" for name, e in zip(named_starts, per_start, strict=True))
            log(
                f"{kind:7s} {n:4d} calls, replicate {r}: force MAE {mae:.4f} eV/Å{detail if len(starts) > 1 else ''} "
                f"({refit_steps(n, settings)} steps, {cpu:.0f} CPU s)"
            )
    results = {kind: {n: [mae for _, mae in sorted(v)] for n, v in points.items()} for kind, points in results.items()}
    active, uniform = summarize(results["active"]), summarize(results["uniform"])
    per_start_mae = {
        kind: {
            n: {name: round(float(np.mean([row[s] for row in rows])), 5) for s, name in enumerate(named_starts)}
            for n, rows in sorted(points.items())
        }
        for kind, points in by_start.items()
    }
    if reused:
        uniform, per_start_mae["uniform"] = reused
    for name, curve in (("active", active), ("uniform", uniform)):
        for p in curve:
            log(
                f"{name:7s} {p['reference_calls']:4d} calls: force MAE {p['forces_mae_eV_per_A']:.4f} eV/Å "
                f"(min {p['min']:.4f}, max {p['max']:.4f}, {len(p['per_replicate'])} replicates)"
            )
    trajectories = len(starts) * len(temperatures)
    mean_active = [(p["reference_calls"], p["forces_mae_eV_per_A"]) for p in active]
    mean_uniform = [(p["reference_calls"], p["forces_mae_eV_per_A"]) for p in uniform]
    ratios = ratio_table(mean_active, mean_uniform, trajectories)
    per_replicate = []  # AL replicate r against uniform replicate r, at the AL run's last point
    for r in range(replicates):
        a = [(p["reference_calls"], p["per_replicate"][r]) for p in active if len(p["per_replicate"]) > r]
        u = [(p["reference_calls"], p["per_replicate"][r]) for p in uniform]
        per_replicate.append(ratio_table(a[-1:], u, trajectories)[0]["ratio"])
    headline = ratios[-1]
    best = min(ratios, key=lambda row: row["ratio"])
    bound = " (upper bound)" if headline["upper_bound"] else " (lower bound)" if headline["lower_bound"] else ""
    log(
        f"ratio at equal error (last AL point, {headline['reference_calls']} calls): {headline['ratio']:.3f}"
        f"{bound}; per replicate {per_replicate}; "
        f"lowest over AL points {best['ratio']:.3f} at {best['reference_calls']} calls. Aim: <= 0.333"
    )
    log(
        f"secondary, uniform's reference MD counted: ratio {headline['ratio_with_md']:.4f} "
        f"({headline['reference_calls']} vs {headline['uniform_calls_with_md']} calls)"
    )
    children = os.times()
    cpu_seconds = time.process_time() - c0 + (children.children_user + children.children_system)
    report = {
        "benchmark": "active_learning_vs_uniform_md_sampling",
        "mode": "quick" if args.quick else "full",
        "reference": "EMT",
        "system": SYSTEMS[args.system],
        "starts": {name: len(atoms) for name, atoms in named_starts.items()},
        "temperatures_K": temperatures,
        "al_recipe": args.al_recipe,
        "al_selection": args.selection,
        "al_seeds": args.seeds,
        "uniform_from": args.uniform_from,
        "al_schedule": args.schedule,
        "model": {"architecture": "painn", **settings["model"]},
        "refit": {
            "epochs": settings["refit_epochs"],
            "min_steps": settings["refit_min_steps"],
            "batch_size": 4,
            "learning_rate": 5e-3,
            "scheduler": "cosine",
            **loss_weights(settings),
        },
        "al_committee": {
            k: settings[k]
            for k in (
                "committee_size",
                "train_steps",
                "finetune_steps",
                "threshold",
                "labels_per_iteration",
                "num_seed",
                "max_candidates",
                "equilibration_steps",
                "candidate_spacing",
                "max_labels",
            )
        },
        "replicates": replicates,
        "test_frames": len(test),
        "pool_frames": len(pool),
        "active": active,
        "uniform": uniform,
        "forces_mae_per_start": per_start_mae,
        "ratio_at_equal_error": headline["ratio"],
        "ratio_is_upper_bound": headline["upper_bound"],
        "ratio_per_replicate": per_replicate,
        "ratios": ratios,
        "aim": "ratio <= 0.333",
        "secondary_ratio_uniform_md_counted": headline["ratio_with_md"],
        "al_runs": [
            {
                "seed": run["seed"],
                "labels": len(run["structures"]),
                "stop_reason": run["reason"],
                "md_steps": run["md_steps"],
                "committee_in_loop": run["committee_curve"],
                "label_temperatures_K": run["label_temperatures_K"],
                "label_starts": [None if k is None else list(named_starts)[k] for k in run["label_starts"]],
                "cpu_seconds": round(run["cpu_seconds"], 1),
            }
            for run in runs
        ],
        "al_seconds": round(al_seconds, 1),
        "seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "cpu_seconds_in_tasks": round(cpu_children, 1),
        "jobs": args.jobs,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
