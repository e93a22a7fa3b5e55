"""Train/validation splits and k-fold partitions, reproducible from a seed.

Every shuffle draws from its own ``torch.Generator`` seeded with ``seed``: the same seed gives the same
split on every machine, and torch's and numpy's global generators are neither used nor advanced.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import torch


def permutation(n: int, seed: int) -> np.ndarray:
    """A random order of ``range(n)`` from a ``torch.Generator`` seeded with ``seed``."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(int(seed))).numpy()


def train_val_split(n: int, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random split of ``range(n)`` into training and validation indices."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = permutation(n, seed)
    n_val = round(val_fraction * n)
    if val_fraction > 0:
        n_val = max(n_val, 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def kfold_indices(n: int, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) index pairs; every index is in exactly one test fold."""
    if k < 2 or k > n:
        raise ValueError(f"k-fold needs 2 <= k <= number of structures ({n}), got {k}")
    order = permutation(n, seed)
    folds = np.array_split(order, k)
    return [(np.sort(np.concatenate([f for j, f in enumerate(folds) if j != i])), np.sort(folds[i])) for i in range(k)]


def grouped_kfold_indices(groups: Sequence[Hashable], k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) index pairs in which every group lies wholly in one test fold.

    Groups (e.g. reduced formulas, so that no compound is on both sides) are shuffled with ``seed``,
    then placed largest first into the fold with the fewest items so far: fold sizes differ by at most
    the size of the largest group.
    """
    labels = list(groups)
    unique, inverse = np.unique(np.array([str(g) for g in labels], dtype=object), return_inverse=True)
    if k < 2 or k > len(unique):
        raise ValueError(f"grouped k-fold needs 2 <= k <= number of groups ({len(unique)}), got {k}")
    sizes = np.bincount(inverse, minlength=len(unique))
    order = permutation(len(unique), seed)
    order = order[np.argsort(-sizes[order], kind="stable")]  # largest first, ties in random order
    fold_of_group = np.empty(len(unique), dtype=int)
    filled = np.zeros(k, dtype=int)
    for group in order:
        fold = int(np.argmin(filled))
        fold_of_group[group] = fold
        filled[fold] += sizes[group]
    fold_of_item = fold_of_group[inverse]
    return [(np.flatnonzero(fold_of_item != i), np.flatnonzero(fold_of_item == i)) for i in range(k)]
