"""Uncertainty from committee results; diversity by farthest-point sampling on radial distributions."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ase_mlmat.active import farthest_point_sampling, frame_uncertainty, rdf_descriptor, select_diverse


def test_frame_uncertainty_is_largest_atomic_spread():
    forces_std = np.zeros((4, 3))
    forces_std[2] = [0.3, 0.4, 0.0]
    force, energy = frame_uncertainty({"forces_std": forces_std, "energy_std": 0.2}, 4)
    assert force == pytest.approx(0.5) and energy == pytest.approx(0.05)


def test_farthest_point_sampling_skips_duplicates_and_existing():
    points = np.array([[0.0], [0.0], [1.0], [5.0], [5.0]])
    assert farthest_point_sampling(points, 5, first=2) == [2, 3, 0]  # duplicates never chosen
    assert farthest_point_sampling(points, 2, first=0, existing=np.array([[5.0]])) == [0, 2]


def test_select_diverse_prefers_uncertain_then_different():
    base = bulk("Cu", cubic=True) * (2, 1, 1)
    rng = np.random.default_rng(0)
    near = []
    for scale in (0.01, 0.011, 0.012, 0.2):
        atoms = base.copy()
        atoms.positions += rng.normal(0, scale, atoms.positions.shape)
        near.append(atoms)
    d = [rdf_descriptor(a, ["Cu"]) for a in near]
    assert np.linalg.norm(d[0] - d[1]) < np.linalg.norm(d[0] - d[3])
    chosen = select_diverse(near, [0.5, 0.1, 0.1, 0.2], 2)
    assert chosen == [0, 3]  # most uncertain first, then the one most unlike it
    assert select_diverse([], [], 3) == []
