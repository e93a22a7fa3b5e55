"""MLCalculator: committees, save/load, dtypes, registries (models, ASE plugins)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from ase_mlmat import MLCalculator, load_potential, save_potential
from ase_mlmat.models import available, get_architecture

from .conftest import random_potential


def test_save_load_round_trip_is_exact(tmp_path, potential, si_bulk):
    path = save_potential(potential, tmp_path / "model.pt", {"note": "test"})
    loaded = load_potential(path)
    assert loaded.metadata == {"note": "test"}
    a, b = si_bulk.copy(), si_bulk.copy()
    # on the CPU: CUDA sums in a varying order, so two identical models can differ in the last bit there
    a.calc = MLCalculator(potential, dtype="float64", device="cpu")
    b.calc = MLCalculator(path, dtype="float64", device="cpu")
    assert a.get_potential_energy() == b.get_potential_energy()
    np.testing.assert_array_equal(a.get_forces(), b.get_forces())
    np.testing.assert_array_equal(a.get_stress(), b.get_stress())


def test_committee_mean_and_spread(si_bulk):
    members = [random_potential(seed=s) for s in range(3)]
    si_bulk.calc = MLCalculator(members, dtype="float64")
    energy = si_bulk.get_potential_energy()
    singles = []
    for m in members:
        atoms = si_bulk.copy()
        atoms.calc = MLCalculator(m, dtype="float64")
        singles.append(atoms.get_potential_energy())
    assert energy == pytest.approx(np.mean(singles), abs=1e-9)
    calc = si_bulk.calc
    assert calc.results["energy_std"] == pytest.approx(np.std(singles), abs=1e-9)
    assert calc.results["energy_std"] > 0
    assert calc.results["forces_std"].shape == (len(si_bulk), 3) and calc.results["forces_std"].max() > 0
    assert calc.results["stress_std"].shape == (6,) and calc.results["stress_std"].max() > 0


SPREADS = ("energy_std", "energies_std", "forces_std", "stress_std")


def test_single_model_has_no_spread(calc, si_bulk):
    from ase.calculators.calculator import PropertyNotImplementedError

    assert not set(SPREADS) & set(calc.implemented_properties)
    assert not set(SPREADS) & set(MLCalculator.implemented_properties)
    si_bulk.calc = calc
    for name in SPREADS:
        with pytest.raises(PropertyNotImplementedError):
            calc.get_property(name, si_bulk)


def test_committee_lists_and_gives_its_spreads(si_bulk):
    from ase.calculators.emt import EMT

    class_level = MLCalculator.implemented_properties
    committee = MLCalculator([random_potential(seed=s) for s in range(2)], dtype="float64", device="cpu")
    assert set(SPREADS) <= set(committee.implemented_properties)
    for name in SPREADS:
        value = np.asarray(committee.get_property(name, si_bulk))
        assert np.all(np.isfinite(value)) and value.max() > 0
    assert committee.get_property("forces_std", si_bulk).shape == (len(si_bulk), 3)
    # the class-level tuple, a later single-model instance and other ASE calculators are untouched
    assert MLCalculator.implemented_properties is class_level and not set(SPREADS) & set(class_level)
    single = MLCalculator(random_potential(), dtype="float64", device="cpu")
    assert not set(SPREADS) & set(single.implemented_properties)
    assert not set(SPREADS) & set(EMT.implemented_properties)


def test_committee_stress_spread_needs_a_cell(si_bulk):
    from ase import Atoms
    from ase.calculators.calculator import PropertyNotImplementedError

    committee = MLCalculator([random_potential(seed=s) for s in range(2)], dtype="float64", device="cpu")
    molecule = Atoms("SiSi", positions=[[0, 0, 0], [0, 0, 2.3]])
    assert committee.get_property("energy_std", molecule) >= 0
    with pytest.raises(PropertyNotImplementedError, match="non-zero volume"):
        committee.get_property("stress_std", molecule)


def test_float32_close_to_float64(potential, si_bulk):
    a, b = si_bulk.copy(), si_bulk.copy()
    a.calc = MLCalculator(potential, dtype="float32")
    b.calc = MLCalculator(potential, dtype="float64")
    assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), rel=1e-5)
    np.testing.assert_allclose(a.get_forces(), b.get_forces(), atol=1e-4 * np.abs(b.get_forces()).max())


@pytest.mark.parametrize("backend", ["torch", "torch_cells"])
def test_torch_and_vesin_neighbour_lists_agree(potential, si_bulk, backend):
    a, b = si_bulk.copy(), si_bulk.copy()
    a.calc = MLCalculator(potential, dtype="float64", neighbor_list="vesin")
    b.calc = MLCalculator(potential, dtype="float64", neighbor_list=backend)
    assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), abs=1e-10)
    np.testing.assert_allclose(a.get_forces(), b.get_forces(), atol=1e-10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(potential, si_bulk):
    a, b = si_bulk.copy(), si_bulk.copy()
    a.calc = MLCalculator(potential, dtype="float64", device="cpu")
    b.calc = MLCalculator(potential, dtype="float64", device="cuda")
    assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), abs=1e-8)
    np.testing.assert_allclose(a.get_forces(), b.get_forces(), atol=1e-8)


def test_architecture_registry():
    assert "painn" in available()
    assert get_architecture("painn").__name__ == "PaiNN"
    with pytest.raises(KeyError, match="unknown model architecture"):
        get_architecture("no-such-model")


def test_listed_by_ase_plugins():
    out = subprocess.run([sys.executable, "-m", "ase", "info", "--plugins"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "mlmat" in out.stdout
    from ase._4.plugins import plugins

    (plugin,) = [p for p in plugins if p.name == "mlmat"]
    assert plugin.implementation is MLCalculator
