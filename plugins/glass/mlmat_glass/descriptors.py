"""Per-particle structural descriptors: node inputs of the graph network and inputs of the linear model.

Sets (columns):

* ``"radial_energy"`` (57): the radial density descriptors of :mod:`mlmat_glass.baselines` (2 × 28) and
  the local Kob–Andersen potential energy of the thermal configuration.
* ``"inherent_radial"`` (115): radial descriptors and local energy of the inherent structure (the
  energy minimum below the configuration, :mod:`mlmat_glass.inherent`), each particle's distance to its
  inherent-structure position, and the thermal radial descriptors and energy.
* ``"inherent_radial_cg"`` (460): ``"inherent_radial"`` and its averages over all particles within
  1.5, 2.5 and 3.5 σ (the particle itself included; distances in the inherent structure). Coarse-graining
  descriptors over a neighbourhood is what makes linear models competitive with graph networks
  (Boattini et al., PRL 127, 088007, 2021): propensity is a collective property of a region.

Descriptors are standardised with training-set statistics stored in the model.
"""

from __future__ import annotations

import numpy as np

from .baselines import _pairs, local_energy, radial_descriptors
from .inherent import inherent_structure

COARSE_GRAINING_RADII = (1.5, 2.5, 3.5)  # σ


def _radial_energy(positions, types, box, inherent):
    return np.hstack([radial_descriptors(positions, types, box), local_energy(positions, types, box)[:, None]])


def _inherent_radial(positions, types, box, inherent):
    return np.hstack(
        [
            _radial_energy(inherent, types, box, None),
            np.linalg.norm(np.asarray(positions) - inherent, axis=1)[:, None],
            _radial_energy(positions, types, box, None),
        ]
    )


def coarse_grained(values: np.ndarray, positions: np.ndarray, box, radius: float) -> np.ndarray:
    """Mean of ``values`` (N, F) over each particle and all particles within ``radius`` σ of it."""
    i, j, _ = _pairs(positions, box, radius)
    n = len(values)
    total = values.copy()
    np.add.at(total, i, values[j])
    return total / (1.0 + np.bincount(i, minlength=n))[:, None]


def _inherent_radial_cg(positions, types, box, inherent):
    local = _inherent_radial(positions, types, box, inherent)
    return np.hstack([local] + [coarse_grained(local, inherent, box, r) for r in COARSE_GRAINING_RADII])


# name -> (builder(positions, types, box, inherent), needs the inherent structure)
DESCRIPTORS = {
    "radial_energy": (_radial_energy, False),
    "inherent_radial": (_inherent_radial, True),
    "inherent_radial_cg": (_inherent_radial_cg, True),
}


def needs_inherent(name: str | None) -> bool:
    """Whether descriptor set ``name`` is computed from the inherent structure."""
    return name is not None and _lookup(name)[1]


def _lookup(name: str):
    try:
        return DESCRIPTORS[name]
    except KeyError:
        raise ValueError(f"unknown node descriptors {name!r}; choose from {sorted(DESCRIPTORS)}") from None


def node_descriptors(
    name: str | None, positions: np.ndarray, types: np.ndarray, box, *, inherent: np.ndarray | None = None
) -> np.ndarray | None:
    """Descriptor matrix (N, F) float32 for descriptor set ``name``; None when ``name`` is None.

    ``inherent``: the inherent structure of ``positions`` if already computed (else computed here when
    the set needs it).
    """
    if name is None:
        return None
    build, wants_inherent = _lookup(name)
    if wants_inherent and inherent is None:
        inherent = inherent_structure(positions, types, box)
    return build(np.asarray(positions, dtype=float), types, box, inherent).astype(np.float32)


def descriptor_size(name: str | None) -> int:
    """Number of descriptor columns of set ``name`` (0 for None)."""
    if name is None:
        return 0
    rng = np.random.default_rng(0)
    positions = rng.random((64, 3)) * 8.0
    return node_descriptors(name, positions, np.arange(64) % 2, 8.0, inherent=positions).shape[1]
