"""Relaxed- versus clamped-ion C of diamond silicon with the shipped mlearn-Si potential."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from mlmat_elastic import ElasticPredictor

from ase_mlmat import MLCalculator


@pytest.fixture(scope="module")
def si_tensors() -> tuple[np.ndarray, np.ndarray]:
    calculator = MLCalculator("mlearn-Si", dtype="float64", device="cpu")
    relaxed = ElasticPredictor(relax_ions=True).predict(bulk("Si"), calculator)
    clamped = ElasticPredictor(relax_ions=False).predict(bulk("Si"), calculator)
    assert relaxed.relaxed_ions and not clamped.relaxed_ions
    assert relaxed.born_stable and clamped.born_stable
    return relaxed.elastic_tensor_GPa, clamped.elastic_tensor_GPa


def test_internal_relaxation_softens_c44(si_tensors):
    relaxed, clamped = si_tensors
    print(
        f"mlearn-Si C11 {relaxed[0, 0]:.1f} C12 {relaxed[0, 1]:.1f} GPa; "
        f"C44 relaxed-ion {relaxed[3, 3]:.1f}, clamped-ion {clamped[3, 3]:.1f} GPa"
    )
    assert 0.0 < relaxed[3, 3] < clamped[3, 3] - 10.0  # GPa
    assert clamped[3, 3] > 1.15 * relaxed[3, 3]


def test_normal_strains_need_no_internal_relaxation(si_tensors):
    relaxed, clamped = si_tensors  # the two-fold axes through each atom survive: no internal displacement
    np.testing.assert_allclose(relaxed[:3, :3], clamped[:3, :3], rtol=1e-6)


def test_primitive_cell_from_a_cif_gives_the_cubic_tensor(si_tensors):
    """A primitive cell with a along x (as read from a CIF) gave C11 181, C14 21 GPa in its own frame."""
    from ase import Atoms

    relaxed, _ = si_tensors
    primitive = bulk("Si")
    rotated = Atoms("Si2", cell=primitive.cell.cellpar(), scaled_positions=primitive.get_scaled_positions(), pbc=True)
    result = ElasticPredictor().predict(rotated, MLCalculator("mlearn-Si", dtype="float64", device="cpu"))
    C = result.elastic_tensor_GPa
    print(
        f"rotated primitive Si, {result.frame}: C11 {C[0, 0]:.1f} C12 {C[0, 1]:.1f} C44 {C[3, 3]:.1f} C14 {C[0, 3]:.2f}"
    )
    assert result.frame == "conventional standard cell (spglib)"
    np.testing.assert_allclose(C, relaxed, atol=1.0)  # GPa
