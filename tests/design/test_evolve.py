"""``mlmat evolve``: operators keep the constraints, elitism, provenance, and a resumed search equals a straight one."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from ase_mlmat.workflows.design.evolve import (
    EvolveConfig,
    acceptable,
    evolve,
    fingerprint,
    fitness,
    heredity,
    lattice_mutation,
    permutation,
    random_structure,
    reference_volume,
    seeds_from_prototypes,
)

CONFIG = EvolveConfig(("B", "N"), composition=(0.25, 0.75), max_atoms=6, population=10, generations=3, elite=2)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="two different"):
        EvolveConfig(("B", "B"))
    with pytest.raises(ValueError, match="composition"):
        EvolveConfig(("B", "N"), composition=(0.8, 0.2))
    with pytest.raises(ValueError, match="no cell"):
        EvolveConfig(("B", "N"), composition=(0.45, 0.46), max_atoms=4)
    with pytest.raises(ValueError, match="elite"):
        EvolveConfig(("B", "N"), population=4, elite=4)


def test_operators_give_acceptable_structures_at_the_reference_volume():
    rng = np.random.default_rng(1)
    parents = []
    while len(parents) < 2:
        atoms = random_structure(CONFIG, rng)
        if acceptable(atoms, CONFIG):
            parents.append(atoms)
    made = {"heredity": 0, "mutation": 0, "permutation": 0}
    for _ in range(300):
        for name, child in (
            ("heredity", heredity(parents[0], parents[1], rng)),
            ("mutation", lattice_mutation(parents[0], rng, 0.15)),
            ("permutation", permutation(parents[1], rng)),
        ):
            if len(child) and set(child.get_chemical_symbols()) == {"B", "N"}:
                assert child.get_volume() == pytest.approx(reference_volume(child.get_chemical_symbols()))
            made[name] += acceptable(child, CONFIG)
    assert all(count > 0 for count in made.values()), made
    swapped = permutation(parents[1], rng)
    assert sorted(swapped.get_chemical_symbols()) == sorted(parents[1].get_chemical_symbols())
    assert swapped.get_chemical_symbols() != parents[1].get_chemical_symbols()


def test_acceptable_refuses_close_atoms_and_compositions_out_of_range():
    cubic_bn = bulk("BN", "zincblende", a=3.62)
    assert acceptable(cubic_bn, CONFIG)
    squeezed = cubic_bn.copy()
    squeezed.set_cell(cubic_bn.cell * 0.5, scale_atoms=True)
    assert not acceptable(squeezed, CONFIG)
    boron_rich = Atoms("B3N", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], cell=[4] * 3)
    assert not acceptable(boron_rich, EvolveConfig(("B", "N"), composition=(0.3, 0.6)))
    assert fingerprint(cubic_bn) == fingerprint(cubic_bn.copy())
    assert fingerprint(cubic_bn) != fingerprint(squeezed)


def test_fitness_penalises_low_synthesizability_only_below_the_floor():
    assert fitness({"ok": True, "vickers_hardness_GPa": 30.0}, CONFIG) == 30.0
    assert fitness({"ok": True, "vickers_hardness_GPa": 30.0, "synthesizability_score": 0.9}, CONFIG) == 30.0
    low = fitness({"ok": True, "vickers_hardness_GPa": 30.0, "synthesizability_score": 0.25}, CONFIG)
    assert low == pytest.approx(30.0 - CONFIG.penalty_GPa * 0.25)
    assert fitness({"ok": False}, CONFIG) == -math.inf


def test_seeds_map_prototypes_onto_the_search_elements():
    seeds = seeds_from_prototypes([bulk("NaCl", "rocksalt", a=5.64), bulk("Cu")], CONFIG)
    assert seeds and all(sorted(set(s.get_chemical_symbols())) == ["B", "N"] for s in seeds)


def _rows(path):
    from ase.db import connect

    return {row.evolve_id: row for row in connect(path).select()}


def test_search_is_elitist_traceable_and_resumes_as_if_never_stopped(tmp_path):
    pytest.importorskip("mlmat_hardness")
    straight = evolve(CONFIG, str(tmp_path / "straight.db"))
    assert straight.generations == 3 and straight.evaluated == 3 * CONFIG.population
    best = [b["fitness_GPa"] for b in straight.best]
    assert best == sorted(best) and math.isfinite(best[0])  # the elite carry the best over

    rows = _rows(tmp_path / "straight.db")
    for row in rows.values():
        if row.generation > 0:
            assert row.operator in ("elite", "heredity", "mutation", "permutation", "random")
            for parent in filter(None, row.parents.split(",")):
                assert rows[parent].generation == row.generation - 1
        if row.operator == "elite":
            assert row.fitness == pytest.approx(rows[row.parents].fitness)

    first_two = EvolveConfig(**{**CONFIG.__dict__, "generations": 2})
    evolve(first_two, str(tmp_path / "resumed.db"))
    resumed = evolve(CONFIG, str(tmp_path / "resumed.db"))
    assert resumed.evaluated == CONFIG.population  # only the third generation was made
    again = _rows(tmp_path / "resumed.db")
    assert sorted(again) == sorted(rows)
    for ident, row in rows.items():
        assert again[ident].formula == row.formula and again[ident].fitness == pytest.approx(row.fitness)
        np.testing.assert_allclose(again[ident].positions, row.positions, atol=1e-10)

    with pytest.raises(ValueError, match="other settings"):
        evolve(EvolveConfig(**{**CONFIG.__dict__, "seed": 1}), str(tmp_path / "resumed.db"))


def test_evolve_command_refuses_bad_elements(tmp_path):
    from ase_mlmat.cli import main

    with pytest.raises(SystemExit, match="two different"):
        main(["evolve", "B", "B", "--db", str(tmp_path / "e.db")])
