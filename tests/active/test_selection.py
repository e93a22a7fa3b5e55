"""Uncertainty from committee results; diversity by farthest-point sampling on radial distributions."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ase_mlmat.active import (
    allocate_labels,
    farthest_point_sampling,
    frame_uncertainty,
    rdf_descriptor,
    select_diverse,
    select_stratified,
)


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


def test_weighted_sampling_trades_uncertainty_against_distance():
    points = np.array([[0.0], [0.1], [1.0], [3.0]])
    spread = np.array([1.0, 0.9, 0.5, 0.05])
    # plain FPS after the most uncertain takes the farthest point (3.0) despite its tiny spread;
    # weighted takes 1.0 (0.5 x 1.0 > 0.05 x 3.0), never the near-copy 0.1 (0.9 x 0.1)
    assert farthest_point_sampling(points, 2, first=0) == [0, 3]
    assert farthest_point_sampling(points, 3, weights=spread) == [0, 2, 3]
    assert farthest_point_sampling(points, 1, weights=spread, existing=np.array([[0.0]])) == [2]
    assert farthest_point_sampling(np.zeros((2, 1)), 2, weights=np.ones(2)) == [0]  # duplicates never


def test_select_diverse_weighted_prefers_uncertain_frames():
    base = bulk("Cu", cubic=True) * (2, 1, 1)
    rng = np.random.default_rng(0)
    frames = []
    for scale in (0.05, 0.06, 0.3):
        atoms = base.copy()
        atoms.positions += rng.normal(0, scale, atoms.positions.shape)
        frames.append(atoms)
    assert select_diverse(frames, [0.5, 0.4, 0.01], 2) == [0, 2]
    assert select_diverse(frames, [0.5, 0.4, 0.01], 2, weighted=True) == [0, 1]
    assert select_diverse(frames, [0.5, np.nan, 0.01], 1, weighted=True) == [1]  # failed MD: most uncertain


def test_allocate_labels_follows_target_shares_and_history():
    scores = {"hot": 16.0, "cold": 1.0}  # shares 8 : 1 with the exponent 0.75
    assert allocate_labels(scores, {}, {"hot": 20, "cold": 20}, 9) == ["hot"] * 4 + ["cold"] + ["hot"] * 4
    # with 12 : 1 so far the hot stratum is past its share (8/9 of 14): the next goes to the cold one ...
    assert allocate_labels(scores, {"hot": 12, "cold": 1}, {"hot": 20, "cold": 20}, 1) == ["cold"]
    # ... but not with shares that follow the scores in full (exponent 1: 16/17 of 14)
    assert allocate_labels(scores, {"hot": 12, "cold": 1}, {"hot": 20, "cold": 20}, 1, exponent=1.0) == ["hot"]
    # a stratum with no candidates left is skipped; one calm now still counts in the shares
    assert allocate_labels(scores, {}, {"hot": 2, "cold": 20}, 4) == ["hot", "hot", "cold", "cold"]
    assert allocate_labels({**scores, "calm": 16.0}, {"calm": 3}, {"hot": 20, "cold": 20}, 2) == ["hot", "hot"]
    assert allocate_labels(scores, {}, {}, 3) == []
    # an unmeasured spread (MD failed) counts as the worst measured one
    assert allocate_labels({"a": float("nan"), "b": 1.0}, {"b": 1}, {"a": 5, "b": 5}, 1) == ["a"]


def _rattled_cu(scales, seed=0):
    base = bulk("Cu", cubic=True) * (2, 1, 1)
    rng = np.random.default_rng(seed)
    frames = []
    for scale in scales:
        atoms = base.copy()
        atoms.positions += rng.normal(0, scale, atoms.positions.shape)
        frames.append(atoms)
    return frames


def test_select_stratified_shares_labels_and_avoids_what_is_labelled():
    frames = _rattled_cu([0.05, 0.2, 0.051, 0.1, 0.3])
    strata = ["hot", "hot", "hot", "cold", "cold"]
    spread = [0.5, 0.3, 0.49, 0.2, 0.1]
    scores = {"hot": 10.0, "cold": 1.0}
    # shares 10^0.75 : 1 -> the first two labels go to "hot": its most uncertain frame, then not its near-copy
    assert select_stratified(frames, spread, strata, 2, scores=scores, labelled_per_stratum={}) == [0, 1]
    # "hot" already holds its share: the label goes to "cold"
    assert select_stratified(frames, spread, strata, 1, scores=scores, labelled_per_stratum={"hot": 5}) == [3]
    # a labelled twin of frame 0 makes frame 0 (and its near-copy 2) worth little
    picked = select_stratified(
        frames, spread, strata, 1, scores=scores, labelled_per_stratum={}, labelled=[frames[0].copy()]
    )
    assert picked == [1]
    assert select_stratified([], [], [], 3, scores=scores, labelled_per_stratum={}) == []


def test_select_stratified_equals_one_weighted_pick_per_label():
    """Descriptors computed once give the picks of the per-label rule (select_diverse, weighted, one at a time)."""
    rng = np.random.default_rng(3)
    frames = _rattled_cu(rng.uniform(0.02, 0.3, 24), seed=1)
    strata = [int(k) for k in rng.integers(0, 3, 24)]
    spread = [float(x) for x in rng.uniform(0.05, 1.0, 24)]
    spread[5] = float("nan")  # failed MD: counts as the most uncertain
    scores, counts, labelled = {0: 2.0, 1: 1.0, 2: 0.5}, {0: 1}, frames[-2:]
    chosen: list[int] = []
    for key in allocate_labels(scores, counts, {k: strata[:-2].count(k) for k in scores}, 9):
        members = [i for i in range(22) if strata[i] == key and i not in chosen]
        picked = select_diverse(
            [frames[i] for i in members],
            [spread[i] for i in members],
            1,
            labelled=[*labelled, *(frames[i] for i in chosen)],
            weighted=True,
        )
        chosen += [members[i] for i in picked]
    fast = select_stratified(
        frames[:-2], spread[:-2], strata[:-2], 9, scores=scores, labelled_per_stratum=counts, labelled=labelled
    )
    assert fast == chosen and len(fast) == 9 and len(set(fast)) == 9
