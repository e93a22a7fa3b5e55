"""Reading the MP moduli set and pymatgen JSON lists."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from ase.build import bulk

from ase_mlmat.data import DatasetError
from ase_mlmat.data.elastic import load_moduli_dataset
from ase_mlmat.data.pymatgen_json import read_pymatgen_json, structure_from_dict

from .conftest import MODULI_DATA


def _raw_records() -> list[dict]:
    with gzip.open(MODULI_DATA, "rt") as handle:
        return json.load(handle)


def _record(atoms, K, G, mp_id):
    from pymatgen.io.ase import AseAtomsAdaptor

    return {
        "mp_id": mp_id,
        "formula": atoms.get_chemical_formula(),
        "bulk_modulus_vrh": K,
        "shear_modulus_vrh": G,
        "structure": AseAtomsAdaptor.get_structure(atoms).as_dict(),
    }


def test_full_set_reads_with_log_targets(moduli_slice):
    data = moduli_slice
    assert len(data) == 400 and data.targets.shape == (400, 2)
    assert data.target_names == ("log10_K_VRH_GPa", "log10_G_VRH_GPa")
    raw = _raw_records()[:400]
    assert np.allclose(10 ** data.targets[:, 0], [r["bulk_modulus_vrh"] for r in raw])
    assert data.ids == [r["mp_id"] for r in raw]
    assert [a.get_chemical_formula(empirical=True) for a in data.structures[:20]] == [
        a.get_chemical_formula(empirical=True) for a in read_pymatgen_json(MODULI_DATA)[:20]
    ]


def test_structure_matches_pymatgen(moduli_slice):
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    raw = _raw_records()[7]["structure"]
    ours = structure_from_dict(raw)
    theirs = AseAtomsAdaptor.get_atoms(Structure.from_dict(raw))
    assert ours.get_chemical_symbols() == theirs.get_chemical_symbols()
    assert np.allclose(ours.positions, theirs.positions) and np.allclose(ours.cell.array, theirs.cell.array)


def test_non_positive_moduli_are_dropped_and_counted(tmp_path):
    records = [
        _record(bulk("Si"), 97.8, 66.5, "a"),
        _record(bulk("Cu"), 140.0, 0.0, "b"),
        _record(bulk("Al"), -5.0, 26.0, "c"),
        _record(bulk("MgO", "rocksalt", a=4.21), 162.0, 130.0, "d"),
    ]
    path = tmp_path / "set.json.gz"
    with gzip.open(path, "wt") as handle:
        json.dump(records, handle)
    data = load_moduli_dataset(path)
    assert data.ids == ["a", "d"] and data.dropped == 2 and data.dropped_ids == ["b", "c"]
    assert data.targets[0] == pytest.approx([np.log10(97.8), np.log10(66.5)])


def test_bad_files_say_why(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_pymatgen_json(tmp_path / "missing.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(DatasetError, match="cannot read JSON"):
        read_pymatgen_json(tmp_path / "junk.json")
    record = _record(bulk("Si"), 97.8, 66.5, "a")
    record["structure"]["sites"][0]["species"] = [{"element": "Si", "occu": 0.5}, {"element": "Ge", "occu": 0.5}]
    (tmp_path / "disordered.json").write_text(json.dumps([record]))
    with pytest.raises(DatasetError, match="disordered"):
        read_pymatgen_json(tmp_path / "disordered.json")
    (tmp_path / "nomoduli.json").write_text(json.dumps([{"structure": record["structure"] | {"sites": []}}]))
    with pytest.raises(DatasetError, match="bulk_modulus_vrh"):
        load_moduli_dataset(tmp_path / "nomoduli.json")
