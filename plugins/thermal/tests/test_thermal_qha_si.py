"""Diamond Si with the shipped mlearn-Si model: QHA α(T) against experiment and the Debye–Grüneisen model."""

from __future__ import annotations

import time

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.units import GPa
from mlmat_thermal import debye_gruneisen_expansion, moduli_from, plot_alpha, quasi_harmonic_expansion

from ase_mlmat import MLCalculator
from ase_mlmat.workflows import relax

SI_EXPERIMENT_300K = 2.6e-6  # 1/K
TEMPERATURES_K = np.arange(0.0, 1001.0, 10.0)


def cubic_elastic_tensor(
    atoms: Atoms, calculator, *, normal_strain: float = 0.005, shear_strain: float = 0.01
) -> np.ndarray:
    """6×6 C (GPa) of a relaxed cubic crystal in its cubic axes: C11, C12, C44 by central differences.

    Ions are relaxed in every strained cell (relaxed-ion tensor); shear uses engineering strain γ.
    """

    def stress(strain_tensor: np.ndarray) -> np.ndarray:
        strained = atoms.copy()
        strained.set_cell(atoms.cell.array @ (np.eye(3) + strain_tensor), scale_atoms=True)
        strained.calc = calculator
        relax(strained, fmax_eV_per_A=1e-4, relax_cell=False)
        return strained.get_stress() / GPa  # Voigt xx yy zz yz xz xy, tensile-positive

    e = np.zeros((3, 3))
    e[0, 0] = normal_strain
    d_normal = (stress(e) - stress(-e)) / (2 * normal_strain)
    g = np.zeros((3, 3))
    g[1, 2] = g[2, 1] = shear_strain / 2
    d_shear = (stress(g) - stress(-g)) / (2 * shear_strain)
    c11, c12, c44 = d_normal[0], 0.5 * (d_normal[1] + d_normal[2]), d_shear[3]
    C = np.zeros((6, 6))
    C[:3, :3] = c12
    C[[0, 1, 2], [0, 1, 2]] = c11
    C[[3, 4, 5], [3, 4, 5]] = c44
    return C


@pytest.fixture(scope="module")
def silicon():
    """QHA and Debye–Grüneisen α(T) of diamond Si with mlearn-Si (computed once for this module)."""
    calculator = MLCalculator("mlearn-Si", dtype="float64")
    start = time.perf_counter()
    # (4, 4, 4) of the primitive cell is converged: (3, 3, 3) gives α(300 K) 20 % lower, (5, 5, 5) and (6, 6, 6)
    # within 1 % of (4, 4, 4)
    qha = quasi_harmonic_expansion(
        bulk("Si", "diamond", a=5.468),
        calculator,
        supercell=(4, 4, 4),
        volume_strains=np.linspace(-0.03, 0.04, 8),
        temperatures_K=TEMPERATURES_K,
    )
    qha_seconds = time.perf_counter() - start
    conventional = bulk("Si", "diamond", a=5.468, cubic=True)
    conventional.calc = calculator
    relax(conventional, fmax_eV_per_A=1e-4)
    C = cubic_elastic_tensor(conventional, calculator)
    K, G = moduli_from(C)
    debye = debye_gruneisen_expansion(conventional, K, G, temperatures_K=TEMPERATURES_K)
    print(
        f"\nmlearn-Si: C11 {C[0, 0]:.1f}, C12 {C[0, 1]:.1f}, C44 {C[3, 3]:.1f} GPa (exp. 165.7, 63.9, 79.6); "
        f"K {K:.1f}, G {G:.1f} GPa, θ_D {debye.solid.debye_temperature_K:.0f} K, γ(ν) {debye.gruneisen:.2f}"
    )
    print(
        f"QHA: {qha_seconds:.1f} s; a₀ = {(4 * qha.static_volume_A3) ** (1 / 3):.4f} Å, "
        f"min frequency {qha.min_frequency_THz:.3f} THz"
    )
    return qha, debye, qha_seconds


def test_si_qha_alpha_at_300K_within_factor_two_of_experiment(silicon):
    qha, debye, _ = silicon
    print(
        f"Si α(300 K): QHA {qha.alpha_300K_per_K:.3e} /K, Debye–Grüneisen {debye.alpha_300K_per_K:.3e} /K, "
        f"experiment {SI_EXPERIMENT_300K:.2e} /K"
    )
    if qha.negative_alpha_range_K is None:
        print("Si QHA: α ≥ 0 at all temperatures (experiment: negative below ≈ 120 K)")
    else:
        low, high = qha.negative_alpha_range_K
        i_min = int(np.argmin(qha.alpha_linear_per_K))
        print(
            f"Si QHA: α < 0 from {low:.0f} K to {high:.0f} K, minimum {qha.alpha_linear_per_K[i_min]:.2e} /K "
            f"at {qha.temperatures_K[i_min]:.0f} K (experiment: negative below ≈ 120 K, minimum ≈ −0.5e-6 /K "
            "near 80 K)"
        )
    assert not qha.has_imaginary_modes, (
        f"mlearn-Si has imaginary modes down to {qha.min_frequency_THz:.1f} THz: its quasi-harmonic α is not meaningful"
    )
    assert qha.alpha_300K_per_K > 0
    assert SI_EXPERIMENT_300K / 2 < qha.alpha_300K_per_K < 2 * SI_EXPERIMENT_300K


def test_si_debye_vs_qha_plot(silicon, tmp_path):
    qha, debye, _ = silicon
    path = plot_alpha(
        {
            "Debye–Grüneisen, γ(ν)": (debye.temperatures_K, debye.alpha_linear_per_K),
            "QHA (phonopy)": (qha.temperatures_K, qha.alpha_linear_per_K),
        },
        tmp_path / "si_alpha.png",
        title="diamond Si, mlearn-Si",
        experiment={"experiment": (300.0, SI_EXPERIMENT_300K)},
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    print(f"plot written to {path}")
