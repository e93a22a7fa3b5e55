"""``mlmat generate`` end to end: candidates in an ase.db with provenance, relaxed where covered, resumable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk

pytest.importorskip("pymatgen")


@pytest.fixture
def prototype_file(tmp_path):
    from pymatgen.io.ase import AseAtomsAdaptor

    structures = {
        "t-AlN": bulk("AlN", "wurtzite", a=3.11, c=4.98),
        "t-NaCl": bulk("NaCl", "rocksalt", a=5.64),
    }
    records = [
        {"material_id": mp_id, "structure": AseAtomsAdaptor.get_structure(atoms).as_dict()}
        for mp_id, atoms in structures.items()
    ]
    path = tmp_path / "prototypes.json"
    path.write_text(json.dumps(records))
    return path


def test_generate_writes_provenance_relaxes_covered_and_resumes(prototype_file, tmp_path):
    from ase.db import connect

    from ase_mlmat.workflows.design.generate import KEY, TYPES_METADATA, generate

    db_path = tmp_path / "candidates.db"
    options = dict(threshold=1e-6, elements=["Al", "B", "N", "Na", "K", "Cl"], max_steps=100)
    summary = generate(str(prototype_file), str(db_path), **options)
    db = connect(db_path)
    rows = list(db.select())
    assert summary.written == len(rows) == summary.candidates > 0
    assert summary.structure_types == 2
    assert set(db.metadata[TYPES_METADATA]) == {"t-AlN", "t-NaCl"}
    keys = [row[KEY] for row in rows]
    assert len(keys) == len(set(keys))
    made = {(row.prototype, frozenset(row.symbols)) for row in rows}
    assert ("t-AlN", frozenset(["Al", "N"])) not in made  # the prototypes themselves are not new
    assert ("t-NaCl", frozenset(["Na", "Cl"])) not in made
    assert ("t-NaCl", frozenset(["Al", "N"])) in made  # rock-salt AlN is new here
    for row in rows:
        assert row.prototype in {"t-AlN", "t-NaCl"}
        assert row[KEY] == f"{row.prototype}:{row.substitution}"
        assert 0 < row.substitution_probability <= 1
    bn = [row for row in rows if set(row.symbols) == {"B", "N"} and row.prototype == "t-AlN"]
    assert bn, "wurtzite BN was not generated"
    assert bn[0].relaxed and bn[0].relax_potential == "distilled-B-N"
    assert np.isfinite(bn[0].energy_per_atom_eV)
    assert bn[0].relax_volume_ratio != pytest.approx(1.0, abs=1e-6)  # the cell moved
    uncovered = [row for row in rows if "Na" in row.symbols or "K" in row.symbols]
    assert uncovered and not any(row.relaxed for row in uncovered)
    assert summary.relaxed == sum(row.relaxed for row in rows)

    from ase_mlmat.workflows.screening import screen

    screen([str(db_path)], str(tmp_path / "screen.db"), progress=False)  # the provenance goes into the screening
    screened = {row.candidate_key: row for row in connect(tmp_path / "screen.db").select()}
    assert sorted(screened) == sorted(keys)
    for row in rows:
        assert screened[row[KEY]].prototype == row.prototype
        assert screened[row[KEY]].substitution_probability == row.substitution_probability
        assert screened[row[KEY]].relaxed == row.relaxed

    again = generate(str(prototype_file), str(db_path), **options)  # a rerun finds everything done
    assert again.written == 0 and again.candidates == summary.candidates
    assert connect(db_path).count() == len(rows)


def test_generate_command_refuses_a_threshold_that_is_not_a_probability(prototype_file, tmp_path):
    from ase_mlmat.cli import main

    with pytest.raises(SystemExit, match="threshold"):
        main(["generate", str(prototype_file), "--db", str(tmp_path / "c.db"), "--threshold", "2"])
