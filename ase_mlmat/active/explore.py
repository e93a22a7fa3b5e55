"""One exploration segment: Langevin MD with the committee, watching its spread.

Every ``check_interval`` steps the committee's spread is read (it comes with every force
evaluation, so checking costs nothing extra). Frames above ``threshold`` are candidates.
The segment stops early when ``max_candidates`` are collected, or when the spread passes
``abort_threshold`` — past that point the committee's forces are not to be trusted and the
trajectory may become unphysical; such a frame is kept as a candidate only if there is no
other, so the loop always learns where it failed.

A committee can also agree and be wrong, early on most of all: its MD then collapses
(atoms far closer than in any sane structure) or heats up while the spread stays small.
Two sanity checks end the segment there — a shortest interatomic distance below
``min_distance_A`` or an instantaneous temperature above ``max_temperature_K`` — and,
without other candidates, the last sane frame is labelled: the model learns the repulsion
it lacked instead of fitting forces of hundreds of eV/Å.

MD started from a relaxed structure with Maxwell-Boltzmann velocities is not yet at its
temperature: equipartition halves the kinetic energy within ~100 fs and the thermostat needs
several relaxation times to bring it back (EMT Cu at 1200 K with a friction of 0.01/fs is near
750 K over the first 100 fs and reaches 1200 K only after ~400 fs). Frames from that stretch are
colder and less displaced than the equilibrium ones the model will meet, so the ``equilibration_steps``
after a fresh start are watched (abort and sanity checks apply) but give no candidates. ``candidate_spacing`` keeps
candidates of one segment that many MD steps apart, so they are not near-copies of one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary
from ase.neighborlist import neighbor_list

from .selection import atomic_force_spread
from .store import bare_copy

if TYPE_CHECKING:
    from .config import ActiveConfig


@dataclass(frozen=True)
class Segment:
    """What one MD segment runs and watches. Units: K, fs, eV/Å, eV/atom, Å.

    Args:
        temperature_K: thermostat temperature; initial velocities are drawn at it.
        steps: MD steps after the burn-in (a calm segment runs them all).
        threshold: force spread above which a frame is a candidate.
        abort_threshold: force spread that ends the segment.
        max_candidates: candidates that end the segment.
        energy_threshold: energy spread that also makes a candidate; None: not used.
        min_distance_A: a shorter interatomic distance ends the segment as unphysical.
        max_temperature_K: a higher instantaneous temperature ends the segment as unphysical.
        equilibration_steps: MD steps run first after thermalizing, giving no candidates (only an abort or
            an unphysical frame ends them); not run when a trajectory is continued.
        candidate_spacing: fewest MD steps between two candidates; 0: every check may give one.
    """

    temperature_K: float
    steps: int
    timestep_fs: float = 2.0
    friction_per_fs: float = 0.01
    check_interval: int = 10
    threshold: float = 0.1
    abort_threshold: float = 0.5
    max_candidates: int = 20
    energy_threshold: float | None = None
    min_distance_A: float = 0.0
    max_temperature_K: float = np.inf
    equilibration_steps: int = 0
    candidate_spacing: int = 0

    @classmethod
    def from_config(cls, config: ActiveConfig, temperature_K: float, shortest_bond_A: float) -> Segment:
        """The segment of ``config`` at ``temperature_K`` from a start whose shortest bond is ``shortest_bond_A``."""
        md, selection = config.exploration, config.selection
        return cls(
            temperature_K=temperature_K,
            steps=config.stopping.calm_steps,
            timestep_fs=md.timestep_fs,
            friction_per_fs=md.friction_per_fs,
            check_interval=md.check_interval,
            threshold=selection.threshold,
            abort_threshold=config.abort_at,
            max_candidates=selection.max_candidates,
            energy_threshold=selection.energy_threshold,
            min_distance_A=md.min_distance_ratio * shortest_bond_A,
            max_temperature_K=md.max_temperature_ratio * temperature_K,
            equilibration_steps=md.equilibration_steps,
            candidate_spacing=md.candidate_spacing,
        )


@dataclass
class Exploration:
    """Result of one MD segment; spreads in eV/Å (forces) and eV/atom (energy)."""

    temperature_K: float
    steps: int = 0  # MD steps run
    candidates: list[Atoms] = field(default_factory=list)
    force_std: list[float] = field(default_factory=list)  # per candidate
    energy_std: list[float] = field(default_factory=list)  # per candidate
    max_force_std: float = 0.0  # over all checked frames
    mean_force_std: float = np.nan  # per-atom spread averaged over atoms and the checked frames past the burn-in
    final: Atoms | None = None  # last sane frame, with momenta, to continue from (None after md_error/unphysical)
    stop_reason: str = ""  # calm, max_candidates, abort, unphysical: ..., md_error: ...; "" ran full length

    @property
    def calm(self) -> bool:
        """The full segment ran without any frame above the thresholds."""
        return self.stop_reason == "calm"


def explore(
    start: Atoms,
    calculator: Calculator,
    segment: Segment | None = None,
    *,
    rng: np.random.Generator | None = None,
    thermalize: bool = True,
    **settings,
) -> Exploration:
    """Run one :class:`Segment` of Langevin NVT MD from ``start`` (not modified) with ``calculator``, a committee.

    Args:
        segment: what to run and watch; without it, ``settings`` are its fields.
        rng: random generator for velocities and the thermostat.
        thermalize: draw Maxwell-Boltzmann velocities at the segment's temperature; False keeps the momenta
            of ``start`` (e.g. ``final`` of the previous segment, so that the trajectory continues).
    """
    segment = segment if segment is not None else Segment(**settings)
    rng = rng if rng is not None else np.random.default_rng(0)
    atoms = initial_frame(start, segment, rng, thermalize=thermalize)
    atoms.calc = calculator
    dyn = Langevin(
        atoms,
        timestep=segment.timestep_fs * units.fs,
        temperature_K=segment.temperature_K,
        friction=segment.friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )
    watch = Watch(segment, thermalize=thermalize)
    n = len(atoms)
    while not watch.done:
        chunk = watch.next_chunk()
        try:
            dyn.run(chunk)
            atom_spread = atomic_force_spread(calculator.results, n)
            energy_std = float(calculator.results["energy_std"]) / n
        except (ValueError, FloatingPointError, RuntimeError) as err:  # overlapping atoms, NaN, ...
            return watch.fail(f"md_error: {type(err).__name__}: {err}")
        watch.check(atoms, atom_spread, energy_std, chunk)
    return watch.result


def initial_frame(start: Atoms, segment: Segment, rng: np.random.Generator, *, thermalize: bool) -> Atoms:
    """A bare copy of ``start`` with the segment's first momenta (no net momentum) and a :class:`FixCom`.

    ``thermalize``: Maxwell-Boltzmann momenta at the segment's temperature drawn from ``rng``; False keeps the
    momenta of ``start``.
    """
    atoms = bare_copy(start)
    if thermalize:
        _thermalize(atoms, segment.temperature_K, rng)
    else:
        atoms.set_momenta(start.get_momenta())
    Stationary(atoms)
    atoms.set_constraint(FixCom())
    return atoms


class Watch:
    """The checks of one segment, frame by frame: candidates, abort, unphysical frames, spread statistics.

    Any MD engine drives it: run :meth:`next_chunk` steps, then :meth:`check` the frame reached (or
    :meth:`fail`), until :attr:`done`; :attr:`result` is the segment's :class:`Exploration`.
    """

    def __init__(self, segment: Segment, *, thermalize: bool = True):
        self.segment = segment
        self.result = Exploration(segment.temperature_K)
        self.burn_in = segment.equilibration_steps if thermalize else 0
        self.total = self.burn_in + segment.steps
        self.done = self.total <= 0
        self._last_sane: Atoms | None = None
        self._last_kept = -np.inf  # MD step of the latest candidate
        self._spread_sum, self._spread_checks = 0.0, 0
        if self.done:
            self.result.stop_reason = "calm"

    def next_chunk(self) -> int:
        """MD steps to the next check; the burn-in ends on a check, so the checks after it stay evenly spaced."""
        steps, interval = self.result.steps, self.segment.check_interval
        to_burn_in = self.burn_in - steps if steps < self.burn_in else interval
        return min(interval, self.total - steps, to_burn_in)

    def fail(self, reason: str) -> Exploration:
        """End the segment on an MD error (``reason``)."""
        self.done = True
        return _stop(self.result, reason, self._last_sane)

    def check(self, atoms: Atoms, atom_spread: np.ndarray, energy_std: float, chunk: int) -> None:
        """Watch the frame ``atoms`` (with momenta and :class:`FixCom`) reached after ``chunk`` more MD steps.

        Args:
            atom_spread: per-atom committee force spread (n_atoms,), eV/Å.
            energy_std: committee energy spread, eV/atom.
        """
        result, segment = self.result, self.segment
        result.steps += chunk
        force_std = float(atom_spread.max())
        insane = _unphysical(atoms, segment.min_distance_A, segment.max_temperature_K)
        if insane:
            self.fail(f"unphysical: {insane}")
            return
        result.max_force_std = max(result.max_force_std, force_std)
        if result.steps > self.burn_in:
            self._spread_sum, self._spread_checks = (
                self._spread_sum + float(atom_spread.mean()),
                self._spread_checks + 1,
            )
            result.mean_force_std = self._spread_sum / self._spread_checks
        frame = bare_copy(atoms)
        frame.wrap()
        self._last_sane = frame
        result.final = frame.copy()
        result.final.set_momenta(atoms.get_momenta())
        energy_limit = segment.energy_threshold
        above = force_std > segment.threshold or (energy_limit is not None and energy_std > energy_limit)
        if force_std > segment.abort_threshold:
            if not result.candidates:
                _keep(result, frame, force_std, energy_std)
            result.stop_reason, self.done = "abort", True
            return
        if above and result.steps > self.burn_in and result.steps - self._last_kept >= segment.candidate_spacing:
            _keep(result, frame, force_std, energy_std)
            self._last_kept = result.steps
            if len(result.candidates) >= segment.max_candidates:
                result.stop_reason, self.done = "max_candidates", True
                return
        if result.steps >= self.total:
            result.stop_reason, self.done = ("" if result.candidates else "calm"), True


def _thermalize(atoms: Atoms, temperature_K: float, rng: np.random.Generator) -> None:
    """Maxwell-Boltzmann momenta at ``temperature_K``."""
    from ase.md.velocitydistribution import thermalize_momenta

    thermalize_momenta(atoms, temperature_K, rng=rng)


def _unphysical(atoms: Atoms, min_distance_A: float, max_temperature_K: float) -> str:
    """Why ``atoms`` is not a sane frame ("" if it is)."""
    temperature = atoms.get_temperature()
    if temperature > max_temperature_K:
        return f"temperature {temperature:.0f} K > {max_temperature_K:.0f} K"
    if min_distance_A > 0:
        distances = neighbor_list("d", atoms, min_distance_A)
        if len(distances):
            return f"atoms {distances.min():.3f} Å apart < {min_distance_A:.3f} Å"
    return ""


def _stop(result: Exploration, reason: str, last_sane: Atoms | None) -> Exploration:
    """End the segment; without candidates, the last sane frame becomes one."""
    if not result.candidates and last_sane is not None:
        _keep(result, last_sane, np.nan, np.nan)
    result.final = None  # the trajectory went wrong: the next segment starts afresh
    result.stop_reason = reason
    return result


def _keep(result: Exploration, frame: Atoms, force_std: float, energy_std: float) -> None:
    result.candidates.append(frame)
    result.force_std.append(force_std)
    result.energy_std.append(energy_std)
