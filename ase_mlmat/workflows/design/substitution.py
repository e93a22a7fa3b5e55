"""New binary candidates by element substitution into known prototypes (Hautier et al.'s data-mined probabilities).

Hautier, Fischer, Ehrlacher, Jain and Ceder (Inorg. Chem. 50, 656 (2011)) fitted, on the ICSD, the probability that
an ion of one species replaces another in the same structure; pymatgen ships their table
(:mod:`pymatgen.analysis.structure_prediction`, no download). The table is over ions (``Ti4+``, ``N3-``) and has no
anions such as C⁴⁻ or B³⁻, so here it is lifted to elements: λ(a, b) is the largest λ over the species of a and b
(α = -5, the table's "never seen", where no pair is listed), and the probability that b replaces a on a site is
p(b | a) = exp λ(a, b) / Σ_b' exp λ(a, b') over the allowed elements. A binary prototype A_x B_y becomes
A'_x B'_y with probability p(A' | A) · p(B' | B); candidates at or above ``threshold`` are kept.

Then:

* **Charge balance, where it applies**: a prototype that can be charge balanced with common or ICSD oxidation states
  (ionic, e.g. NaCl) only yields candidates that can be too; an intermetallic prototype (no balance) yields
  candidates flagged ``charge_balanced=None`` (not applicable).
* **Volume**: the prototype's cell scaled by Σ n r³ of the new elements over the old (covalent radii, ASE's table).
* **De-duplication**: prototypes are grouped into structure types (pymatgen ``StructureMatcher``, anonymous: NaCl and
  MgO are one type), and a candidate is its type and the element on each of the type's two sites
  (:class:`SiteOrder`): the most probable route to it is kept, and one that is a known prototype is dropped. A
  candidate with a known composition is also matched against the prototypes of that composition
  (:class:`KnownStructures`): ``group_structures`` compares each structure with its group's first member only, so
  two cells of one structure type (AlB₂-type PuB₂ and TiB₂, c/a 1.26 and 1.06) can land in different types, and
  TiB₂ made from PuB₂ would otherwise pass as new.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii

NEVER_SEEN_LAMBDA = -5.0  # pymatgen's alpha: the weight of a substitution the ICSD never showed


def _require_pymatgen():
    try:
        import pymatgen  # noqa: F401
    except ImportError:
        raise ImportError(
            "candidate generation needs pymatgen (its substitution table and StructureMatcher): "
            "pip install 'ase-mlmat[design]'"
        ) from None


@dataclass
class Prototype:
    """A known binary structure the candidates are made from."""

    mp_id: str
    atoms: Atoms
    type_id: int = -1  # structure type (anonymous StructureMatcher group); set by :func:`assign_structure_types`

    @property
    def elements(self) -> tuple[str, str]:
        """The two elements, in order of first appearance."""
        return tuple(dict.fromkeys(self.atoms.get_chemical_symbols()))  # type: ignore[return-value]

    @property
    def counts(self) -> tuple[int, int]:
        symbols = self.atoms.get_chemical_symbols()
        return tuple(symbols.count(e) for e in self.elements)  # type: ignore[return-value]


@dataclass
class Candidate:
    """One substituted structure with its provenance (``info`` carries the same, for the database)."""

    atoms: Atoms
    prototype: str  # mp id of the prototype
    substitution: str  # e.g. "In>Ga,Sb>As"
    probability: float  # p(A'|A) p(B'|B)
    charge_balanced: bool | None  # None: the prototype is not charge balanced (intermetallic), not applicable
    type_id: int
    key: str = field(init=False)

    def __post_init__(self):
        self.key = f"{self.prototype}:{self.substitution}"

    @property
    def formula(self) -> str:
        return self.atoms.get_chemical_formula(mode="metal", empirical=True)


def read_prototypes(path: str) -> list[Prototype]:
    """The binary structures of a pymatgen JSON list (e.g. the Materials Project elasticity file), by ``mp_id``.

    Raises:
        ValueError: a structure is not made of exactly two elements.
    """
    from ...data.pymatgen_json import read_pymatgen_json

    prototypes = []
    for k, atoms in enumerate(read_pymatgen_json(path)):
        mp_id = str(atoms.info.get("mp_id", atoms.info.get("material_id", f"{path}@{k}")))
        if len(set(atoms.get_chemical_symbols())) != 2:
            raise ValueError(f"prototype {mp_id} of {path} is not a binary ({atoms.get_chemical_formula()})")
        prototypes.append(Prototype(mp_id, atoms))
    return prototypes


def _structure(atoms: Atoms):
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_structure(atoms)


def _matcher():
    from pymatgen.analysis.structure_matcher import StructureMatcher

    return StructureMatcher()  # default tolerances; scale=True: volumes need not agree


def assign_structure_types(prototypes: Sequence[Prototype]) -> int:
    """Set each prototype's ``type_id`` (same id: the same structure up to the element names and the volume).

    Returns the number of types. Prototypes are first split by anonymous formula and site count, so the
    matcher compares only what could match (3,953 MP binaries: 713 types, ~1 min).
    """
    _require_pymatgen()
    buckets: dict[tuple, list[Prototype]] = defaultdict(list)
    for prototype in prototypes:
        counts = tuple(sorted(prototype.counts))
        buckets[counts].append(prototype)
    matcher, next_id = _matcher(), 0
    for members in buckets.values():
        structures = [_structure(p.atoms) for p in members]
        index = {id(s): p for s, p in zip(structures, members)}
        for group in matcher.group_structures(structures, anonymous=True):
            for structure in group:
                index[id(structure)].type_id = next_id
            next_id += 1
    return next_id


@cache
def _oxidation_states(element: str) -> tuple[int, ...]:
    """The common oxidation states and those seen in the ICSD (Sm²⁺ in SmTe, Bi⁵⁺ in BiF₅), from pymatgen."""
    from pymatgen.core import Element

    found = Element(element)
    return tuple(sorted(set(found.common_oxidation_states) | set(found.icsd_oxidation_states)))


def charge_balanced(elements: tuple[str, str], counts: tuple[int, int]) -> bool:
    """Whether oxidation states q_a > 0 > q_b (or the reverse) give n_a q_a + n_b q_b = 0."""
    (a, b), (na, nb) = elements, counts
    return any(qa * qb < 0 and na * qa + nb * qb == 0 for qa in _oxidation_states(a) for qb in _oxidation_states(b))


class SubstitutionTable:
    """p(new | old) over ``elements`` from pymatgen's ionic substitution table, lifted to elements (module docstring).

    Args:
        elements: the elements candidates may contain (e.g. those a property model knows).
    """

    def __init__(self, elements: Iterable[str]):
        _require_pymatgen()
        from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability

        self.elements = tuple(sorted(set(elements), key=lambda e: atomic_numbers[e]))
        index = {e: k for k, e in enumerate(self.elements)}
        table = SubstitutionProbability(alpha=NEVER_SEEN_LAMBDA)
        lam = np.full((len(self.elements), len(self.elements)), NEVER_SEEN_LAMBDA)
        species = [s for s in table.species if s.symbol in index]
        for s in species:
            for t in species:
                i, j = index[s.symbol], index[t.symbol]
                lam[i, j] = max(lam[i, j], table.get_lambda(s, t))
        weights = np.exp(lam)
        self.conditional = weights / weights.sum(axis=1, keepdims=True)  # [old, new]
        self._index = index

    def column(self, old: str) -> np.ndarray:
        """p(new | old) for every element of the table (all equal where ``old`` is not in it)."""
        if old not in self._index:
            return np.full(len(self.elements), 1.0 / len(self.elements))
        return self.conditional[self._index[old]]


def _scaled_cell_factor(old: Sequence[str], new: Sequence[str]) -> float:
    """Linear scale of the cell: (Σ r_new³ / Σ r_old³)^(1/3), covalent radii."""
    r_old = sum(covalent_radii[atomic_numbers[s]] ** 3 for s in old)
    r_new = sum(covalent_radii[atomic_numbers[s]] ** 3 for s in new)
    return (r_new / r_old) ** (1.0 / 3.0)


def substituted(prototype: Prototype, new: tuple[str, str]) -> Atoms:
    """The prototype with its two elements replaced by ``new`` and its cell scaled (fractional positions kept)."""
    mapping = dict(zip(prototype.elements, new))
    old_symbols = prototype.atoms.get_chemical_symbols()
    symbols = [mapping[s] for s in old_symbols]
    cell = prototype.atoms.cell * _scaled_cell_factor(old_symbols, symbols)
    return Atoms(symbols=symbols, scaled_positions=prototype.atoms.get_scaled_positions(), cell=cell, pbc=True)


def _proposals(prototype: Prototype, table: SubstitutionTable, threshold: float):
    """(probability, (A', B')) of every substitution of ``prototype`` at or above ``threshold``."""
    a, b = prototype.elements
    joint = np.outer(table.column(a), table.column(b))
    for i, j in zip(*np.nonzero(joint >= threshold)):
        new = (table.elements[i], table.elements[j])
        if new[0] != new[1] and new != (a, b):
            yield float(joint[i, j]), new


class SiteOrder:
    """Which element of a prototype sits on which site of its structure type, so that candidates compare by key.

    A candidate is identified by its structure type and the element on each of the type's two sites. Where the
    counts differ (A2B), the sites are told apart by their counts. Where they are equal (AB, A2B2), the type's
    first prototype fixes the order and every other prototype of the type is matched against it once
    (``StructureMatcher`` with the elements renamed); a type whose two sites are equivalent (rock salt: swapping
    Na and Cl gives rock salt) orders its pair alphabetically. Each prototype costs at most two matcher calls;
    candidates then cost none.
    """

    PLACEHOLDERS = ("Li", "Be")  # the two sites' stand-in elements for the matcher

    def __init__(self, prototypes: Sequence[Prototype]):
        if any(p.type_id < 0 for p in prototypes):
            assign_structure_types(prototypes)
        self._flipped: dict[str, bool] = {}
        self._symmetric: dict[int, bool] = {}
        matcher, first = _matcher(), {}
        for prototype in prototypes:
            na, nb = prototype.counts
            if na != nb:
                self._flipped[prototype.mp_id] = na > nb  # minority site first
                continue
            if prototype.type_id not in first:
                first[prototype.type_id] = self._renamed(prototype, flip=False)
                swapped = self._renamed(prototype, flip=True)
                self._symmetric[prototype.type_id] = matcher.fit(first[prototype.type_id], swapped)
                self._flipped[prototype.mp_id] = False
                continue
            reference = first[prototype.type_id]
            self._flipped[prototype.mp_id] = not matcher.fit(reference, self._renamed(prototype, flip=False)) and (
                matcher.fit(reference, self._renamed(prototype, flip=True))
            )

    def _renamed(self, prototype: Prototype, flip: bool):
        x, y = self.PLACEHOLDERS[::-1] if flip else self.PLACEHOLDERS
        mapping = dict(zip(prototype.elements, (x, y)))
        atoms = prototype.atoms.copy()
        atoms.set_chemical_symbols([mapping[s] for s in atoms.get_chemical_symbols()])
        return _structure(atoms)

    def key(self, prototype: Prototype, elements: tuple[str, str]) -> tuple[int, str, str]:
        """(type, element on site 1, element on site 2) of ``prototype`` with its elements replaced by ``elements``."""
        first, second = elements[::-1] if self._flipped[prototype.mp_id] else elements
        if self._symmetric.get(prototype.type_id, False):
            first, second = sorted((first, second))
        return prototype.type_id, first, second


class KnownStructures:
    """The prototypes by reduced formula: :meth:`match` tells whether a structure is one of them (StructureMatcher,
    volumes free), comparing only with those of its composition."""

    def __init__(self, prototypes: Sequence[Prototype]):
        self._by_formula: dict[str, list[Prototype]] = defaultdict(list)
        for prototype in prototypes:
            self._by_formula[_reduced_formula(prototype.atoms)].append(prototype)
        self._structures: dict[str, object] = {}
        self._matcher = _matcher()

    def match(self, atoms: Atoms) -> str | None:
        """The mp id of the prototype ``atoms`` is, or None."""
        same = self._by_formula.get(_reduced_formula(atoms))
        if not same:
            return None
        structure = _structure(atoms)
        for prototype in same:
            if prototype.mp_id not in self._structures:
                self._structures[prototype.mp_id] = _structure(prototype.atoms)
            if self._matcher.fit(structure, self._structures[prototype.mp_id]):
                return prototype.mp_id
        return None


def _reduced_formula(atoms: Atoms) -> str:
    return atoms.get_chemical_formula(mode="metal", empirical=True)


def generate_substitutions(
    prototypes: Sequence[Prototype],
    table: SubstitutionTable,
    *,
    threshold: float = 1e-3,
    max_candidates: int | None = None,
    drop_known: bool = True,
    site_order: SiteOrder | None = None,
) -> list[Candidate]:
    """New binary candidates from ``prototypes`` (structure types assigned if they are not), most probable first.

    Args:
        threshold: smallest joint substitution probability p(A'|A) p(B'|B) kept.
        max_candidates: keep only the most probable ones (None: all).
        drop_known: drop candidates that are one of the prototypes: the same type and elements on the same sites,
            or a structure match with a prototype of the same composition.
        site_order: a :class:`SiteOrder` of these prototypes, where one has been built already.
    """
    order = site_order or SiteOrder(prototypes)
    proposals = []
    for prototype in prototypes:
        ionic = charge_balanced(prototype.elements, prototype.counts)
        for probability, new in _proposals(prototype, table, threshold):
            balanced = charge_balanced(new, prototype.counts) if ionic else None
            if balanced is not False:
                proposals.append((probability, prototype, new, balanced))
    proposals.sort(key=lambda item: (-item[0], item[1].mp_id, item[2]))
    seen = {order.key(p, p.elements) for p in prototypes} if drop_known else set()
    known = KnownStructures(prototypes) if drop_known else None
    candidates: list[Candidate] = []
    for probability, prototype, new, balanced in proposals:
        if max_candidates is not None and len(candidates) >= max_candidates:
            break
        key = order.key(prototype, new)
        if key in seen:
            continue
        seen.add(key)
        atoms = substituted(prototype, new)
        if known is not None and known.match(atoms) is not None:
            continue
        substitution = ",".join(f"{o}>{n}" for o, n in zip(prototype.elements, new))
        candidate = Candidate(atoms, prototype.mp_id, substitution, probability, balanced, prototype.type_id)
        atoms.info.update(label=candidate.key, prototype=prototype.mp_id, substitution=substitution)
        candidates.append(candidate)
    return candidates


def candidate_row(candidate: Candidate) -> dict:
    """The ase.db key-value pairs of a candidate: its provenance (relaxation columns are added by the relaxer)."""
    row = {
        "candidate_key": candidate.key,
        "source": "substitution",
        "prototype": candidate.prototype,
        "substitution": candidate.substitution,
        "substitution_probability": candidate.probability,
        "structure_type": candidate.type_id,
    }
    if candidate.charge_balanced is not None:
        row["charge_balanced"] = candidate.charge_balanced
    if not math.isfinite(candidate.probability):
        raise ValueError(f"candidate {candidate.key} has a non-finite probability")
    return row
