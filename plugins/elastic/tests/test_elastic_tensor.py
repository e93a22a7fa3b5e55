"""Conventions, the fit, rotations and results built from known tensors or moduli (no calculator)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from ase.build import bulk
from mlmat_elastic import (
    ElasticPredictor,
    ElasticResult,
    deformed,
    fit_elastic_tensor,
    rotate_elastic_tensor,
    strain_tensor,
    voigt_strain,
)

from ase_mlmat.properties import PropertyError, create


def cubic(c11: float, c12: float, c44: float) -> np.ndarray:
    C = np.full((3, 3), c12)
    np.fill_diagonal(C, c11)
    return np.block([[C, np.zeros((3, 3))], [np.zeros((3, 3)), c44 * np.eye(3)]])


def mandel(C: np.ndarray) -> np.ndarray:
    """Kelvin–Mandel form of a Voigt stiffness: an orthonormal basis, so its eigenvalues are invariants."""
    w = np.sqrt([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    return C * np.outer(w, w)


def rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_shear_is_symmetric_tensor_strain_with_engineering_voigt():
    eps = strain_tensor(3, 0.02)
    assert eps[1, 2] == eps[2, 1] == 0.02 and np.count_nonzero(eps) == 2
    np.testing.assert_allclose(voigt_strain(eps), [0, 0, 0, 0.04, 0, 0])
    np.testing.assert_allclose(voigt_strain(strain_tensor(0, -0.01)), [-0.01, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="0–5"):
        strain_tensor(6, 0.01)


def test_deformed_maps_positions_and_leaves_input_alone():
    atoms = bulk("Si", cubic=True)
    before = atoms.positions.copy(), atoms.cell.array.copy()
    eps = strain_tensor(5, 0.01) + strain_tensor(0, 0.003)
    strained = deformed(atoms, eps)
    np.testing.assert_allclose(strained.positions, before[0] @ (np.eye(3) + eps).T, atol=1e-12)
    np.testing.assert_array_equal(atoms.positions, before[0])
    np.testing.assert_array_equal(atoms.cell.array, before[1])


def test_fit_recovers_a_linear_response_with_offset():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    C = A @ A.T + 6 * np.eye(6)
    sigma0 = rng.normal(size=6)
    strains = np.vstack([a * np.eye(6)[j] for j in range(6) for a in (-0.01, -0.005, 0.005, 0.01)])
    fit = fit_elastic_tensor(strains, sigma0 + strains @ C.T, sigma0)
    np.testing.assert_allclose(fit.tensor, C, rtol=1e-10)
    assert fit.rms_residual < 1e-12 and fit.asymmetry < 1e-10
    with pytest.raises(ValueError, match="exactly one"):
        fit_elastic_tensor(strains + 0.001, strains, sigma0)
    with pytest.raises(ValueError, match="component 5"):
        fit_elastic_tensor(strains[:-4], strains[:-4], sigma0)


def test_rotation_of_the_stiffness_tensor():
    C = cubic(172.0, 115.0, 90.0)
    R = rotation(1)
    rotated = rotate_elastic_tensor(C, R)
    assert not np.allclose(rotated, C, atol=1.0)  # anisotropic: the components change ...
    np.testing.assert_allclose(np.linalg.eigvalsh(mandel(rotated)), np.linalg.eigvalsh(mandel(C)), rtol=1e-12)
    np.testing.assert_allclose(rotate_elastic_tensor(rotated, R.T), C, atol=1e-10)
    isotropic = cubic(200.0, 80.0, 60.0)  # C44 = (C11 − C12)/2
    np.testing.assert_allclose(rotate_elastic_tensor(isotropic, R), isotropic, atol=1e-10)
    quarter_turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    tetragonal = cubic(100.0, 40.0, 30.0)
    tetragonal[0, 0] = 150.0
    assert rotate_elastic_tensor(tetragonal, quarter_turn)[1, 1] == pytest.approx(150.0)


# experimental C11, C12, C44 (GPa), lattice constant (Å), θ_D (K) quoted in docs/physics.md
EXPERIMENT = {
    "C": ((1079.0, 124.0, 578.0), bulk("C", "diamond", a=3.567), 2246.0),
    "Si": ((165.7, 63.9, 79.6), bulk("Si", "diamond", a=5.431), 648.0),
    "MgO": ((297.0, 95.2, 155.7), bulk("MgO", "rocksalt", a=4.212), 942.0),
    "Cu": ((168.4, 121.4, 75.4), bulk("Cu", a=3.615), 338.0),
    "Al": ((107.3, 60.9, 28.3), bulk("Al", a=4.0495), 408.0),
}


@pytest.mark.parametrize("name", sorted(EXPERIMENT))
def test_debye_temperature_from_experimental_constants(name):
    constants, atoms, theta = EXPERIMENT[name]
    result = ElasticResult.from_tensor(cubic(*constants), atoms)
    assert result.born_stable and result.warnings == ""
    assert result.debye_temperature_K == pytest.approx(theta, rel=1e-3)
    assert result.bulk_modulus_GPa == pytest.approx((constants[0] + 2 * constants[1]) / 3)
    moduli_only = ElasticResult.from_moduli(result.bulk_modulus_GPa, result.shear_modulus_GPa, atoms)
    assert moduli_only.elastic_tensor_GPa is None and moduli_only.born_stable
    assert moduli_only.debye_temperature_K == pytest.approx(result.debye_temperature_K, rel=1e-12)
    assert moduli_only.poisson_ratio == pytest.approx(result.poisson_ratio, rel=1e-12)
    assert math.isnan(moduli_only.moduli.universal_anisotropy)


def test_density_and_volume_without_atoms():
    result = ElasticResult.from_moduli(442.3, 535.5, density_kg_m3=3515.7, volume_per_atom_A3=3.567**3 / 8)
    assert result.debye_temperature_K == pytest.approx(2246.0, rel=1e-3)
    sound_only = ElasticResult.from_moduli(442.3, 535.5, density_kg_m3=3515.7)
    assert sound_only.mean_sound_velocity_m_s == pytest.approx(result.mean_sound_velocity_m_s)
    assert sound_only.debye_temperature_K is None
    assert ElasticResult.from_moduli(442.3, 535.5).mean_sound_velocity_m_s is None
    with pytest.raises(PropertyError, match="density_kg_m3"):
        ElasticResult.from_moduli(442.3, 535.5, density_kg_m3=-1.0)
    with pytest.raises(ValueError, match="not both"):
        ElasticResult.from_moduli(442.3, 535.5, bulk("C", "diamond", a=3.567), density_kg_m3=3515.7)


@pytest.mark.parametrize(
    "C",
    [cubic(100.0, 120.0, 50.0), cubic(100.0, -60.0, 50.0), cubic(100.0, 50.0, -5.0)],
    ids=["C11<C12", "C11+2C12<0", "C44<0"],
)
def test_unstable_tensor_is_flagged_and_gives_no_moduli(C):
    result = ElasticResult.from_tensor(C, bulk("Cu"))
    assert result.born_stable is False
    assert result.born_eigenvalues_GPa.min() < 0
    assert result.moduli is None and result.bulk_modulus_GPa is None and result.poisson_ratio is None
    assert result.debye_temperature_K is None and result.mean_sound_velocity_m_s is None
    assert "unstable" in result.warnings
    assert result.as_row()["born_stable"] is False
    json.dumps(result.as_dict())


@pytest.mark.parametrize(
    ("K", "G"),
    [(-10.0, 5.0), (100.0, -1.0), (0.0, 30.0), (100.0, 0.0), (math.nan, 30.0), (100.0, math.inf)],
    ids=["K<0 (nu=0.8)", "G<0", "K=0", "G=0 (nu=0.5)", "nan", "inf"],
)
def test_nonsensical_moduli_raise(K, G):
    with pytest.raises(PropertyError, match="moduli must be"):
        ElasticResult.from_moduli(K, G)


def test_malformed_tensor_raises():
    with pytest.raises(PropertyError, match="6×6"):
        ElasticResult.from_tensor(np.eye(3))
    C = cubic(100.0, 50.0, 30.0)
    C[0, 3] = np.nan
    with pytest.raises(PropertyError, match="non-finite"):
        ElasticResult.from_tensor(C)


def test_results_serialise():
    result = ElasticResult.from_tensor(cubic(168.4, 121.4, 75.4), bulk("Cu", a=3.615))
    row = result.as_row()
    assert row["moduli_bulk_modulus_GPa"] == pytest.approx(137.07, abs=0.01)
    assert "elastic_tensor_GPa" not in row and row["relaxed_ions"] is None  # arrays left out, unknowns None
    data = json.loads(json.dumps(result.as_dict()))
    assert np.array(data["elastic_tensor_GPa"]).shape == (6, 6)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"normal_strains": (0.0, 0.01)}, "non-zero"),
        ({"shear_strains": ()}, "at least one"),
        ({"shear_strains": (0.01, math.nan)}, "finite"),
        ({"normal_strains": (-0.2, 0.2)}, "within"),
        ({"fmax": 0.0}, "fmax"),
        ({"max_steps": 0}, "max_steps"),
        ({"optimizer": "MDMin"}, "optimizer"),
    ],
)
def test_options_are_validated(options, message):
    with pytest.raises(ValueError, match=message):
        ElasticPredictor(**options)


def test_options_are_keyword_only_and_registered():
    with pytest.raises(TypeError):
        ElasticPredictor((-0.01, 0.01))
    predictor = create("elastic", relax_ions=False)
    assert isinstance(predictor, ElasticPredictor) and predictor.relax_ions is False
    assert predictor.name == "elastic" and predictor.needs_calculator
