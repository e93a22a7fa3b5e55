"""Quasi-harmonic thermal expansion: relax, scan volumes, phonons at each volume, phonopy's QHA.

Steps: relax cell and positions; scale the cell isotropically to volumes V₀(1 + s) for each volume
strain s and relax the ions at fixed cell; static energy E(V) and force constants (finite displacements,
:func:`ase_mlmat.workflows.make_phonopy`) at each volume; then :func:`phonopy.run_qha` fits
F(V; T) = E(V) + F_ph(V; T) to an equation of state at each T, and α_V = (1/V) dV_eq/dT.
α_L = α_V / 3: exact for cubic crystals; for others the scan keeps the cell shape (isotropic scaling), so
α_L is only the isotropic average.

phonopy's ``PhonopyQHA`` is deprecated (phonopy 4.10 warns) in favour of ``run_qha``, which this module
uses in one place, :func:`_run_qha`. ``run_qha`` works per primitive cell: volumes and energies here are
per primitive cell too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from numpy.typing import ArrayLike

from ase_mlmat.properties import PropertyError, PropertyResult
from ase_mlmat.workflows import make_phonopy, mesh_frequencies, relax
from ase_mlmat.workflows.phonons import minimal_supercell

EV_PER_A3_TO_GPA = 160.21766208
DEFAULT_VOLUME_STRAINS = np.linspace(-0.04, 0.08, 13)  # V/V₀ − 1; up to +8 % covers α_V ≈ 6e-5 /K to 1000 K
DEFAULT_TEMPERATURES_K = np.arange(0.0, 1001.0, 10.0)
DEFAULT_SUPERCELL_WIDTH_A = 10.0  # force-constant supercell width (Å); (3, 3, 3) diamond Si gives α(300 K) 20 % low


class ImaginaryModeWarning(UserWarning):
    """Imaginary phonon modes at some scanned volume: the QHA free energy there ignores them."""


@dataclass(frozen=True)
class QuasiHarmonicResult(PropertyResult):
    """α(T) from the quasi-harmonic approximation; volumes and energies per primitive cell."""

    alpha_300K_per_K: float  # NaN when 300 K is outside the temperature grid
    negative_alpha_below_K: float | None  # upper end (α = 0 crossing) of the first stretch with α < 0
    negative_alpha_range_K: tuple[float, float] | None  # (first T with α < 0, that crossing)
    has_imaginary_modes: bool
    min_frequency_THz: float  # lowest frequency away from Γ over all volumes; negative = imaginary
    volume_bracketed_up_to_K: float  # above this V_eq(T) leaves the scanned volumes: α is extrapolated
    static_volume_A3: float  # relaxed volume of the primitive cell
    n_atoms_primitive: int
    relax_converged: bool
    supercell: tuple[int, int, int]
    mesh: tuple[int, int, int]
    eos: str
    temperatures_K: np.ndarray  # (n_T,)
    alpha_linear_per_K: np.ndarray  # (n_T,) α_V / 3
    alpha_volumetric_per_K: np.ndarray  # (n_T,)
    equilibrium_volumes_A3: np.ndarray  # (n_T,) V_eq(T)
    bulk_modulus_GPa: np.ndarray  # (n_T,) isothermal B(T)
    gruneisen: np.ndarray  # (n_T,) thermodynamic γ(T) from phonopy
    volumes_A3: np.ndarray  # (n_V,) scanned volumes
    energies_eV: np.ndarray  # (n_V,) static energies
    min_frequencies_THz: np.ndarray  # (n_V,) lowest frequency away from Γ at each volume


def negative_alpha_stretch(temperatures_K: np.ndarray, alpha: np.ndarray) -> tuple[float, float] | None:
    """(first T > 0 with α < 0, T where α crosses back to ≥ 0, linearly interpolated) or None.

    If α stays negative to the end of the grid, the upper end is the last temperature.
    """
    negative = np.flatnonzero((temperatures_K > 0) & (alpha < 0))
    if negative.size == 0:
        return None
    start = int(negative[0])
    after = np.flatnonzero(alpha[start:] >= 0)
    if after.size == 0:
        return float(temperatures_K[start]), float(temperatures_K[-1])
    j = start + int(after[0])  # α[j-1] < 0 ≤ α[j]
    t0, t1, a0, a1 = temperatures_K[j - 1], temperatures_K[j], alpha[j - 1], alpha[j]
    return float(temperatures_K[start]), float(t0 + (t1 - t0) * (-a0) / (a1 - a0))


def _run_qha(phonons: list, energies_eV: np.ndarray, temperatures_K: np.ndarray, mesh, eos: str):
    """phonopy's QHA; the only place that depends on its API (``run_qha``, tested with phonopy 4.10)."""
    try:
        from phonopy import run_qha
    except ImportError as err:  # older phonopy
        raise ImportError("quasi_harmonic_expansion needs a phonopy with run_qha (4.10 has it)") from err
    with warnings.catch_warnings():  # the caller warns about V_eq(T) outside the scan, in terms of α
        warnings.filterwarnings("ignore", message="Lattice parameters are extrapolated")
        # Γ-point acoustic modes (≈ 0 THz, numerically ±1e-8) would add a noisy k_B T ln(hν/k_B T) to F(V)
        return run_qha(
            phonons,
            temperatures_K,
            internal_energies=energies_eV,
            mesh=list(mesh),
            eos=eos,
            exclude_gamma_acoustic=True,
        )


def _check_inputs(volume_strains: np.ndarray, temperatures_K: np.ndarray) -> None:
    if volume_strains.ndim != 1 or volume_strains.size < 5:
        raise PropertyError("QHA needs at least 5 volume strains")
    if not np.all(np.isfinite(volume_strains)) or np.any(volume_strains <= -0.5):
        raise PropertyError("volume strains must be finite and > −0.5")
    if volume_strains.min() >= 0 or volume_strains.max() <= 0:
        raise PropertyError("volume strains must bracket the relaxed volume (some < 0, some > 0)")
    if temperatures_K.ndim != 1 or temperatures_K.size < 3 or np.any(np.diff(temperatures_K) <= 0):
        raise PropertyError("temperatures must be ≥ 3 strictly ascending values")
    if temperatures_K[0] < 0 or not np.all(np.isfinite(temperatures_K)):
        raise PropertyError("temperatures must be finite and ≥ 0 K")


def quasi_harmonic_expansion(
    atoms: Atoms,
    calculator,
    *,
    volume_strains: ArrayLike = DEFAULT_VOLUME_STRAINS,
    supercell: Sequence[int] | None = None,
    temperatures_K: ArrayLike = DEFAULT_TEMPERATURES_K,
    mesh: Sequence[int] = (21, 21, 21),
    eos: str = "vinet",
    fmax_eV_per_A: float = 1e-3,
    relax_structure: bool = True,
    displacement_A: float = 0.01,
    imaginary_tolerance_THz: float = 0.1,
    on_imaginary: str = "warn",
) -> QuasiHarmonicResult:
    """Linear thermal expansion α_L(T) = α_V(T)/3 in the quasi-harmonic approximation.

    Args:
        atoms: periodic structure (not modified); a primitive cell keeps this cheap.
        calculator: any ASE calculator (energies and forces).
        volume_strains: fractional volume changes V/V₀ − 1 of the scan (≥ 5, bracketing 0); they should
            cover V_eq(T) up to the highest temperature (``volume_bracketed_up_to_K`` says if not).
        supercell: diagonal supercell for the force constants; default the smallest with every perpendicular
            width ≥ ``DEFAULT_SUPERCELL_WIDTH_A`` = 10 Å (:func:`~ase_mlmat.workflows.phonons.minimal_supercell`):
            (4, 4, 4) for primitive diamond Si, where (3, 3, 3) gives an α(300 K) 20 % lower.
        temperatures_K: ascending temperatures (K); one extra point is added for the finite difference.
        mesh: q-point mesh for the thermal properties; odd numbers keep it Γ-centred and symmetric.
        eos: "vinet", "birch_murnaghan" or "murnaghan".
        fmax_eV_per_A: force tolerance (eV/Å) of the relaxations.
        relax_structure: relax cell and positions first (switch off only for an already relaxed input).
        displacement_A: finite displacement (Å) for the force constants.
        imaginary_tolerance_THz: frequencies below −tolerance away from Γ count as imaginary.
        on_imaginary: "warn" (ImaginaryModeWarning, flagged in the result) or "raise" (PropertyError).

    Returns:
        A :class:`QuasiHarmonicResult`.
    """
    if calculator is None:
        raise PropertyError("quasi-harmonic expansion needs a calculator")
    strains = np.asarray(volume_strains, dtype=float)
    temps = np.asarray(temperatures_K, dtype=float)
    _check_inputs(strains, temps)
    if on_imaginary not in ("warn", "raise"):
        raise ValueError(f"on_imaginary must be 'warn' or 'raise', got {on_imaginary!r}")
    supercell = (
        minimal_supercell(atoms, DEFAULT_SUPERCELL_WIDTH_A) if supercell is None else tuple(int(n) for n in supercell)
    )
    mesh = tuple(int(n) for n in mesh)

    reference = atoms.copy()
    reference.calc = calculator
    converged = True
    if relax_structure:
        _, converged = relax(reference, fmax_eV_per_A=fmax_eV_per_A, relax_cell=True)
        if not converged:
            warnings.warn(
                "cell relaxation did not converge; the volume scan is centred on its last step",
                RuntimeWarning,
                stacklevel=2,
            )

    phonons, energies, min_frequencies = [], [], []
    for strain in strains:
        scaled = reference.copy()
        scaled.set_cell(reference.cell.array * (1.0 + strain) ** (1.0 / 3.0), scale_atoms=True)
        scaled.calc = calculator
        _, ok = relax(scaled, fmax_eV_per_A=fmax_eV_per_A, relax_cell=False)
        converged = converged and ok
        phonon = make_phonopy(scaled, calculator, supercell=supercell, displacement_A=displacement_A)
        n_primitive = len(phonon.primitive)
        energies.append(scaled.get_potential_energy() * n_primitive / len(scaled))
        qpoints, frequencies = mesh_frequencies(phonon, mesh)
        away_from_gamma = np.linalg.norm(qpoints, axis=1) > 1e-8
        min_frequencies.append(float(frequencies[away_from_gamma].min()))
        if on_imaginary == "raise" and min_frequencies[-1] < -abs(imaginary_tolerance_THz):
            raise PropertyError(
                f"imaginary phonon modes (down to {min_frequencies[-1]:.3f} THz) at volume "
                f"strain {strain:+.4f}: dynamically unstable, no quasi-harmonic free energy"
            )
        phonons.append(phonon)
    min_frequencies = np.array(min_frequencies)
    imaginary = min_frequencies < -abs(imaginary_tolerance_THz)
    if imaginary.any():
        warnings.warn(
            f"imaginary phonon modes (down to {min_frequencies.min():.3f} THz) at volume strains "
            f"{strains[imaginary].round(4).tolist()}; the QHA free energy ignores them, so α is "
            "unreliable (flagged has_imaginary_modes)",
            ImaginaryModeWarning,
            stacklevel=2,
        )

    step = temps[-1] - temps[-2]
    qha = _run_qha(phonons, np.array(energies), np.append(temps, temps[-1] + step), mesh, eos)
    T = np.array(qha.temperatures)
    alpha_V = np.array(qha.thermal_expansion)
    alpha_L = alpha_V / 3.0
    v_eq = np.array(qha.equilibrium_volumes)
    volumes = np.array(qha.volumes)
    v_min, v_max = volumes.min(), volumes.max()
    inside = (v_eq >= v_min) & (v_eq <= v_max)
    first_outside = int(np.argmin(inside))
    bracketed_up_to = float(T[-1]) if inside.all() else float(T[first_outside - 1]) if first_outside else math.nan
    if not inside.all():
        warnings.warn(
            f"V_eq(T) leaves the scanned volumes above {bracketed_up_to:.0f} K; α there is "
            "extrapolated by the EOS fit (widen volume_strains)",
            RuntimeWarning,
            stacklevel=2,
        )
    stretch = negative_alpha_stretch(T, alpha_L)
    alpha_300 = float(np.interp(300.0, T, alpha_L)) if T[0] <= 300.0 <= T[-1] else math.nan
    return QuasiHarmonicResult(
        alpha_300K_per_K=alpha_300,
        negative_alpha_below_K=None if stretch is None else stretch[1],
        negative_alpha_range_K=stretch,
        has_imaginary_modes=bool(imaginary.any()),
        min_frequency_THz=float(min_frequencies.min()),
        volume_bracketed_up_to_K=bracketed_up_to,
        static_volume_A3=float(reference.get_volume() * len(phonons[0].primitive) / len(reference)),
        n_atoms_primitive=len(phonons[0].primitive),
        relax_converged=bool(converged),
        supercell=supercell,
        mesh=mesh,
        eos=eos,
        temperatures_K=T,
        alpha_linear_per_K=alpha_L,
        alpha_volumetric_per_K=alpha_V,
        equilibrium_volumes_A3=v_eq,
        bulk_modulus_GPa=np.array(qha.bulk_moduli) * EV_PER_A3_TO_GPA,
        gruneisen=np.array(qha.gruneisen_parameters),
        volumes_A3=volumes,
        energies_eV=np.array(energies),
        min_frequencies_THz=min_frequencies,
    )
