"""Molecular dynamics with any ASE calculator: NVE (velocity Verlet) or NVT (Langevin)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms, units
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet


@dataclass(frozen=True)
class MDResult:
    """Time series of one run; energies in eV per atom, time in ps, temperature in K.

    ``drift_meV_per_atom_per_ps`` is the slope of a linear fit of the total energy, a check of the
    integrator and of forces being the energy's gradient. It is ``None`` under NVT, where the
    thermostat exchanges energy with a bath and the total energy is not conserved.
    """

    time_ps: np.ndarray
    potential_eV_per_atom: np.ndarray
    total_eV_per_atom: np.ndarray
    temperature_K: np.ndarray
    drift_meV_per_atom_per_ps: float | None
    steps: int
    ensemble: str  # "nve" or "nvt"


def run_md(
    atoms: Atoms,
    *,
    ensemble: str = "nve",
    temperature_K: float = 300.0,
    timestep_fs: float = 1.0,
    steps: int = 1000,
    interval: int = 10,
    friction_per_fs: float = 0.01,
    trajectory: str | None = None,
    rng: np.random.Generator | None = None,
    callback=None,
) -> MDResult:
    """Run MD on ``atoms`` (with its calculator attached), velocities drawn at ``temperature_K``.

    Args:
        ensemble: "nve" (velocity Verlet) or "nvt" (Langevin thermostat).
        interval: steps between recorded samples (and trajectory frames).
        callback: called as ``callback(step, atoms)`` at every sample, e.g. for progress.
    """
    if ensemble not in ("nve", "nvt"):
        raise ValueError(f"ensemble must be 'nve' or 'nvt', got {ensemble!r}")
    if steps < 1 or interval < 1 or timestep_fs <= 0:
        raise ValueError("steps and interval must be >= 1 and timestep_fs > 0")
    rng = rng if rng is not None else np.random.default_rng(0)
    thermalize_momenta(atoms, temperature_K, rng=rng)
    Stationary(atoms)
    dt = timestep_fs * units.fs
    constraints = atoms.constraints
    if ensemble == "nve":
        dyn = VelocityVerlet(atoms, timestep=dt, trajectory=trajectory, loginterval=interval)
    else:
        # the thermostat's random forces would move the centre of mass: hold it with FixCom for the run
        atoms.set_constraint([*constraints, FixCom()])
        dyn = Langevin(
            atoms,
            timestep=dt,
            temperature_K=temperature_K,
            friction=friction_per_fs / units.fs,
            fixcm=False,
            rng=rng,
            trajectory=trajectory,
            loginterval=interval,
        )
    n = len(atoms)
    record: dict[str, list[float]] = {"t": [], "epot": [], "etot": [], "temp": []}

    def sample():
        epot = atoms.get_potential_energy() / n
        ekin = atoms.get_kinetic_energy() / n
        record["t"].append(dyn.nsteps * timestep_fs / 1000.0)
        record["epot"].append(epot)
        record["etot"].append(epot + ekin)
        record["temp"].append(atoms.get_temperature())
        if callback is not None:
            callback(dyn.nsteps, atoms)

    dyn.attach(sample, interval=interval)
    try:
        dyn.run(steps)
    finally:
        atoms.set_constraint(constraints)
    t = np.array(record["t"])
    etot = np.array(record["etot"])
    drift = None
    if ensemble == "nve":
        drift = float(np.polyfit(t, etot, 1)[0] * 1000.0) if len(t) > 1 else 0.0
    return MDResult(t, np.array(record["epot"]), etot, np.array(record["temp"]), drift, steps, ensemble)
