"""Composition-grouped k-fold: no compound on both sides, balanced folds, wired into property CV."""

from __future__ import annotations

import numpy as np
import pytest

from ase_mlmat.data.splits import grouped_kfold_indices, kfold_indices
from ase_mlmat.train import leave_element_out
from ase_mlmat.train.property import cross_validate_property, reduced_formula

from .conftest import small_config


def _groups(seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=300)  # polymorph counts, like the MP set (1 to 5 per formula)
    return [f"X{g}" for g, size in enumerate(sizes) for _ in range(size)]


def test_grouped_kfold_keeps_groups_whole_and_balances_folds():
    groups = np.array(_groups())
    folds = grouped_kfold_indices(groups, 5, seed=0)
    tests = [test for _, test in folds]
    assert sorted(np.concatenate(tests).tolist()) == list(range(len(groups)))  # a partition
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])  # no group on both sides
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(groups)))
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= 5  # at most the largest group
    again = grouped_kfold_indices(list(groups), 5, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = grouped_kfold_indices(groups, 5, seed=1)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other, strict=True))
    random_folds = kfold_indices(len(groups), 5, 0)  # the random folds do split groups
    assert any(set(groups[tr]) & set(groups[te]) for tr, te in random_folds)
    with pytest.raises(ValueError, match="number of groups"):
        grouped_kfold_indices(["a", "a", "b"], 3)


def test_property_cv_grouped_by_formula(tmp_path, moduli_slice):
    with pytest.raises(ValueError, match="group_by"):
        small_config(tmp_path, group_by="spacegroup")
    data = moduli_slice.subset(range(120))
    formulas = np.array([reduced_formula(atoms) for atoms in data.structures])
    assert len(set(formulas)) < len(formulas)  # the slice has polymorphs to keep together
    config = small_config(tmp_path, group_by="formula", epochs=1, limit=None)
    report = cross_validate_property(config, 3, dataset=data, folds=[1])
    assert report["group_by"] == "formula"
    tested = ~np.isnan(np.array(report["oof_mean"])[:, 0])
    assert 30 < tested.sum() < 50
    assert not set(formulas[tested]) & set(formulas[~tested])


def test_leave_element_out_tests_only_on_the_unseen_element(tmp_path, moduli_slice):
    data = moduli_slice.subset(range(150))
    element = "Ti"
    has = [element in atoms.get_chemical_symbols() for atoms in data.structures]
    report = leave_element_out(small_config(tmp_path, epochs=2, limit=None, val_fraction=0.1), element, data)
    n_rest = len(data) - sum(has)
    assert report["num_test"] == sum(has) > 0 and report["num_train"] == n_rest - round(0.1 * n_rest)
    assert report["ids"] == [i for i, h in zip(data.ids, has, strict=True) if h]
    assert all(np.isfinite(v) for v in report["mae"].values())
    with pytest.raises(ValueError, match="no structure"):
        leave_element_out(small_config(tmp_path, epochs=1, limit=None), "Og", data)
