"""C_ij in the conventional standard frame: primitive and conventional cells agree, moduli unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from mlmat_elastic import ElasticPredictor, rotate_elastic_tensor
from mlmat_elastic.frame import INPUT_FRAME, STANDARD_FRAME

from ase_mlmat.properties.moduli import isotropic_moduli

SMALL = {"normal_strains": (-0.005, 0.005), "shear_strains": (-0.005, 0.005)}


def rotated_primitive(symbol: str) -> Atoms:
    """The primitive cell as a CIF gives it: a along x, so the cube axes are not the Cartesian axes."""
    primitive = bulk(symbol)
    return Atoms(
        primitive.symbols, cell=primitive.cell.cellpar(), scaled_positions=primitive.get_scaled_positions(), pbc=True
    )


def test_primitive_and_conventional_cells_give_one_tensor():
    predictor = ElasticPredictor(**SMALL)
    primitive = predictor.predict(rotated_primitive("Cu"), EMT())
    conventional = predictor.predict(bulk("Cu", cubic=True), EMT())
    assert primitive.frame == conventional.frame == STANDARD_FRAME
    C_p, C_c = primitive.elastic_tensor_GPa, conventional.elastic_tensor_GPa
    print(
        f"EMT Cu, rotated primitive in the standard frame: C11 {C_p[0, 0]:.1f} C12 {C_p[0, 1]:.1f} "
        f"C44 {C_p[3, 3]:.1f} C14 {C_p[0, 3]:.2f} GPa"
    )
    np.testing.assert_allclose(C_p, C_c, atol=0.5)
    assert abs(C_p[0, 3]) < 0.5 and C_p[3, 3] > 50  # cubic form: no C14, C44 of the cube axes
    # the input-frame tensor (rotated back) is the cubic-axes one seen from the CIF axes: C14 ≠ 0
    C_input = rotate_elastic_tensor(C_p, primitive.frame_rotation.T)
    assert abs(C_input[0, 3]) > 5
    # isotropic moduli are rotation-invariant: the same from either frame
    for a, b in ((isotropic_moduli(C_input), primitive.moduli), (primitive.moduli, conventional.moduli)):
        assert a.bulk_modulus_GPa == pytest.approx(b.bulk_modulus_GPa, rel=1e-3)
        assert a.shear_modulus_GPa == pytest.approx(b.shear_modulus_GPa, rel=1e-3)


def test_details_show_the_tensor_in_GPa_and_its_frame():
    result = ElasticPredictor(**SMALL).predict(rotated_primitive("Al"), EMT())
    text = result.details()
    assert "GPa" in text and STANDARD_FRAME in text
    assert f"{result.elastic_tensor_GPa[0, 0]:8.1f}" in text.splitlines()[1]
    assert len(text.splitlines()) >= 8


def test_a_given_tensor_stays_in_the_input_frame():
    from mlmat_elastic import ElasticResult

    result = ElasticResult.from_tensor(np.diag([100.0, 100.0, 100.0, 40.0, 40.0, 40.0]))
    assert result.frame == INPUT_FRAME and INPUT_FRAME in result.details()
