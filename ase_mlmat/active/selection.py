"""Which frames to label: committee uncertainty, and diversity by farthest-point sampling.

Uncertainty of a frame is the largest per-atom force spread of the committee,
``max_i |σ_F,i|`` in eV/Å (σ_F,i the (3,) standard deviation of atom i's force over the
members), together with the energy spread per atom σ_E / N in eV/atom.

Diversity uses a model-independent descriptor, a Gaussian-smoothed radial distribution
per pair of elements, so that the choice does not drift with the committee. Farthest-point
sampling starts from the most uncertain candidate and then repeatedly takes the candidate
farthest from everything chosen so far — including the structures already labelled.
With ``weighted=True`` (batch query-by-committee) the greedy score is instead the
candidate's uncertainty times its distance to everything chosen or labelled: the most
uncertain frames are taken, but a near-copy of one already chosen scores close to zero.

Stratified allocation (:func:`allocate_labels`) first decides *where* the labels go. Each
MD segment (a start structure at a temperature) is a stratum whose test error the committee's
mean per-atom spread estimates. If a stratum's error falls as a·n^-α with its n labels, the
total error is least when n ∝ a^(1/(1+α)); with α ≈ 0.35 (the force-error learning curve of a small
PaiNN on EMT Cu) that is n ∝ a^0.75. The current estimate stands in for a, which it underrates where
many labels went already, so the shares come out somewhat flatter than that optimum. Ranking single
frames by their largest spread instead sends nearly every label to the hottest, most open structures.

Each rule is an object with one method, ``select(candidates, context, count) -> list[int]``, registered
by name in :data:`SELECTION_RULES` (the names ``selection.rule`` takes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from ase.neighborlist import neighbor_list


def frame_uncertainty(results: dict, num_atoms: int) -> tuple[float, float]:
    """(max per-atom force spread in eV/Å, energy spread in eV/atom) from committee results."""
    return float(atomic_force_spread(results, num_atoms).max()), float(results["energy_std"]) / num_atoms


def atomic_force_spread(results: dict, num_atoms: int) -> np.ndarray:
    """Per-atom committee force spread |σ_F,i|, eV/Å, (num_atoms,)."""
    return np.linalg.norm(np.asarray(results["forces_std"]).reshape(num_atoms, 3), axis=1)


ALLOCATION_EXPONENT = 0.75  # 1/(1+α), α ≈ 0.35 the learning-curve exponent of force MAE vs labels


def allocate_labels(
    scores: Mapping[Hashable, float],
    labelled: Mapping[Hashable, int],
    available: Mapping[Hashable, int],
    count: int,
    *,
    exponent: float = ALLOCATION_EXPONENT,
) -> list[Hashable]:
    """Strata to label next, one entry per label (a stratum may repeat), at most ``count``.

    Args:
        scores: estimated error of each stratum (e.g. mean spread x atoms); strata without candidates
            belong here too, since they hold part of the error already covered.
        labelled: labels each stratum has so far (missing: 0).
        available: candidates each stratum offers now; a stratum is never given more.
        count: labels to allocate.
        exponent: target shares are ``score**exponent``, normalised.

    Each label goes to the stratum furthest below its target share of all labels, counting the
    ones given so far (the largest-deficit rule of apportionment).
    """
    finite = [v for v in scores.values() if np.isfinite(v) and v > 0]
    fallback = max(finite) if finite else 1.0  # a stratum whose spread was not measured counts as the worst
    weight = {key: (v if np.isfinite(v) and v > 0 else fallback) ** exponent for key, v in scores.items()}
    total_weight = sum(weight.values())
    given = {key: labelled.get(key, 0) for key in weight}
    left = {key: available.get(key, 0) for key in weight}
    total, chosen = sum(given.values()), []
    for _ in range(count):
        open_strata = [key for key in weight if left[key] > 0]
        if not open_strata:
            break
        total += 1
        key = max(open_strata, key=lambda k: weight[k] / total_weight * total - given[k])
        chosen.append(key)
        given[key] += 1
        left[key] -= 1
    return chosen


def rdf_descriptor(
    atoms: Atoms,
    elements: Sequence[str],
    *,
    cutoff: float = 5.0,
    r_min: float = 1.0,
    bins: int = 48,
    width: float = 0.1,
) -> np.ndarray:
    """Smoothed radial distribution per element pair, per atom: (n_pairs * bins,).

    Args:
        elements: symbols fixing the pair order (all structures compared must use the same list).
        cutoff: largest distance, Å.
        r_min: smallest distance of the grid, Å.
        width: Gaussian smoothing, Å.
    """
    order = sorted(elements, key=lambda s: atomic_numbers[s])
    index = {atomic_numbers[s]: k for k, s in enumerate(order)}
    pairs = {(a, b): n for n, (a, b) in enumerate((a, b) for a in range(len(order)) for b in range(a, len(order)))}
    grid = np.linspace(r_min, cutoff, bins)
    out = np.zeros((len(pairs), bins))
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    if len(d):
        si = np.array([index[z] for z in atoms.numbers])
        a, b = np.minimum(si[i], si[j]), np.maximum(si[i], si[j])
        pair = np.array([pairs[(x, y)] for x, y in zip(a, b)])
        weight = np.exp(-0.5 * ((grid[None, :] - d[:, None]) / width) ** 2)  # [n_pairs_ij, bins]
        np.add.at(out, pair, weight)
    return (out / len(atoms)).ravel()


def farthest_point_sampling(
    points: np.ndarray,
    k: int,
    *,
    first: int = 0,
    existing: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> list[int]:
    """Indices of ``k`` rows of ``points`` (n, d), each farthest from those chosen and from ``existing`` (m, d).

    With ``weights`` (n,), non-negative, each pick maximises weight x distance instead (``first`` is
    then ignored: the first pick is the largest weight x distance to ``existing``, or the largest
    weight). Exact duplicates (distance 0 to something chosen or existing) are never chosen, so fewer
    than ``k`` indices may come back.
    """
    n = len(points)
    if n == 0 or k <= 0:
        return []
    distance = np.full(n, np.inf)
    if existing is not None and len(existing):
        distance = np.min(np.linalg.norm(points[:, None, :] - existing[None, :, :], axis=-1), axis=1)
    if weights is not None:
        weights = np.asarray(weights, dtype=float).clip(min=0.0) + 1e-12

    def best() -> int:
        if weights is None:
            return int(np.argmax(distance))
        if np.isinf(distance).all():
            return int(np.argmax(weights))
        return int(np.argmax(np.where(distance > 0, weights * distance, -1.0)))

    chosen: list[int] = []
    candidate = first if weights is None and distance[first] > 0 else best()
    while len(chosen) < min(k, n) and distance[candidate] > 0:
        chosen.append(candidate)
        distance = np.minimum(distance, np.linalg.norm(points - points[candidate], axis=1))
        candidate = best()
    return chosen


def _descriptors(structures: Sequence[Atoms], elements: Sequence[str], cutoff: float) -> np.ndarray:
    return np.array([rdf_descriptor(a, elements, cutoff=cutoff) for a in structures])


def _elements(*groups: Sequence[Atoms]) -> list[str]:
    return sorted(
        {s for group in groups for atoms in group for s in atoms.get_chemical_symbols()},
        key=lambda s: atomic_numbers[s],
    )


def _uncertainty_weights(uncertainty: Sequence[float]) -> np.ndarray:
    """Spreads as sampling weights; NaN (a frame where MD failed, no spread measured) counts as the most uncertain."""
    weights = np.asarray(uncertainty, dtype=float)
    finite = weights[np.isfinite(weights)]
    return np.where(np.isfinite(weights), weights, 2.0 * finite.max() if len(finite) else 1.0)


def select_diverse(
    candidates: Sequence[Atoms],
    uncertainty: Sequence[float],
    k: int,
    *,
    labelled: Sequence[Atoms] = (),
    cutoff: float = 5.0,
    weighted: bool = False,
) -> list[int]:
    """Indices of at most ``k`` candidates: the most uncertain first, then farthest-point sampling.

    Args:
        candidates: frames above the uncertainty threshold.
        uncertainty: their force spread, eV/Å.
        labelled: structures already in the training set; candidates like them are avoided.
        cutoff: descriptor range, Å.
        weighted: pick by uncertainty x distance to the chosen and labelled ones (batch
            query-by-committee) instead of by distance alone after the most uncertain.
    """
    if not candidates:
        return []
    elements = _elements(candidates, labelled)
    points = _descriptors(candidates, elements, cutoff)
    existing = _descriptors(labelled, elements, cutoff) if labelled else None
    weights = _uncertainty_weights(uncertainty) if weighted else None
    return farthest_point_sampling(points, k, first=int(np.argmax(uncertainty)), existing=existing, weights=weights)


def select_stratified(
    candidates: Sequence[Atoms],
    uncertainty: Sequence[float],
    strata: Sequence[Hashable],
    k: int,
    *,
    scores: Mapping[Hashable, float],
    labelled_per_stratum: Mapping[Hashable, int],
    labelled: Sequence[Atoms] = (),
    cutoff: float = 5.0,
) -> list[int]:
    """Indices of at most ``k`` candidates, shared over strata by :func:`allocate_labels`.

    Within its stratum each label goes to the candidate of largest uncertainty x distance to everything
    labelled or chosen so far (the weighted rule of :func:`select_diverse`). Every descriptor is computed
    once, so the cost does not grow with the labels chosen.

    Args:
        strata: each candidate's stratum (e.g. its MD segment, start x temperature).
        scores: estimated error per stratum (see :func:`allocate_labels`).
        labelled_per_stratum: labels each stratum already has.
    """
    if not candidates:
        return []
    elements = _elements(candidates, labelled)
    points = _descriptors(candidates, elements, cutoff)
    existing = _descriptors(labelled, elements, cutoff).reshape(len(labelled), points.shape[1])
    chosen: list[int] = []
    for key in allocate_labels(scores, labelled_per_stratum, Counter(strata), k):
        members = [i for i, stratum in enumerate(strata) if stratum == key and i not in chosen]
        picked = farthest_point_sampling(
            points[members],
            1,
            existing=np.vstack([existing, points[chosen]]),
            weights=_uncertainty_weights([uncertainty[i] for i in members]),
        )
        chosen += [members[i] for i in picked]
    return chosen


@dataclass(frozen=True)
class Candidate:
    """An MD frame above the threshold: the structure, its force spread (eV/Å) and its MD segment."""

    atoms: Atoms
    force_std: float  # max per-atom committee force spread, eV/Å; NaN where the MD failed before measuring
    segment: Hashable = None  # (start index, temperature_K) of the MD segment it came from


@dataclass(frozen=True)
class SelectionContext:
    """What a rule may weigh candidates against.

    Args:
        labelled: structures already labelled (candidates like them are worth less).
        cutoff: range of the radial descriptor, Å (the model's cutoff).
        model: the committee's member 0, for rules that use its features.
        segment_scores: estimated error of every MD segment (mean per-atom spread x atoms).
        labelled_per_segment: structures chosen from each segment so far.
    """

    labelled: Sequence[Atoms] = ()
    cutoff: float = 5.0
    model: Any = None
    segment_scores: Mapping[Hashable, float] = field(default_factory=dict)
    labelled_per_segment: Mapping[Hashable, int] = field(default_factory=dict)


class SelectionRule(Protocol):
    """Picks the candidates to label."""

    def select(self, candidates: Sequence[Candidate], context: SelectionContext, count: int) -> list[int]:
        """Indices into ``candidates`` of at most ``count`` frames to label, in the order chosen."""


@dataclass(frozen=True)
class DiverseRule:
    """The most uncertain candidate, then farthest-point sampling; ``weighted``: uncertainty x distance."""

    weighted: bool = False

    def select(self, candidates: Sequence[Candidate], context: SelectionContext, count: int) -> list[int]:
        return select_diverse(
            [c.atoms for c in candidates],
            [c.force_std for c in candidates],
            count,
            labelled=context.labelled,
            cutoff=context.cutoff,
            weighted=self.weighted,
        )


class DOptimalRule:
    """The candidates that most enlarge the D-optimal active set of member 0's last-layer features."""

    def select(self, candidates: Sequence[Candidate], context: SelectionContext, count: int) -> list[int]:
        from .extrapolation import select_d_optimal  # needs torch; only this rule does

        return select_d_optimal([c.atoms for c in candidates], count, model=context.model, labelled=context.labelled)


class StratifiedRule:
    """Labels shared over the MD segments by their estimated error, then uncertainty x distance within one."""

    def select(self, candidates: Sequence[Candidate], context: SelectionContext, count: int) -> list[int]:
        return select_stratified(
            [c.atoms for c in candidates],
            [c.force_std for c in candidates],
            [c.segment for c in candidates],
            count,
            scores=context.segment_scores,
            labelled_per_stratum=context.labelled_per_segment,
            labelled=context.labelled,
            cutoff=context.cutoff,
        )


SELECTION_RULES: dict[str, SelectionRule] = {
    "diverse": DiverseRule(),
    "weighted": DiverseRule(weighted=True),
    "d-optimal": DOptimalRule(),
    "stratified": StratifiedRule(),
}
