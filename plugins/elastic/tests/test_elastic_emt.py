"""Finite-strain C of EMT Cu and Al against energy curvature and pymatgen; amplitudes, rotation, errors."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS
from ase.units import GPa
from mlmat_elastic import ElasticPredictor, ElasticResult, rotate_elastic_tensor

from ase_mlmat.properties import PredictionFailure, PropertyError

SMALL = {"normal_strains": (-0.005, 0.005), "shear_strains": (-0.005, 0.005)}
LARGE = {"normal_strains": (-0.01, 0.01), "shear_strains": (-0.01, 0.01)}


def energy_curvature_constants(symbol: str) -> tuple[float, float, float]:
    """C11, C12, C44 (GPa) as (1/V) d²E/dε² of polynomial fits of E(ε), independent of any stress."""
    atoms = bulk(symbol)
    atoms.calc = EMT()
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-6)
    volume, cell = atoms.get_volume(), atoms.cell.array.copy()
    strains = np.linspace(-0.01, 0.01, 9)

    def curvature(direction: np.ndarray) -> float:
        energies = []
        for x in strains:
            strained = atoms.copy()
            strained.calc = EMT()
            strained.set_cell(cell @ (np.eye(3) + x * direction), scale_atoms=True)
            energies.append(strained.get_potential_energy())
        return 2.0 * np.polyfit(strains, energies, 4)[-3] / volume / GPa

    c11 = curvature(np.diag([1.0, 0.0, 0.0]))
    c11_c22_2c12 = curvature(np.diag([1.0, 1.0, 0.0]))  # d²E/dε² = V (C11 + C22 + 2 C12)
    c44 = curvature(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.5], [0.0, 0.5, 0.0]]))  # engineering γ_yz = ε
    return c11, 0.5 * c11_c22_2c12 - c11, c44


@pytest.fixture(scope="module", params=["Cu", "Al"])
def emt_result(request) -> tuple[str, ElasticResult]:
    return request.param, ElasticPredictor().predict(bulk(request.param), EMT())


def test_cubic_constants_match_energy_curvature(emt_result):
    symbol, result = emt_result
    C = result.elastic_tensor_GPa
    c11, c12, c44 = energy_curvature_constants(symbol)
    print(
        f"{symbol}: stress fit C11 {C[0, 0]:.2f} C12 {C[0, 1]:.2f} C44 {C[3, 3]:.2f}; "
        f"energy curvature {c11:.2f} {c12:.2f} {c44:.2f} GPa"
    )
    assert C[0, 0] == pytest.approx(c11, rel=0.01)
    assert C[0, 1] == pytest.approx(c12, rel=0.01)
    assert C[3, 3] == pytest.approx(c44, rel=0.01)
    np.testing.assert_allclose(np.diag(C)[:3], C[0, 0], rtol=1e-6)  # cubic form
    np.testing.assert_allclose(np.diag(C)[3:], C[3, 3], rtol=1e-6)
    np.testing.assert_allclose(C[3:, :3], 0.0, atol=1e-6 * C[0, 0])
    assert result.born_stable and result.relaxed_ions and result.warnings == ""
    assert result.fit_residual_GPa < 0.01 * C[0, 0]
    assert np.abs(result.reference_stress_GPa).max() < 0.05


def test_fit_agrees_with_pymatgen(emt_result):
    pymatgen_elasticity = pytest.importorskip("pymatgen.analysis.elasticity")
    _, result = emt_result
    strains = [pymatgen_elasticity.Strain.from_voigt(s) for s in result.strains_voigt]
    stresses = [pymatgen_elasticity.Stress.from_voigt(s) for s in result.stresses_GPa]
    eq_stress = pymatgen_elasticity.Stress.from_voigt(result.reference_stress_GPa)
    reference = pymatgen_elasticity.ElasticTensor.from_independent_strains(strains, stresses, eq_stress=eq_stress)
    np.testing.assert_allclose(result.elastic_tensor_GPa, reference.voigt, atol=1e-6 * result.elastic_tensor_GPa.max())


def test_amplitudes_within_the_linear_range_agree():
    small = ElasticPredictor(**SMALL).predict(bulk("Cu"), EMT()).elastic_tensor_GPa
    large = ElasticPredictor(**LARGE).predict(bulk("Cu"), EMT()).elastic_tensor_GPa
    np.testing.assert_allclose(large, small, atol=0.005 * small.max())


def test_rotated_cell_gives_the_cubic_tensor_in_the_standard_frame():
    q, r = np.linalg.qr(np.random.default_rng(7).normal(size=(3, 3)))
    R = q * np.sign(np.diag(r))
    R *= np.linalg.det(R)  # proper rotation
    atoms = bulk("Cu")
    rotated = atoms.copy()
    rotated.set_cell(atoms.cell.array @ R.T)
    rotated.positions = atoms.positions @ R.T
    result = ElasticPredictor(**SMALL).predict(atoms, EMT())
    result_rotated = ElasticPredictor(**SMALL).predict(rotated, EMT())
    C, C_rotated = result.elastic_tensor_GPa, result_rotated.elastic_tensor_GPa
    np.testing.assert_allclose(C_rotated, C, atol=0.05)  # one tensor, whatever the input orientation
    # in the input (lab) frame the tensor really is different: frame_rotation maps it back
    C_lab = rotate_elastic_tensor(C_rotated, result_rotated.frame_rotation.T)
    assert np.abs(C_lab - C).max() > 10.0
    np.testing.assert_allclose(C_lab, rotate_elastic_tensor(C, R), atol=0.05)
    w = np.sqrt([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])  # Kelvin–Mandel form: eigenvalues are rotation invariants
    np.testing.assert_allclose(
        np.linalg.eigvalsh(C_lab * np.outer(w, w)), np.linalg.eigvalsh(C * np.outer(w, w)), atol=0.05
    )


def test_input_is_not_modified():
    atoms = bulk("Al", cubic=True)
    atoms.rattle(0.01, seed=1)
    positions, cell = atoms.positions.copy(), atoms.cell.array.copy()
    result = ElasticPredictor(**SMALL).predict(atoms, EMT())
    np.testing.assert_array_equal(atoms.positions, positions)
    np.testing.assert_array_equal(atoms.cell.array, cell)
    assert atoms.calc is None
    assert not np.allclose(result.cell_A, cell)  # the reference was relaxed, on a copy


def test_stressed_reference_without_relaxation_is_reported():
    result = ElasticPredictor(relax_structure=False, **SMALL).predict(bulk("Cu", a=3.70), EMT())
    assert "under stress" in result.warnings
    assert np.abs(result.reference_stress_GPa).max() > 5.0


class BrokenCalculator(Calculator):
    implemented_properties = ("energy", "forces", "stress")

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        raise RuntimeError("model diverged")


def test_calculator_failures_name_the_structure():
    atoms = bulk("Cu")
    atoms.info["label"] = "mp-30"
    with pytest.raises(PropertyError, match=r"BrokenCalculator failed on mp-30: RuntimeError: model diverged"):
        ElasticPredictor().predict(atoms, BrokenCalculator())
    with pytest.raises(PropertyError, match="failed on Si2"):
        ElasticPredictor().predict(bulk("Si"), EMT())  # EMT has no silicon


def test_structures_that_cannot_have_a_tensor():
    with pytest.raises(PropertyError, match="needs a calculator"):
        ElasticPredictor().predict(bulk("Cu"))
    with pytest.raises(PropertyError, match="periodic in 3D"):
        ElasticPredictor().predict(Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]]), EMT())


def test_batch_reports_failures_and_continues():
    structures = [bulk("Cu"), bulk("Si"), bulk("Al")]
    results = ElasticPredictor(**SMALL).predict_many(structures, EMT(), progress=False)
    assert isinstance(results[0], ElasticResult) and isinstance(results[2], ElasticResult)
    assert isinstance(results[1], PredictionFailure) and results[1].error_type == "PropertyError"


def test_unstable_structure_is_flagged_not_averaged():
    result = ElasticPredictor(**SMALL).predict(bulk("Cu", "bcc", a=2.87), EMT())  # EMT bcc Cu: C11 < C12
    C = result.elastic_tensor_GPa
    assert C[0, 0] < C[0, 1]
    assert result.born_stable is False and result.moduli is None and result.debye_temperature_K is None
    assert "unstable" in result.warnings
