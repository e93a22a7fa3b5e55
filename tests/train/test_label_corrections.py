"""The yz/xz stress-label correction of the mlearn files, checked against the cells' own shear."""

from __future__ import annotations

import numpy as np
import pytest

from ase_mlmat.data import load_labelled
from ase_mlmat.data.corrections import MLEARN_SWAPPED_YZ_XZ

from ..conftest import MLEARN


def _sheared_elastic_frames(structures, labels):
    """(shear strain yz, xz; stress yz, xz) of Elastic frames sheared in exactly one of yz, xz."""
    rows = []
    for atoms, label in zip(structures, labels):
        if atoms.info.get("config_type") != "Elastic" or label.stress is None:
            continue
        cell = atoms.cell.array / np.linalg.norm(atoms.cell.array, axis=1)[:, None]
        gamma_yz, gamma_xz = cell[1, 2] + cell[2, 1], cell[0, 2] + cell[2, 0]
        if max(abs(gamma_yz), abs(gamma_xz)) > 0.02 and min(abs(gamma_yz), abs(gamma_xz)) < 1e-6:
            rows.append((gamma_yz, gamma_xz, label.stress[3], label.stress[4]))
    return np.array(rows)


@pytest.mark.parametrize("element", ["Cu", "Si"])
def test_shear_stress_lands_in_the_sheared_component(element):
    """After the correction a cell sheared in yz carries σ_yz (and xz carries σ_xz), as elasticity demands."""
    path = MLEARN / f"{element}_train.extxyz"
    raw = _sheared_elastic_frames(*load_labelled(path))
    fixed = _sheared_elastic_frames(*load_labelled(path, MLEARN_SWAPPED_YZ_XZ[element]))
    assert len(fixed) >= 6

    def in_sheared_component(rows):
        sheared_yz = np.abs(rows[:, 0]) > np.abs(rows[:, 1])
        sigma_sheared = np.where(sheared_yz, rows[:, 2], rows[:, 3])
        sigma_other = np.where(sheared_yz, rows[:, 3], rows[:, 2])
        return np.abs(sigma_sheared) > 10 * np.abs(sigma_other)

    assert in_sheared_component(fixed).all()
    if MLEARN_SWAPPED_YZ_XZ[element] == ["*"]:  # the file really had them exchanged
        assert not in_sheared_component(raw).any()
