"""Per-particle structural descriptors that can be fed to the graph network as extra node inputs.

``"radial_energy"``: the radial density descriptors of :mod:`mlmat_glass.baselines` (2 × 28 values)
and the local Kob–Andersen potential energy (1 value) — the information of the baselines, which the
network then coarse-grains and combines through message passing. They are standardised with the
training-set mean and spread stored in the model.
"""

from __future__ import annotations

import numpy as np

from .baselines import local_energy, radial_descriptors

DESCRIPTORS = {
    "radial_energy": lambda p, t, b: np.hstack([radial_descriptors(p, t, b), local_energy(p, t, b)[:, None]]),
}


def node_descriptors(name: str | None, positions: np.ndarray, types: np.ndarray, box) -> np.ndarray | None:
    """Descriptor matrix (N, F) float32 for descriptor set ``name``; None when ``name`` is None."""
    if name is None:
        return None
    try:
        build = DESCRIPTORS[name]
    except KeyError:
        raise ValueError(f"unknown node descriptors {name!r}; choose from {sorted(DESCRIPTORS)}") from None
    return build(positions, types, box).astype(np.float32)


def descriptor_size(name: str | None) -> int:
    """Number of descriptor columns of set ``name`` (0 for None)."""
    if name is None:
        return 0
    rng = np.random.default_rng(0)
    positions = rng.random((64, 3)) * 8.0
    return node_descriptors(name, positions, np.arange(64) % 2, 8.0).shape[1]
