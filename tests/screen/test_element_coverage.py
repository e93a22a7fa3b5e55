"""Element coverage of the CGCNN property model: any tabulated element predicts, trained ones unchanged."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.data import chemical_symbols, covalent_radii
from ase.formula import Formula

from ase_mlmat import pretrained
from ase_mlmat.graph import StructureError, collate
from ase_mlmat.graph.nearest import crystal_graph
from ase_mlmat.model_store import load_model, save_model
from ase_mlmat.models import Ensemble
from ase_mlmat.models.element_table import element_properties
from ase_mlmat.models.property_model import PropertyModel
from ase_mlmat.properties.ml_moduli import load_moduli_model, predict_moduli

from .conftest import MODULI_DATA, SMALL_MODEL

TARGETS = ["log10_K_VRH_GPa", "log10_G_VRH_GPa"]
shipped = pytest.mark.skipif("mp-binary-kg" not in pretrained.available(), reason="mp-binary-kg not shipped")


def _data_set_elements() -> set[str]:
    with gzip.open(MODULI_DATA, "rt") as handle:
        return {symbol for record in json.load(handle) for symbol in Formula(record["formula"]).count()}


def _fcc(symbol: str) -> Atoms:
    return bulk(symbol, "fcc", a=2.0 * np.sqrt(2) * covalent_radii[chemical_symbols.index(symbol)], cubic=False)


def test_every_element_up_to_bi_and_of_the_data_set_is_accepted(tmp_path):
    wanted = set(chemical_symbols[1:84]) | _data_set_elements()
    torch.manual_seed(0)
    model = Ensemble([PropertyModel("cgcnn", SMALL_MODEL, ["C", "Si"], TARGETS, [2.0, 1.5], [0.4, 0.45])]).eval()
    assert model.elements[:2] == ["C", "Si"] and wanted <= set(model.elements)
    net = model.first.net
    assert net.atom_table.shape == (len(model.elements), net.embedding.in_features)
    structures = [_fcc(symbol) for symbol in sorted(wanted)]
    graphs = [crystal_graph(a, model.cutoff, model.elements, max_neighbors=8) for a in structures]
    with torch.no_grad():
        out = model(collate(graphs))[0].numpy()
    assert np.all(np.isfinite(out)) and len(np.unique(out.round(6))) > 50  # each element its own input
    loaded = Ensemble([load_model(save_model(model, tmp_path / "two.pt"))])
    assert loaded.elements == model.elements
    assert [r.as_row() for r in predict_moduli(loaded, structures[:5])] == [
        r.as_row() for r in predict_moduli(model, structures[:5])
    ]


def test_an_element_beyond_the_table_is_refused_by_name():
    torch.manual_seed(0)
    model = Ensemble([PropertyModel("cgcnn", SMALL_MODEL, ["C"], TARGETS, [2.0, 1.5], [0.4, 0.45])]).eval()
    assert "Og" not in element_properties()
    result = predict_moduli(model, [Atoms("Og", cell=[3, 3, 3], pbc=True), _fcc("C")])
    assert isinstance(result[0], StructureError) and "'Og'" in str(result[0])
    assert result[1].bulk_modulus_GPa > 0


@shipped
def test_shipped_model_is_unchanged_for_its_training_elements():
    model = load_model("mp-binary-kg")  # a copy of its own: it is altered below
    payload = torch.load(pretrained.path_of("mp-binary-kg"), weights_only=False)
    trained = payload["elements"]
    assert model.elements[: len(trained)] == trained and "Yb" in model.elements and "Yb" not in trained
    structures = [bulk("SiC", "zincblende", a=4.38), bulk("NaCl", "rocksalt", a=5.69), bulk("TmN", "rocksalt", a=4.8)]
    extended = predict_moduli(model, structures)
    for member, state in zip(model.members, payload["members"], strict=True):
        assert torch.equal(member.net.atom_table[: len(trained)], state["net.atom_table"])  # rows as stored
        member.net.atom_table = state["net.atom_table"].clone()  # the model as trained: its elements only
        member.elements = list(trained)
    as_trained = predict_moduli(model, structures)
    assert [r.as_row() for r in extended] == [r.as_row() for r in as_trained]  # bit-identical


@shipped
def test_shipped_model_predicts_yb_between_its_neighbours():
    """Yb is not in the training data; its prediction should sit near the lanthanides around it."""
    model = load_moduli_model("mp-binary-kg")
    margin = 0.15  # log10: a factor 1.4 beyond the neighbours' range
    for anion, a in (("N", 4.8), ("As", 5.7), ("Te", 6.0)):
        rows = {el: predict_moduli(model, [bulk(el + anion, "rocksalt", a=a)])[0] for el in ("Er", "Tm", "Yb", "Lu")}
        for key in ("log10_bulk_modulus", "log10_shear_modulus"):
            neighbours = [getattr(rows[el], key) for el in ("Er", "Tm", "Lu")]
            value = getattr(rows["Yb"], key)
            print(f"Yb{anion} {key} {value:.3f}, Er/Tm/Lu {np.round(neighbours, 3)}")
            assert min(neighbours) - margin < value < max(neighbours) + margin
