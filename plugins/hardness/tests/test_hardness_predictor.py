"""The hardness predictor end to end: EMT copper, the moduli-model hook, batches and the Ashby plot."""

from __future__ import annotations

import json

import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from mlmat_hardness import HardnessPredictor, HardnessResult, is_metallic

from ase_mlmat.properties import PredictionFailure, PropertyError, create
from ase_mlmat.workflows.screening import ashby_from_results

FAST = {"normal_strains": (-0.005, 0.005), "shear_strains": (-0.005, 0.005)}
# Hill moduli (GPa) of experimental C_ij: a stand-in for a machine-learned property model
TABLE = {"C2": (442.33, 535.46), "Si2": (97.83, 66.54), "MgO": (162.33, 130.50), "Cu": (137.07, 54.67)}


def table_model(atoms):
    return TABLE[atoms.get_chemical_formula()]


def test_emt_copper_is_computed_and_flagged_metallic():
    result = HardnessPredictor(elastic_options=FAST).predict(bulk("Cu"), EMT())
    print(
        f"EMT Cu: K {result.bulk_modulus_GPa:.1f} G {result.shear_modulus_GPa:.1f} GPa ν {result.poisson_ratio:.3f}"
        f" H_v {result.vickers_hardness_GPa:.2f} GPa K_IC {result.fracture_toughness_MPa_m05:.2f} MPa·m^½"
    )
    assert isinstance(result, HardnessResult) and result.moduli_source == "elastic"
    assert result.metallic is True and result.reliable is False
    assert "not meant for metals" in result.warnings
    assert result.vickers_hardness_GPa > 0 and result.fracture_toughness_MPa_m05 > 0
    assert result.bulk_modulus_GPa == pytest.approx(result.moduli_result.bulk_modulus_GPa)
    assert result.volume_per_atom_A3 == pytest.approx(result.moduli_result.volume_per_atom_A3)
    row = result.as_row()
    assert row["metallic"] is True and row["moduli_result_born_stable"] is True
    json.dumps(result.as_dict())


def test_metal_rule():
    assert is_metallic(["Cu"]) and is_metallic(["Ni", "Ni", "Ni", "Al"]) and is_metallic(["Ni", "Ti"])
    assert not any(is_metallic(s) for s in (["Si"], ["Mg", "O"], ["Ti", "C"], ["W", "C"], ["Ti", "B"], ["Ga", "As"]))
    with pytest.raises(ValueError, match="not a chemical element"):
        is_metallic(["Cu", "Qq"])


def test_without_calculator_a_model_is_needed():
    with pytest.raises(PropertyError, match=r"needs a calculator .* or a property model"):
        HardnessPredictor(fast_model=None).predict(bulk("Si"))


def test_moduli_model_hook_needs_no_calculator(tmp_path, monkeypatch):
    (tmp_path / "mlmat_table_model.py").write_text("def moduli(atoms):\n    return 442.33, 535.46\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    diamond = bulk("C", "diamond", a=3.567)
    for model in (table_model, "mlmat_table_model:moduli"):  # a callable, or its import path (CLI)
        result = HardnessPredictor(moduli_model=model).predict(diamond)
        assert result.moduli_source == "moduli_model" and result.moduli_result is None
        assert result.vickers_hardness_GPa == pytest.approx(101.7, abs=0.1)
        assert result.reliable and result.label == "C2"
    with pytest.raises(ValueError, match="cannot load moduli_model"):
        HardnessPredictor(moduli_model="no_such_module:f")
    with pytest.raises(PropertyError, match="moduli_model failed on Al: KeyError"):
        HardnessPredictor(moduli_model=table_model).predict(bulk("Al"))


def test_unstable_structure_gets_no_hardness():
    with pytest.raises(PropertyError, match=r"no hardness for Cu.*unstable"):
        HardnessPredictor(elastic_options=FAST).predict(bulk("Cu", "bcc", a=2.87), EMT())  # EMT bcc Cu: C11 < C12


def test_batch_and_ashby_from_results(tmp_path):
    structures = [
        bulk("C", "diamond", a=3.567),
        bulk("Si", "diamond", a=5.431),
        bulk("MgO", "rocksalt", a=4.212),
        bulk("Cu", a=3.615),
        bulk("Al"),
    ]
    results = HardnessPredictor(moduli_model=table_model).predict_many(structures, progress=False)
    assert [type(r).__name__ for r in results] == ["HardnessResult"] * 4 + ["PredictionFailure"]
    assert isinstance(results[-1], PredictionFailure) and "Al" in results[-1].message
    assert [r.superhard for r in results[:4]] == [True, False, False, False]
    assert [r.reliable for r in results[:4]] == [True, True, True, False]
    path = ashby_from_results(results, tmp_path / "ashby.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    labelled = ashby_from_results(results, tmp_path / "ashby.svg", labels=["diamond", "Si", "MgO", "Cu", "Al"])
    assert labelled.read_text().lstrip().startswith("<?xml") and labelled.stat().st_size > 10_000
    with pytest.raises(ValueError, match="labels"):
        ashby_from_results(results, tmp_path / "x.png", labels=["one"])
    with pytest.raises(ValueError, match="no hardness results"):
        ashby_from_results(results[-1:], tmp_path / "x.png")


def test_registered_and_options_checked():
    predictor = create("hardness", elastic_options={"relax_ions": False})
    assert isinstance(predictor, HardnessPredictor) and predictor.elastic.relax_ions is False
    with pytest.raises(ValueError, match="non-zero"):
        HardnessPredictor(elastic_options={"shear_strains": (0.0,)})
    with pytest.raises(TypeError):
        HardnessPredictor({"relax_ions": False})


def test_ashby_tick_labels_do_not_overlap(tmp_path, monkeypatch):
    # Regression: with K_IC spanning about 1.5 decades (0.2–7 MPa·m^½, e.g. Al to diamond) matplotlib's default
    # log formatter labelled every minor tick as "2×10⁻¹ 3×10⁻¹ …", and the labels ran into each other.
    from matplotlib.figure import Figure

    figures, savefig = [], Figure.savefig

    def keep(self, *args, **kwargs):
        figures.append(self)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    results = [
        HardnessPredictor.from_moduli(K, G, V, label=name, elements=elements)
        for name, K, G, V, elements in (
            ("diamond", 442.3, 535.5, 5.67, ["C"]),
            ("Si", 97.8, 66.5, 20.0, ["Si"]),
            ("Al", 39.7, 21.8, 15.9, ["Al"]),
        )
    ]
    ashby_from_results(results, tmp_path / "ashby.png")
    (fig,) = figures
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    for axis in (fig.axes[0].xaxis, fig.axes[0].yaxis):
        ticks = axis.get_majorticklabels() + axis.get_minorticklabels()
        labels = [t for t in ticks if t.get_visible() and t.get_text()]
        lo, hi = sorted(axis.get_view_interval())
        boxes = [
            t.get_window_extent(renderer)
            for t, value in ((t, t.get_position()[0 if axis is fig.axes[0].xaxis else 1]) for t in labels)
            if lo <= value <= hi
        ]
        assert len(boxes) >= 2, "a log axis needs at least two labelled ticks"
        for k, a in enumerate(boxes):
            for b in boxes[k + 1 :]:
                assert not a.overlaps(b), f"overlapping tick labels: {[t.get_text() for t in labels]}"


def test_chained_from_the_registered_elastic_predictor():
    from ase_mlmat.properties import ChainedPredictor

    chain = ChainedPredictor(create("elastic", **FAST), "hardness")
    chained = chain.predict(bulk("Cu"), EMT())
    direct = HardnessPredictor(elastic_options=FAST).predict(bulk("Cu"), EMT())
    assert chained.moduli_source == "elastic" and type(chained.moduli_result).__name__ == "ElasticResult"
    assert chained.vickers_hardness_GPa == pytest.approx(direct.vickers_hardness_GPa)
    with pytest.raises(ValueError, match="does not derive"):
        ChainedPredictor("hardness", "elastic")


def test_any_moduli_source_gives_the_same_hardness():
    from mlmat_elastic import ElasticResult

    from ase_mlmat.properties import GivenModuli

    diamond = bulk("C", "diamond", a=3.567)
    given = HardnessPredictor().predict_from_moduli(diamond, GivenModuli(442.33, 535.46))
    from_table = HardnessPredictor(moduli_model=table_model).predict(diamond)
    assert given.moduli_source == "given" and given.vickers_hardness_GPa == pytest.approx(
        from_table.vickers_hardness_GPa
    )
    unstable = ElasticResult.from_tensor([[1.0 if i == j else 2.0 for j in range(6)] for i in range(6)], diamond)
    with pytest.raises(PropertyError, match="carries no moduli"):
        HardnessPredictor().predict_from_moduli(diamond, unstable)
