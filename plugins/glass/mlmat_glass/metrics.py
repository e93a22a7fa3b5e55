"""Pearson correlation, the metric of the glass-propensity literature (computed on A particles)."""

from __future__ import annotations

import numpy as np


def pearson(prediction: np.ndarray, target: np.ndarray) -> float:
    """Pearson correlation coefficient of two equal-length vectors."""
    x = np.asarray(prediction, dtype=float).ravel()
    y = np.asarray(target, dtype=float).ravel()
    if x.shape != y.shape or len(x) < 2:
        raise ValueError(f"need two vectors of the same length ≥ 2, got {x.shape} and {y.shape}")
    x = x - x.mean()
    y = y - y.mean()
    denominator = np.sqrt(np.dot(x, x) * np.dot(y, y))
    return float(np.dot(x, y) / denominator) if denominator > 0 else float("nan")
