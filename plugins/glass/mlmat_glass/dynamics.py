"""Molecular dynamics for the Kob–Andersen mixture: velocity Verlet, Bussi thermostat, initial states.

Equal masses m = 1, LJ units: time in τ = σ √(m/ε), temperature in ε/k_B. Positions are kept
*unwrapped* (absolute coordinates), so displacements over any time are differences of positions;
forces wrap them into the box.

Equilibration uses the canonical velocity-rescaling thermostat of Bussi, Donadio & Parrinello
(J. Chem. Phys. 126, 014101, 2007), which samples NVT exactly and perturbs dynamics only through the
kinetic energy; production runs are NVE (plain velocity Verlet).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .kob_andersen import A_FRACTION, NUMBER_DENSITY, ForceResult, box_lengths, kob_andersen_forces, pressure


@dataclasses.dataclass
class MDState:
    """A configuration in motion (LJ units). ``positions`` are unwrapped (N, 3) σ; ``velocities`` (N, 3)."""

    positions: np.ndarray
    velocities: np.ndarray
    types: np.ndarray
    box: np.ndarray
    forces: np.ndarray | None = None
    result: ForceResult | None = None

    @property
    def n_dof(self) -> int:
        """Degrees of freedom with total momentum fixed: 3N − 3."""
        return 3 * len(self.types) - 3

    def kinetic_energy(self) -> float:
        return 0.5 * float(np.sum(self.velocities**2))

    def temperature(self) -> float:
        return 2.0 * self.kinetic_energy() / self.n_dof

    def volume(self) -> float:
        return float(np.prod(self.box))

    def compute_forces(self) -> ForceResult:
        self.result = kob_andersen_forces(self.positions, self.types, self.box)
        self.forces = self.result.forces
        return self.result

    def pressure(self) -> float:
        result = self.result if self.result is not None else self.compute_forces()
        return pressure(result.virial, self.kinetic_energy(), self.volume())


def maxwell_boltzmann(n: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Velocities (n, 3) from the Maxwell–Boltzmann distribution at ``temperature`` (ε/k_B), zero total momentum,
    rescaled so that the kinetic temperature (3n − 3 degrees of freedom) equals ``temperature`` exactly."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    velocities = rng.standard_normal((n, 3)) * math.sqrt(temperature)
    velocities -= velocities.mean(axis=0)
    current = np.sum(velocities**2) / (3 * n - 3)
    return velocities * math.sqrt(temperature / current)


def kob_andersen_types(n_particles: int, rng: np.random.Generator) -> np.ndarray:
    """Types (N,) int8 with round(0.8 N) A particles (0) and the rest B (1), in random order."""
    n_a = round(A_FRACTION * n_particles)
    types = np.ones(n_particles, dtype=np.int8)
    types[:n_a] = 0
    return rng.permutation(types)


def lattice_start(
    n_particles: int, temperature: float, rng: np.random.Generator, *, density: float = NUMBER_DENSITY
) -> MDState:
    """A non-overlapping start: N random sites of a simple cubic lattice in the box of the given density,
    80:20 types at random, Maxwell–Boltzmann velocities. Melt it before use (see :func:`equilibrate`)."""
    if n_particles < 20:
        raise ValueError(f"need at least 20 particles, got {n_particles}")
    length = (n_particles / density) ** (1.0 / 3.0)
    box = box_lengths(length)
    per_side = math.ceil(n_particles ** (1.0 / 3.0))
    grid = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    sites = rng.choice(len(grid), size=n_particles, replace=False)
    positions = (grid[sites] + 0.5) * (length / per_side)
    types = kob_andersen_types(n_particles, rng)
    return MDState(positions, maxwell_boltzmann(n_particles, temperature, rng), types, box)


def bussi_scale(kinetic: float, target: float, n_dof: int, decay: float, rng: np.random.Generator) -> float:
    """Velocity scale factor of the Bussi–Donadio–Parrinello thermostat for one step.

    Args:
        kinetic: current kinetic energy K (ε).
        target: target kinetic energy n_dof · T / 2 (ε).
        n_dof: degrees of freedom.
        decay: exp(−Δt / τ_T).
    """
    r1 = rng.standard_normal()
    sum_r2 = rng.chisquare(n_dof - 1) if n_dof > 1 else 0.0
    ratio = target / (n_dof * kinetic)
    alpha2 = decay + (1.0 - decay) * (sum_r2 + r1 * r1) * ratio + 2.0 * r1 * math.sqrt(decay * (1.0 - decay) * ratio)
    sign = 1.0 if r1 + math.sqrt(decay / ((1.0 - decay) * ratio)) >= 0 else -1.0
    return sign * math.sqrt(alpha2)


def verlet_step(state: MDState, dt: float) -> None:
    """One velocity-Verlet step of length ``dt`` (τ), in place."""
    if state.forces is None:
        state.compute_forces()
    state.velocities += 0.5 * dt * state.forces
    state.positions += dt * state.velocities
    state.compute_forces()
    state.velocities += 0.5 * dt * state.forces


def run(
    state: MDState,
    n_steps: int,
    dt: float,
    *,
    temperature: float | None = None,
    thermostat_time: float = 0.5,
    rng: np.random.Generator | None = None,
    every: int = 0,
    callback=None,
) -> None:
    """Advance ``n_steps`` steps: NVE, or NVT (Bussi) when ``temperature`` is given.

    Args:
        state: advanced in place.
        dt: time step (τ); 0.003–0.005 is customary for KA.
        temperature: thermostat temperature (ε/k_B), or None for NVE.
        thermostat_time: relaxation time τ_T of the thermostat (τ).
        rng: random generator for the thermostat.
        every, callback: call ``callback(state, step)`` every ``every`` steps (after the step).
    """
    if temperature is not None:
        rng = rng if rng is not None else np.random.default_rng()
        half_decay = math.exp(-0.5 * dt / thermostat_time)
    for step in range(1, n_steps + 1):
        if temperature is not None:  # half-step thermostat, velocity Verlet, half-step thermostat
            target = 0.5 * state.n_dof * temperature
            state.velocities *= bussi_scale(state.kinetic_energy(), target, state.n_dof, half_decay, rng)
        verlet_step(state, dt)
        if temperature is not None:
            state.velocities *= bussi_scale(state.kinetic_energy(), target, state.n_dof, half_decay, rng)
        if callback is not None and every and step % every == 0:
            callback(state, step)


def equilibrate(
    state: MDState,
    temperature: float,
    duration: float,
    *,
    dt: float = 0.005,
    rng: np.random.Generator | None = None,
    thermostat_time: float = 0.5,
) -> MDState:
    """Run NVT (Bussi) at ``temperature`` for ``duration`` (τ) and return the state (same object)."""
    n_steps = max(1, round(duration / dt))
    run(state, n_steps, dt, temperature=temperature, thermostat_time=thermostat_time, rng=rng)
    return state
