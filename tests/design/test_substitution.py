"""Candidate generation by element substitution: charge balance, de-duplication, volume scaling, provenance."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers, covalent_radii

pytest.importorskip("pymatgen")

from ase_mlmat.workflows.design.substitution import (
    KnownStructures,
    Prototype,
    SiteOrder,
    SubstitutionTable,
    assign_structure_types,
    candidate_row,
    charge_balanced,
    generate_substitutions,
    substituted,
)


def prototypes() -> list[Prototype]:
    return [
        Prototype("rs-NaCl", bulk("NaCl", "rocksalt", a=5.64)),
        Prototype("rs-MgO", bulk("MgO", "rocksalt", a=4.21)),
        Prototype("zb-GaAs", bulk("GaAs", "zincblende", a=5.65)),
        Prototype("fl-CaF2", bulk("CaF2", "fluorite", a=5.46)),
    ]


def test_structure_types_ignore_element_names_and_volume():
    found = prototypes()
    assert assign_structure_types(found) == 3
    by_id = {p.mp_id: p.type_id for p in found}
    assert by_id["rs-NaCl"] == by_id["rs-MgO"]
    assert len({by_id["rs-NaCl"], by_id["zb-GaAs"], by_id["fl-CaF2"]}) == 3


def test_charge_balance_from_oxidation_states():
    assert charge_balanced(("Na", "Cl"), (1, 1))
    assert charge_balanced(("Ca", "F"), (1, 2))
    assert not charge_balanced(("Na", "O"), (1, 1))
    assert not charge_balanced(("Ca", "F"), (1, 1))


def test_substitution_table_rows_are_probabilities():
    table = SubstitutionTable(["Na", "K", "Cl", "Br", "O", "Mg"])
    np.testing.assert_allclose(table.conditional.sum(axis=1), 1.0)
    column = dict(zip(table.elements, table.column("Na")))
    assert column["K"] > column["O"]  # alkali for alkali, not for an anion


def test_substituted_scales_the_cell_and_keeps_fractional_positions():
    nacl = prototypes()[0]
    kbr = substituted(nacl, ("K", "Br"))
    assert kbr.get_chemical_symbols() == ["K", "Br"]
    np.testing.assert_allclose(kbr.get_scaled_positions(), nacl.atoms.get_scaled_positions(), atol=1e-12)
    r = {s: covalent_radii[atomic_numbers[s]] ** 3 for s in ("Na", "Cl", "K", "Br")}
    expected = (r["K"] + r["Br"]) / (r["Na"] + r["Cl"])
    assert kbr.get_volume() / nacl.atoms.get_volume() == pytest.approx(expected, rel=1e-10)


def test_rock_salt_sites_are_equivalent():
    found = prototypes()
    order = SiteOrder(found)
    nacl = found[0]
    assert order.key(nacl, ("K", "Br")) == order.key(nacl, ("Br", "K"))
    gaas = found[2]  # zinc blende: swapping the two fcc sublattices gives zinc blende again
    assert order.key(gaas, ("Al", "P")) == order.key(gaas, ("P", "Al"))
    caf2 = found[3]  # counts tell the fluorite sites apart
    assert order.key(caf2, ("Sr", "Cl")) != order.key(caf2, ("Cl", "Sr"))


def test_generated_candidates_are_new_unique_balanced_and_sorted():
    found = prototypes()
    table = SubstitutionTable(["Na", "K", "Li", "Cl", "Br", "Mg", "Ca", "Sr", "O", "S", "F", "Ga", "As", "Al", "P"])
    candidates = generate_substitutions(found, table, threshold=1e-4)
    assert candidates, "no candidate above the threshold"
    probabilities = [c.probability for c in candidates]
    assert probabilities == sorted(probabilities, reverse=True)
    formulas = [(c.type_id, c.formula) for c in candidates]
    assert len(formulas) == len(set(formulas)), "a structure type and formula appear twice"
    known = {(p.type_id, p.atoms.get_chemical_formula(mode="metal", empirical=True)) for p in found}
    assert not known & set(formulas), "a known prototype was generated again"
    rock_salt = found[0].type_id
    for c in candidates:
        if c.type_id in (rock_salt, found[3].type_id):  # ionic prototypes give only balanced candidates
            assert c.charge_balanced is True, c.key
            made = Prototype(c.key, c.atoms)
            assert charge_balanced(made.elements, made.counts), c.key
    assert any(c.formula == "KCl" and c.type_id == rock_salt for c in candidates)
    row = candidate_row(candidates[0])
    assert row["candidate_key"] == candidates[0].key == candidates[0].atoms.info["label"]
    assert row["prototype"] in {p.mp_id for p in found}
    assert 0 < row["substitution_probability"] <= 1


def test_max_candidates_keeps_the_most_probable():
    found = prototypes()
    table = SubstitutionTable(["Na", "K", "Li", "Cl", "Br", "Mg", "Ca", "O", "S", "F"])
    everything = generate_substitutions(found, table, threshold=1e-4)
    top = generate_substitutions(found, table, threshold=1e-4, max_candidates=3)
    assert [c.key for c in top] == [c.key for c in everything[:3]]


def _alb2_type(metal: str, a: float, c: float) -> Atoms:
    cell = [[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]]
    fractional = [[0, 0, 0], [1 / 3, 2 / 3, 0.5], [2 / 3, 1 / 3, 0.5]]
    return Atoms(f"{metal}B2", scaled_positions=fractional, cell=cell, pbc=True)


def test_a_known_structure_in_another_types_cell_is_not_new():
    """AlB2-type PuB2 and TiB2 put in different structure types (as group_structures may do): Ti into PuB2's cell
    is the known TiB2, not a candidate; Zr into it is new."""
    found = [Prototype("PuB2", _alb2_type("Pu", 3.157, 3.991), 0), Prototype("TiB2", _alb2_type("Ti", 3.035, 3.223), 1)]
    assert KnownStructures(found[1:]).match(substituted(found[0], ("Ti", "B"))) == "TiB2"
    assert KnownStructures(found[1:]).match(substituted(found[0], ("Zr", "B"))) is None
    table = SubstitutionTable(["Pu", "Ti", "Zr", "B"])
    kept = {(c.prototype, c.formula) for c in generate_substitutions(found, table, threshold=1e-12)}
    every = {(c.prototype, c.formula) for c in generate_substitutions(found, table, threshold=1e-12, drop_known=False)}
    assert ("PuB2", "TiB2") in every and ("PuB2", "TiB2") not in kept
    assert ("PuB2", "ZrB2") in kept and ("TiB2", "PuB2") not in kept
