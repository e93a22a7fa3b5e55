"""The elastic result: stiffness tensor (GPa), Born stability, VRH moduli, sound velocities, θ_D.

A mechanically unstable tensor (not positive definite) is kept, with ``born_stable=False``, and
everything derived from it — moduli, sound velocities, Debye temperature — is None, with the reason
in ``warnings``: an unstable C has no meaningful isotropic moduli, so none are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from numpy.typing import ArrayLike

from ase_mlmat.properties import PropertyError, PropertyResult
from ase_mlmat.properties.moduli import (
    IsotropicModuli,
    born_stability,
    check_moduli,
    check_tensor,
    debye_temperature,
    density_and_number_density,
    isotropic_moduli,
    poisson_ratio,
    sound_velocities,
    youngs_modulus,
)


@dataclass(frozen=True)
class ElasticResult(PropertyResult):
    """Elastic properties of one structure; GPa, m/s, kg/m³, K, Å.

    Attributes:
        elastic_tensor_GPa: (6, 6) Voigt stiffness C (engineering shear) in the Cartesian frame ``frame``;
            None when built from moduli.
        frame: the frame of C: "conventional standard cell (spglib)" (computed by the predictor) or
            "input cell" (given tensors, or no symmetry found).
        frame_rotation: (3, 3) R with x_frame = R x_input; None when not computed here.
        born_stable: C positive definite (for moduli alone: K > 0 and G > 0).
        born_eigenvalues_GPa: (6,) eigenvalues of C, ascending; None without a tensor.
        moduli: Voigt–Reuss–Hill moduli; None if unstable. From moduli alone the Voigt and Reuss
            bounds and the anisotropy are NaN (unknown).
        density_kg_m3, volume_per_atom_A3: of the structure the tensor belongs to (None if not given).
        longitudinal_velocity_m_s, transverse_velocity_m_s, mean_sound_velocity_m_s: isotropic
            (Anderson) sound velocities; None without a density or when unstable.
        debye_temperature_K: Anderson's θ_D; None without density and volume, or when unstable.
        relaxed_ions: True for the relaxed-ion tensor, False for clamped-ion, None if not computed here.
        fit_residual_GPa: RMS deviation of the stresses from the fitted lines (None if not fitted).
        fit_asymmetry_GPa: max |C_ij − C_ji| / 2 of the raw slopes, before symmetrisation.
        reference_stress_GPa: (6,) stress of the unstrained structure (ASE sign, tensile-positive).
        cell_A: (3, 3) cell of the unstrained (relaxed) structure.
        strains_voigt: (n, 6) applied Voigt strains, engineering shear.
        stresses_GPa: (n, 6) stresses of the strained states (ASE sign).
            These four are in the input cell's Cartesian frame, as computed.
        warnings: why something is None or doubtful; "" if nothing.
    """

    elastic_tensor_GPa: np.ndarray | None
    born_stable: bool
    born_eigenvalues_GPa: np.ndarray | None
    moduli: IsotropicModuli | None
    density_kg_m3: float | None = None
    volume_per_atom_A3: float | None = None
    longitudinal_velocity_m_s: float | None = None
    transverse_velocity_m_s: float | None = None
    mean_sound_velocity_m_s: float | None = None
    debye_temperature_K: float | None = None
    relaxed_ions: bool | None = None
    fit_residual_GPa: float | None = None
    fit_asymmetry_GPa: float | None = None
    reference_stress_GPa: np.ndarray | None = None
    cell_A: np.ndarray | None = None
    strains_voigt: np.ndarray | None = None
    stresses_GPa: np.ndarray | None = None
    warnings: str = ""
    frame: str = "input cell"
    frame_rotation: np.ndarray | None = None

    def details(self) -> str:
        """Multi-line text: C_ij (GPa) and its frame, the Hill moduli, stability and θ_D."""
        lines = []
        if self.elastic_tensor_GPa is not None:
            lines.append(f"C_ij (GPa, Voigt order xx yy zz yz xz xy), frame: {self.frame}")
            lines += ["  " + " ".join(f"{c:8.1f}" for c in row) for row in self.elastic_tensor_GPa]
        if self.moduli is None:
            lines.append(f"Born stable: {self.born_stable}. {self.warnings}".strip())
            return "\n".join(lines)
        m = self.moduli
        lines.append(
            f"K = {m.bulk_modulus_GPa:.1f} GPa, G = {m.shear_modulus_GPa:.1f} GPa (Hill), "
            f"E = {m.youngs_modulus_GPa:.1f} GPa, ν = {m.poisson_ratio:.3f}"
        )
        if self.debye_temperature_K is not None:
            lines.append(f"Debye temperature {self.debye_temperature_K:.0f} K")
        if self.warnings:
            lines.append(f"warnings: {self.warnings}")
        return "\n".join(lines)

    @property
    def bulk_modulus_GPa(self) -> float | None:
        """Hill bulk modulus K (GPa), None if unstable."""
        return None if self.moduli is None else self.moduli.bulk_modulus_GPa

    @property
    def shear_modulus_GPa(self) -> float | None:
        """Hill shear modulus G (GPa), None if unstable."""
        return None if self.moduli is None else self.moduli.shear_modulus_GPa

    @property
    def youngs_modulus_GPa(self) -> float | None:
        """Young's modulus E = 9KG/(3K+G) of the Hill pair (GPa), None if unstable."""
        return None if self.moduli is None else self.moduli.youngs_modulus_GPa

    @property
    def poisson_ratio(self) -> float | None:
        """Poisson's ratio of the Hill pair, None if unstable."""
        return None if self.moduli is None else self.moduli.poisson_ratio

    @classmethod
    def from_tensor(
        cls,
        C_GPa: ArrayLike,
        atoms: Atoms | None = None,
        *,
        density_kg_m3: float | None = None,
        volume_per_atom_A3: float | None = None,
    ) -> ElasticResult:
        """Result of a known stiffness tensor, no calculator needed.

        Args:
            C_GPa: (6, 6) Voigt stiffness in GPa (symmetrised here).
            atoms: the structure, for density and volume per atom; or give those two directly.
            density_kg_m3: mass density, if ``atoms`` is not given.
            volume_per_atom_A3: volume per atom in Å³, if ``atoms`` is not given.

        Raises:
            PropertyError: C is not a finite 6×6 array. An unstable C is not an error: it gives
                ``born_stable=False`` and no moduli.
        """
        C = check_tensor(C_GPa)
        stable, eigenvalues = born_stability(C)
        density, volume = _density_and_volume(atoms, density_kg_m3, volume_per_atom_A3)
        if not stable:
            return cls(
                C,
                False,
                eigenvalues,
                None,
                density_kg_m3=density,
                volume_per_atom_A3=volume,
                warnings=f"mechanically unstable: smallest eigenvalue of C is {eigenvalues.min():.4g} GPa ≤ 0; "
                "moduli, sound velocities and Debye temperature are not reported",
            )
        moduli = isotropic_moduli(C)
        return cls(
            C,
            True,
            eigenvalues,
            moduli,
            density_kg_m3=density,
            volume_per_atom_A3=volume,
            **_acoustics(moduli.bulk_modulus_GPa, moduli.shear_modulus_GPa, density, volume),
        )

    @classmethod
    def from_moduli(
        cls,
        K_GPa: float,
        G_GPa: float,
        atoms: Atoms | None = None,
        *,
        density_kg_m3: float | None = None,
        volume_per_atom_A3: float | None = None,
    ) -> ElasticResult:
        """Result of known isotropic moduli (no tensor): E, ν, sound velocities, θ_D.

        Args:
            K_GPa: bulk modulus, GPa.
            G_GPa: shear modulus, GPa.
            atoms, density_kg_m3, volume_per_atom_A3: as in :meth:`from_tensor`.

        Raises:
            PropertyError: K or G not finite or not positive (equivalently ν outside (−1, 0.5)).
        """
        try:
            K, G = float(K_GPa), float(G_GPa)
        except (TypeError, ValueError):
            raise PropertyError(f"moduli must be numbers in GPa, got K={K_GPa!r}, G={G_GPa!r}") from None
        check_moduli(K, G)
        nan = math.nan
        moduli = IsotropicModuli(
            bulk_modulus_voigt_GPa=nan,
            bulk_modulus_reuss_GPa=nan,
            bulk_modulus_GPa=K,
            shear_modulus_voigt_GPa=nan,
            shear_modulus_reuss_GPa=nan,
            shear_modulus_GPa=G,
            youngs_modulus_GPa=youngs_modulus(K, G),
            poisson_ratio=poisson_ratio(K, G),
            universal_anisotropy=nan,
        )
        density, volume = _density_and_volume(atoms, density_kg_m3, volume_per_atom_A3)
        return cls(
            None,
            True,
            None,
            moduli,
            density_kg_m3=density,
            volume_per_atom_A3=volume,
            **_acoustics(K, G, density, volume),
        )


def _density_and_volume(
    atoms: Atoms | None, density_kg_m3: float | None, volume_per_atom_A3: float | None
) -> tuple[float | None, float | None]:
    if atoms is not None:
        if density_kg_m3 is not None or volume_per_atom_A3 is not None:
            raise ValueError("give either atoms or density_kg_m3/volume_per_atom_A3, not both")
        density, _ = density_and_number_density(atoms)
        return density, atoms.get_volume() / len(atoms)
    for name, value in (("density_kg_m3", density_kg_m3), ("volume_per_atom_A3", volume_per_atom_A3)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise PropertyError(f"{name} must be finite and positive, got {value}")
    return (
        None if density_kg_m3 is None else float(density_kg_m3),
        None if volume_per_atom_A3 is None else float(volume_per_atom_A3),
    )


def _acoustics(K: float, G: float, density: float | None, volume: float | None) -> dict[str, float | None]:
    """Sound velocities (need the density) and θ_D (needs the volume per atom too)."""
    if density is None:
        return {}
    v_l, v_t, v_m = sound_velocities(K, G, density)
    theta = None if volume is None else debye_temperature(v_m, 1.0 / (volume * 1e-30))
    return {
        "longitudinal_velocity_m_s": v_l,
        "transverse_velocity_m_s": v_t,
        "mean_sound_velocity_m_s": v_m,
        "debye_temperature_K": theta,
    }
