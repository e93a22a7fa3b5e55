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
* ``"inherent_radial_cg_bo"`` (615): ``"inherent_radial_cg"``, the ``"inherent_radial"`` averages within
  5.0 σ, and bond-orientational order of the inherent structure — q_l and its neighbour average q̄_l
  (Lechner & Dellago, J. Chem. Phys. 129, 114707, 2008) for l = 2, 4, 6, 8 over the neighbours within
  1.45 σ — with their averages within 1.5, 2.5, 3.5 and 5.0 σ.

Descriptors are standardised with training-set statistics stored in the model.
"""

from __future__ import annotations

import numpy as np

from .baselines import _pairs, local_energy, radial_descriptors
from .inherent import inherent_structure

COARSE_GRAINING_RADII = (1.5, 2.5, 3.5)  # σ
WIDE_RADIUS = 5.0  # σ, the widest coarse-graining of "inherent_radial_cg_bo"
BOND_SHELL = 1.45  # σ, neighbours counted in bond-orientational order (first minimum of g(r))
BOND_ORDERS = (2, 4, 6, 8)


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


def _spherical_harmonic(degree: int, m: int, polar: np.ndarray, azimuth: np.ndarray) -> np.ndarray:
    import scipy.special

    if hasattr(scipy.special, "sph_harm_y"):  # SciPy >= 1.15
        return scipy.special.sph_harm_y(degree, m, polar, azimuth)
    return scipy.special.sph_harm(m, degree, azimuth, polar)


def bond_order(positions: np.ndarray, box, *, shell: float = BOND_SHELL, orders=BOND_ORDERS) -> np.ndarray:
    """Bond-orientational order (N, 2 · len(orders)): q_l and q̄_l (neighbour-averaged q_lm) for each l.

    q_l(i) = sqrt(4π/(2l+1) Σ_m |q_lm(i)|²) with q_lm(i) the mean of Y_lm over the bonds of i to particles
    within ``shell`` σ; q̄_l the same with q_lm averaged over i and its neighbours.
    """
    lengths = np.broadcast_to(np.asarray(box, dtype=float), (3,))
    i, j, _ = _pairs(positions, box, shell)
    d = np.asarray(positions, dtype=float)[j] - np.asarray(positions, dtype=float)[i]
    d -= lengths * np.round(d / lengths)
    r = np.linalg.norm(d, axis=1)
    polar, azimuth = np.arccos(np.clip(d[:, 2] / r, -1.0, 1.0)), np.arctan2(d[:, 1], d[:, 0])
    n = len(positions)
    count = np.bincount(i, minlength=n)
    columns = []
    for degree in orders:
        qlm = np.zeros((n, 2 * degree + 1), dtype=complex)
        for k, m in enumerate(range(-degree, degree + 1)):
            y = _spherical_harmonic(degree, m, polar, azimuth)
            qlm[:, k] = np.bincount(i, y.real, minlength=n) + 1j * np.bincount(i, y.imag, minlength=n)
        qlm /= np.maximum(count, 1)[:, None]
        averaged = qlm.copy()
        np.add.at(averaged, i, qlm[j])
        averaged /= (1.0 + count)[:, None]
        norm = 4 * np.pi / (2 * degree + 1)
        columns += [np.sqrt(norm * (np.abs(qlm) ** 2).sum(1)), np.sqrt(norm * (np.abs(averaged) ** 2).sum(1))]
    return np.stack(columns, axis=1)


def _inherent_radial_cg_bo(positions, types, box, inherent):
    local = _inherent_radial(positions, types, box, inherent)
    order = bond_order(inherent, box)
    radii = (*COARSE_GRAINING_RADII, WIDE_RADIUS)
    return np.hstack(
        [local]
        + [coarse_grained(local, inherent, box, r) for r in radii]
        + [order]
        + [coarse_grained(order, inherent, box, r) for r in radii]
    )


# name -> (builder(positions, types, box, inherent), needs the inherent structure)
DESCRIPTORS = {
    "radial_energy": (_radial_energy, False),
    "inherent_radial": (_inherent_radial, True),
    "inherent_radial_cg": (_inherent_radial_cg, True),
    "inherent_radial_cg_bo": (_inherent_radial_cg_bo, True),
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
