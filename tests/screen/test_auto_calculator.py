"""``--calc auto``: the shipped potential that covers a structure's elements, and promotion with it."""

from __future__ import annotations

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_mlmat.calculator import MLCalculator
from ase_mlmat.model_store import save_model
from ase_mlmat.models.potential import Potential
from ase_mlmat.workflows.screening import KEY, connect, promote
from ase_mlmat.workflows.screening.auto_calculator import AutoCalculator, DistilOnDemand, shipped_potentials
from ase_mlmat.workflows.screening.store import write_records


def test_the_covering_potential_with_fewest_extra_elements_dft_and_accurate_first():
    chooser = AutoCalculator(
        {
            "distilled-Si-C": ("Si", "C"),
            "mlearn-Si": ("Si",),
            "mlearn-Si-accurate": ("Si",),
            "distilled-B-N": ("B", "N"),
            "distilled-Si": ("Si",),
        }
    )
    assert chooser.choose(["Si", "Si"]) == "mlearn-Si-accurate"
    assert chooser.choose(["Si", "C"]) == "distilled-Si-C"
    assert chooser.choose(["C"]) == "distilled-Si-C"
    assert chooser.choose(["N", "B", "B"]) == "distilled-B-N"
    assert chooser.choose(["Ti", "N"]) is None
    assert chooser.for_atoms(bulk("Cu")) is None


def test_shipped_potentials_are_potentials_with_their_elements():
    found = shipped_potentials()
    assert found["mlearn-Cu"] == ("Cu",) and found["mlearn-Si"] == ("Si",)
    assert "mp-binary-kg" not in found  # a property model
    chooser = AutoCalculator()
    name, calculator = chooser.for_atoms(bulk("Ge", "diamond", a=5.66))
    assert name == "mlearn-Ge" and isinstance(calculator, MLCalculator)
    assert chooser.for_atoms(bulk("Ge", "diamond", a=5.7))[1] is calculator  # one calculator per potential


class _EMTFor:
    """A chooser over EMT's metals: Cu and Ni covered, Au not."""

    def __init__(self):
        self.calc = EMT()

    def for_atoms(self, atoms):
        return ("emt-cu-ni", self.calc) if set(atoms.get_chemical_symbols()) <= {"Cu", "Ni"} else None


def test_promotion_passes_over_uncovered_rows_and_records_the_calculator(tmp_path):
    db = connect(str(tmp_path / "auto.db"))
    candidates = [("Au", bulk("Au", a=4.08), 9.0), ("Cu", bulk("Cu", a=3.6), 3.0), ("Ni", bulk("Ni", a=3.52), 2.0)]
    write_records(
        db, [(name, atoms, {"ok": True, "tier": "ml", "vickers_hardness_GPa": h}) for name, atoms, h in candidates]
    )
    fast = {"normal_strains": (-0.005, 0.005), "shear_strains": (-0.005, 0.005)}
    qha = {
        "supercell": (2, 2, 2),
        "mesh": (7, 7, 7),
        "volume_strains": np.linspace(-0.03, 0.05, 5),
        "temperatures_K": np.arange(0.0, 401.0, 50.0),
    }
    summary = promote(db, _EMTFor(), top_elastic=2, top_qha=1, elastic_options=fast, qha_options=qha, progress=False)
    assert summary.elastic_done == 2 and summary.qha_done == 1
    assert summary.passed_over == 1 and summary.uncovered == ("Au",)
    rows = {row[KEY]: row for row in db.select()}
    assert rows["Au"].get("elastic_ok") is None and rows["Au"].tier == "ml"
    assert rows["Cu"].elastic_calculator == "emt-cu-ni" and rows["Cu"].qha_calculator == "emt-cu-ni"
    assert rows["Ni"].elastic_calculator == "emt-cu-ni" and rows["Ni"].get("qha_calculator") is None
    named = promote(connect(str(tmp_path / "named.db")), EMT(), top_elastic=0, calculator_name="emt", progress=False)
    assert named.elastic_done == 0 and named.passed_over == 0


class _FakeDistil(DistilOnDemand):
    """Writes an untrained potential where a real run would distil one: the plumbing, not the training."""

    calls = 0

    def __call__(self, atoms):
        self.calls += 1
        name = self.name_for(atoms.get_chemical_symbols())
        elements = tuple(sorted(set(atoms.get_chemical_symbols())))
        path = self.root / name / "potential.pt"
        path.parent.mkdir(parents=True)
        save_model(Potential("painn", {"cutoff": 3.0, "num_features": 8, "num_interactions": 1}, elements), path)
        return name, path, elements


def test_distil_on_demand_covers_a_new_chemistry_once_and_a_rerun_finds_it(tmp_path):
    distil = _FakeDistil(tmp_path / "runs")
    chooser = AutoCalculator({"mlearn-Cu": ("Cu",)}, distil=distil)
    gold = bulk("Au", a=4.08)
    name, calculator = chooser.for_atoms(gold)
    assert name == "distilled-Au" and distil.calls == 1
    assert np.isfinite(calculator.get_potential_energy(gold.copy()))
    assert chooser.for_atoms(bulk("Au", a=4.1))[0] == "distilled-Au" and distil.calls == 1
    assert chooser.choose(["Cu"]) == "mlearn-Cu"
    again = AutoCalculator({}, distil=_FakeDistil(tmp_path / "runs"))
    assert again.choose(["Au"]) == "distilled-Au"  # the finished run is found, not distilled again
    assert DistilOnDemand.name_for(["N", "B", "N"]) == "distilled-B-N"
