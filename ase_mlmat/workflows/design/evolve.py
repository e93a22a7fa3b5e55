"""``mlmat evolve``: a small evolutionary structure search over a binary composition range (USPEX-style operators).

Oganov and Glass, J. Chem. Phys. 124, 244704 (2006) (USPEX) search crystal structures with a population of cells
that breeds by three operators, kept here:

* **heredity**: two parents, both cells in fractional coordinates, are cut by a plane normal to one lattice
  vector at a random height; the child takes the atoms below the cut from one parent and above it from the other,
  in the cell interpolated between the parents' cells;
* **lattice mutation**: the cell is strained by a random symmetric strain (Gaussian, ``strain`` standard
  deviation) and the atoms rattled;
* **permutation**: atoms of the two elements swap places.

Every new structure is scaled to the reference volume of its elements (covalent radii, :data:`PACKING`), must keep
atoms at least ``MIN_DISTANCE_FRACTION`` of the sum of their covalent radii apart, and must fall in the composition
range; candidates that do not are bred again. Nothing is relaxed: the fitness comes from structure→property
networks, the screening's fast tier (:func:`~ase_mlmat.workflows.screening.fast_tier.screen_batch`):

    fitness = H_v − penalty · max(0, s₀ − s)

with H_v the Vickers hardness (GPa) from the ML moduli (the ``hardness`` plugin) and s the ``synthesizability``
score where that plugin is installed (no penalty otherwise). Each generation keeps its ``elite`` best unchanged
and breeds the rest from tournaments of the previous one.

Every structure goes into an ase.db with its provenance (``generation``, ``operator``, ``parents``, ``fitness``
and the fast-tier columns); a rerun reads the last complete generation back and goes on. The random stream of
generation g is seeded by (seed, g), so an interrupted and resumed search makes the same structures as one run
straight through.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii
from ase.geometry import get_distances

# reference volume: Σ (4π/3) r³ / PACKING, covalent radii; 0.65 is about the median of the MP binaries (fcc: 0.74)
PACKING = 0.65
MIN_DISTANCE_FRACTION = 0.7  # of r_i + r_j
OPERATORS = ("random", "seed", "elite", "heredity", "mutation", "permutation")


@dataclass(frozen=True)
class EvolveConfig:
    """Settings of a search.

    Args:
        elements: the two elements (A, B).
        composition: smallest and largest fraction of A.
        max_atoms: atoms per cell at most (at least 2).
        population: structures per generation.
        generations: generations in all (the first is generation 0).
        elite: best structures carried over unchanged.
        penalty_GPa: fitness lost per unit of synthesizability below ``synthesizability_floor``.
        strain: standard deviation of the lattice mutation's strain components.
        seed: of the random streams.
    """

    elements: tuple[str, str]
    composition: tuple[float, float] = (0.2, 0.8)
    max_atoms: int = 8
    population: int = 24
    generations: int = 10
    elite: int = 4
    penalty_GPa: float = 40.0
    synthesizability_floor: float = 0.5
    strain: float = 0.15
    seed: int = 0

    def __post_init__(self):
        a, b = self.elements
        if a == b or a not in atomic_numbers or b not in atomic_numbers:
            raise ValueError(f"evolve needs two different chemical elements, got {self.elements}")
        low, high = self.composition
        if not 0 <= low <= high <= 1:
            raise ValueError(f"composition is a range of the fraction of {a} in [0, 1], got {self.composition}")
        if self.max_atoms < 2:
            raise ValueError(f"max_atoms must be at least 2, got {self.max_atoms}")
        if not 0 <= self.elite < self.population:
            raise ValueError(f"elite ({self.elite}) must be below the population ({self.population})")
        if not any(low <= k / n <= high for n in range(2, self.max_atoms + 1) for k in range(1, n)):
            raise ValueError(f"no cell of at most {self.max_atoms} atoms has a fraction of {a} in {self.composition}")


def reference_volume(symbols: Sequence[str]) -> float:
    """Σ (4π/3) r³ / :data:`PACKING` over the atoms, Å³ (covalent radii)."""
    return sum(4 * math.pi / 3 * covalent_radii[atomic_numbers[s]] ** 3 for s in symbols) / PACKING


def _at_reference_volume(atoms: Atoms) -> Atoms:
    scale = (reference_volume(atoms.get_chemical_symbols()) / atoms.get_volume()) ** (1 / 3)
    atoms.set_cell(atoms.cell * scale, scale_atoms=True)
    return atoms


def acceptable(atoms: Atoms, config: EvolveConfig) -> bool:
    """In the composition range, at most ``max_atoms``, both elements present, no two atoms too close."""
    symbols = atoms.get_chemical_symbols()
    n = len(symbols)
    if not 2 <= n <= config.max_atoms or set(symbols) != set(config.elements):
        return False
    fraction = symbols.count(config.elements[0]) / n
    if not config.composition[0] - 1e-9 <= fraction <= config.composition[1] + 1e-9:
        return False
    cell = atoms.cell
    lengths, angles = cell.lengths(), cell.angles()
    if min(lengths) < 1.0 or min(angles) < 30 or max(angles) > 150:  # degenerate cells
        return False
    radii = np.array([covalent_radii[atomic_numbers[s]] for s in symbols])
    _, distances = get_distances(atoms.positions, cell=cell, pbc=True)
    np.fill_diagonal(distances, np.inf)
    if (distances < MIN_DISTANCE_FRACTION * (radii[:, None] + radii[None, :])).any():
        return False
    # the atom's own images: the shortest lattice vector must leave room too
    return bool(min(lengths) >= MIN_DISTANCE_FRACTION * 2 * radii.min())


def random_structure(config: EvolveConfig, rng: np.random.Generator) -> Atoms:
    """A random cell and random fractional positions at a composition in range (not yet checked)."""
    sizes = [(n, k) for n in range(2, config.max_atoms + 1) for k in range(1, n)]
    sizes = [(n, k) for n, k in sizes if config.composition[0] <= k / n <= config.composition[1]]
    n, k = sizes[rng.integers(len(sizes))]
    a, b = config.elements
    symbols = [a] * k + [b] * (n - k)
    lengths = rng.uniform(0.7, 1.3, 3)
    angles = np.radians(rng.uniform(60, 120, 3))
    cos_a, cos_b, cos_g = np.cos(angles)
    sin_g = np.sin(angles[2])
    cz = math.sqrt(max(1 - cos_b**2 - ((cos_a - cos_b * cos_g) / sin_g) ** 2, 0.05))
    cell = np.array([[1, 0, 0], [cos_g, sin_g, 0], [cos_b, (cos_a - cos_b * cos_g) / sin_g, cz]]) * lengths[:, None]
    atoms = Atoms(symbols, scaled_positions=rng.random((n, 3)), cell=cell, pbc=True)
    return _at_reference_volume(atoms)


def heredity(first: Atoms, second: Atoms, rng: np.random.Generator) -> Atoms:
    """Cut-and-splice of two parents along a random lattice direction, in the interpolated cell."""
    axis, cut, weight = int(rng.integers(3)), rng.uniform(0.25, 0.75), rng.uniform(0.3, 0.7)
    shift_first, shift_second = rng.random(3), rng.random(3)  # random origins: a different slab each time
    parts = []
    for atoms, shift, below in ((first, shift_first, True), (second, shift_second, False)):
        fractional = (atoms.get_scaled_positions() + shift) % 1.0
        keep = fractional[:, axis] < cut if below else fractional[:, axis] >= cut
        parts.append((np.array(atoms.get_chemical_symbols())[keep], fractional[keep]))
    cell = weight * first.cell.array + (1 - weight) * second.cell.array
    symbols = list(parts[0][0]) + list(parts[1][0])
    fractional = np.concatenate([parts[0][1], parts[1][1]])
    return _at_reference_volume(Atoms(symbols, scaled_positions=fractional, cell=cell, pbc=True))


def lattice_mutation(parent: Atoms, rng: np.random.Generator, strain: float) -> Atoms:
    """The parent under a random symmetric strain, its atoms rattled by 0.1 Å."""
    epsilon = rng.normal(0, strain, (3, 3))
    epsilon = (epsilon + epsilon.T) / 2
    child = parent.copy()
    child.set_cell(child.cell.array @ (np.eye(3) + epsilon), scale_atoms=True)
    child.positions += rng.normal(0, 0.1, child.positions.shape)
    return _at_reference_volume(child)


def permutation(parent: Atoms, rng: np.random.Generator) -> Atoms:
    """The parent with one to three pairs of unlike atoms swapped."""
    child = parent.copy()
    symbols = np.array(child.get_chemical_symbols())
    first, second = np.unique(symbols)
    for _ in range(int(rng.integers(1, 4))):
        i, j = rng.choice(np.flatnonzero(symbols == first)), rng.choice(np.flatnonzero(symbols == second))
        symbols[i], symbols[j] = symbols[j], symbols[i]
    child.set_chemical_symbols(list(symbols))
    return _at_reference_volume(child)


def fitness(row: dict, config: EvolveConfig) -> float:
    """H_v − penalty · max(0, s₀ − s) of a fast-tier row (GPa); −inf where the row has no hardness."""
    hardness = row.get("vickers_hardness_GPa")
    if not row.get("ok") or hardness is None or not math.isfinite(hardness):
        return -math.inf
    score = row.get("synthesizability_score")
    shortfall = 0.0 if score is None else max(0.0, config.synthesizability_floor - score)
    return float(hardness) - config.penalty_GPa * shortfall


def fingerprint(atoms: Atoms) -> tuple:
    """Composition and sorted minimum-image distances (0.05 Å): equal for a structure and its rigid copies."""
    _, distances = get_distances(atoms.positions, cell=atoms.cell, pbc=True)
    upper = distances[np.triu_indices(len(atoms), 1)]
    return (atoms.symbols.formula.reduce()[0].format("metal"), len(atoms), tuple(np.round(np.sort(upper) / 0.05)))


def seeds_from_prototypes(prototypes: Sequence[Atoms], config: EvolveConfig) -> list[Atoms]:
    """Binary prototypes with their elements replaced by the search's (both ways), those that are acceptable."""
    out = []
    for prototype in prototypes:
        old = list(dict.fromkeys(prototype.get_chemical_symbols()))
        if len(old) != 2:
            continue
        for new in (config.elements, config.elements[::-1]):
            mapping = dict(zip(old, new))
            atoms = Atoms(
                [mapping[s] for s in prototype.get_chemical_symbols()],
                scaled_positions=prototype.get_scaled_positions(),
                cell=prototype.cell,
                pbc=True,
            )
            atoms = _at_reference_volume(atoms)
            atoms.info["seed_from"] = str(prototype.info.get("mp_id", prototype.info.get("label", "")))
            if acceptable(atoms, config):
                out.append(atoms)
    return out


@dataclass
class Individual:
    atoms: Atoms
    ident: str
    operator: str
    parents: str
    row: dict
    fitness: float = -math.inf


def _first_generation(config: EvolveConfig, seeds: Sequence[Atoms], rng: np.random.Generator) -> list[tuple]:
    chosen, seen = [], set()
    order = rng.permutation(len(seeds))[: config.population // 2]
    for index in order:
        atoms = seeds[int(index)]
        key = fingerprint(atoms)
        if key not in seen:
            seen.add(key)
            chosen.append((atoms, "seed", atoms.info.get("seed_from", "")))
    tries = 0
    while len(chosen) < config.population:
        tries += 1
        if tries > 10000 * config.population:
            raise RuntimeError(f"could not draw {config.population} acceptable random structures for {config}")
        atoms = random_structure(config, rng)
        if acceptable(atoms, config) and (key := fingerprint(atoms)) not in seen:
            seen.add(key)
            chosen.append((atoms, "random", ""))
    return chosen


def _tournament(population: list[Individual], rng: np.random.Generator, size: int = 3) -> Individual:
    picks = rng.choice(len(population), size=min(size, len(population)), replace=False)
    return max((population[int(k)] for k in picks), key=lambda ind: ind.fitness)


def _next_generation(config: EvolveConfig, previous: list[Individual], rng: np.random.Generator) -> list[tuple]:
    ranked = sorted(previous, key=lambda ind: -ind.fitness)
    chosen = [(ind.atoms.copy(), "elite", ind.ident) for ind in ranked[: config.elite]]
    seen = {fingerprint(atoms) for atoms, _, _ in chosen}
    tries = 0
    while len(chosen) < config.population:
        tries += 1
        operator = ("heredity", "mutation", "permutation")[int(rng.choice(3, p=(0.5, 0.3, 0.2)))]
        first = _tournament(previous, rng)
        if operator == "heredity":
            second = _tournament(previous, rng)
            child, parents = heredity(first.atoms, second.atoms, rng), f"{first.ident},{second.ident}"
        elif operator == "mutation":
            child, parents = lattice_mutation(first.atoms, rng, config.strain), first.ident
        else:
            child, parents = permutation(first.atoms, rng), first.ident
        if tries > 200 * config.population:  # the operators keep failing: fresh blood
            child, operator, parents = random_structure(config, rng), "random", ""
        if acceptable(child, config) and (key := fingerprint(child)) not in seen:
            seen.add(key)
            chosen.append((child, operator, parents))
    return chosen


@dataclass
class EvolveSummary:
    generations: int  # complete generations in the database
    evaluated: int  # structures evaluated in this call
    best: list[dict]  # per generation: fitness, formula, hardness, synthesizability, id
    seconds: float


def _config_metadata(config: EvolveConfig) -> dict:
    from dataclasses import asdict

    settings = asdict(config)
    settings.pop("generations")  # a rerun may ask for more
    return {key: list(value) if isinstance(value, tuple) else value for key, value in settings.items()}


def _stored_generations(db, config: EvolveConfig, model: str) -> dict[int, list[Individual]]:
    stored = db.metadata.get("evolve")
    wanted = {**_config_metadata(config), "model": str(model)}
    if stored is None:
        db.metadata = {**db.metadata, "evolve": wanted}
        return {}
    if stored != wanted:
        changed = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        raise ValueError(
            f"the database holds a search with other settings ({', '.join(changed)}): use another --db, or the same "
            "settings to go on with it"
        )
    generations: dict[int, list[Individual]] = {}
    for row in db.select(include_data=False):
        individual = Individual(
            row.toatoms(), row.evolve_id, row.operator, row.get("parents", ""), dict(row.key_value_pairs)
        )
        individual.fitness = float(row.get("fitness", -math.inf))
        generations.setdefault(int(row.generation), []).append(individual)
    for members in generations.values():
        members.sort(key=lambda ind: int(ind.ident.rsplit("-", 1)[1]))
    return generations


def evolve(
    config: EvolveConfig,
    db_path: str,
    *,
    model: str = "mp-binary-kg",
    seeds: Sequence[Atoms] = (),
    progress: bool = False,
) -> EvolveSummary:
    """Run (or resume) the search of ``config`` into ``db_path``; see the module docstring.

    Args:
        model: the structure→moduli network of the fast tier (shipped name or checkpoint).
        seeds: structures for generation 0 (e.g. :func:`seeds_from_prototypes`); up to half the population.
    """
    import time

    from ase.db import connect

    from ..screening.fast_tier import screen_batch
    from ..screening.store import clean_pairs

    start = time.perf_counter()
    db = connect(db_path)
    done = _stored_generations(db, config, model)
    evaluated = 0
    for generation in range(config.generations):
        if generation in done:
            continue
        rng = np.random.default_rng([config.seed, generation])
        if generation == 0:
            made = _first_generation(config, seeds, rng)
        else:
            made = _next_generation(config, done[generation - 1], rng)
        records = screen_batch([(str(k), atoms) for k, (atoms, _, _) in enumerate(made)], model)
        members = []
        for k, ((atoms, operator, parents), (_, _, row)) in enumerate(zip(made, records)):
            individual = Individual(atoms, f"g{generation}-{k}", operator, parents, row)
            individual.fitness = fitness(row, config)
            members.append(individual)
        if not any(math.isfinite(ind.fitness) for ind in members):
            raise RuntimeError(
                "no structure of the generation has a hardness: is the hardness plugin installed "
                "(pip install -e plugins/hardness)?"
            )
        with db:
            for ind in members:
                pairs = {
                    **ind.row,
                    "evolve_id": ind.ident,
                    "generation": generation,
                    "operator": ind.operator,
                    "parents": ind.parents,
                    "fitness": ind.fitness,
                }
                db.write(ind.atoms, key_value_pairs=clean_pairs(pairs))
        done[generation] = members
        evaluated += len(members)
        if progress:
            best = max(members, key=lambda ind: ind.fitness)
            print(f"generation {generation}: best fitness {best.fitness:.2f} GPa, {best.atoms.get_chemical_formula()}")
    best = []
    for generation in sorted(done):
        top = max(done[generation], key=lambda ind: ind.fitness)
        best.append(
            {
                "generation": generation,
                "id": top.ident,
                "formula": top.atoms.get_chemical_formula(mode="metal", empirical=True),
                "fitness_GPa": round(top.fitness, 3),
                "vickers_hardness_GPa": top.row.get("vickers_hardness_GPa"),
                "synthesizability_score": top.row.get("synthesizability_score"),
            }
        )
    return EvolveSummary(len(done), evaluated, best, round(time.perf_counter() - start, 1))
