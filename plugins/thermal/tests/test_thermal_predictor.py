"""The ``thermal_expansion`` predictor: registry, tiers (and the automatic choice), moduli sources, failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from mlmat_thermal import ThermalExpansionPredictor, ThermalExpansionResult

from ase_mlmat.properties import GivenModuli, PredictionFailure, PropertyError, available, create

CU_MODULI = (137.1, 47.3)  # GPa, VRH of experimental C_ij
AL_MODULI = (76.4, 26.1)
NI_MODULI = (186.0, 76.0)
FAST_QHA = {"supercell": (3, 3, 3), "mesh": (11, 11, 11), "volume_strains": np.linspace(-0.03, 0.06, 7)}
FAST_T = np.arange(0.0, 401.0, 20.0)


class FailsForAluminium(EMT):
    """EMT that raises for any structure containing Al (a calculator failing mid-screening)."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=()):
        if "Al" in atoms.get_chemical_symbols():
            raise RuntimeError("calculator failure for Al")
        super().calculate(atoms, properties, system_changes)


def test_registered_and_created_by_name():
    assert "thermal_expansion" in available()
    predictor = create("thermal_expansion", tier="bound", moduli=list(CU_MODULI))  # YAML gives lists
    assert isinstance(predictor, ThermalExpansionPredictor)
    result = predictor.predict(bulk("Cu", "fcc", a=3.615))
    assert isinstance(result, ThermalExpansionResult) and result.tier == "bound"
    assert result.alpha_linear_per_K is None and result.debye is None and result.qha is None
    assert result.alpha_300K_per_K == pytest.approx(1.68e-5, rel=0.02)
    row = result.as_row()
    assert row["estimate_bound_bound_prefactor"] == 2.0 and row["moduli_source"] == "given"
    assert row["estimate_bound_ratio_to_bound"] == pytest.approx(0.75)
    json.dumps(result.as_dict())


def test_debye_tier_reads_atoms_info_and_reports_failures_per_structure():
    good = bulk("Cu", "fcc", a=3.615)
    good.info.update(bulk_modulus_GPa=CU_MODULI[0], shear_modulus_GPa=CU_MODULI[1])
    bad = bulk("Al", "fcc", a=4.05)
    bad.info.update(bulk_modulus_GPa=76.4, shear_modulus_GPa=-26.1)
    results = ThermalExpansionPredictor("debye").predict_many([good, bad], progress=False)
    assert isinstance(results[0], ThermalExpansionResult) and results[0].moduli_source == "atoms.info"
    assert results[0].temperatures_K.shape == results[0].alpha_linear_per_K.shape == (101,)
    assert isinstance(results[1], PredictionFailure) and results[1].error_type == "PropertyError"
    assert "positive" in results[1].message


def test_predictor_refuses_bad_options_and_missing_inputs():
    with pytest.raises(ValueError, match="tier"):
        ThermalExpansionPredictor("exact")
    with pytest.raises(PropertyError, match="calculator"):
        ThermalExpansionPredictor("qha").predict(bulk("Cu"))
    with pytest.raises(PropertyError, match=r"Poisson|positive|finite"):
        ThermalExpansionPredictor("bound", moduli=(np.nan, 40.0)).predict(bulk("Cu"))


def test_qha_tier_with_moduli_has_all_tiers():
    predictor = ThermalExpansionPredictor("qha", moduli=CU_MODULI, temperatures_K=FAST_T, qha_options=FAST_QHA)
    result = predictor.predict(bulk("Cu", "fcc", a=3.6), EMT())
    assert result.qha is not None and result.debye is not None and result.estimate is not None
    assert result.alpha_300K_per_K == result.qha.alpha_300K_per_K
    np.testing.assert_array_equal(result.temperatures_K, FAST_T)
    print(f"Cu α(300 K): Debye–Grüneisen {result.debye.alpha_300K_per_K:.3e}, EMT QHA {result.alpha_300K_per_K:.3e} /K")
    json.dumps(result.as_dict())


def test_auto_tier_takes_qha_when_a_calculator_is_given():
    """Without the choice the Debye tier was taken even with a calculator (Si: 9.0e-6 /K, QHA 2.5e-6)."""
    options = {"temperatures_K": FAST_T, "qha_options": FAST_QHA}
    with_calculator = ThermalExpansionPredictor(**options).predict(bulk("Cu", "fcc", a=3.6), EMT())
    assert with_calculator.tier == "qha" and with_calculator.qha is not None
    assert "calculator" in with_calculator.tier_reason and with_calculator.tier_reason.startswith("auto")
    assert with_calculator.alpha_300K_per_K == with_calculator.qha.alpha_300K_per_K
    assert "qha" in with_calculator.details() and "1/K" in with_calculator.details()
    without = ThermalExpansionPredictor(moduli=CU_MODULI, **options).predict(bulk("Cu", "fcc", a=3.615))
    assert without.tier == "debye" and without.qha is None and "no calculator" in without.tier_reason
    requested = ThermalExpansionPredictor("debye", moduli=CU_MODULI, **options).predict(bulk("Cu", "fcc", a=3.615))
    assert requested.tier == "debye" and requested.tier_reason == "requested"
    assert requested.alpha_300K_per_K == without.alpha_300K_per_K
    print(
        f"EMT Cu: auto with a calculator {with_calculator.alpha_300K_per_K:.3e} /K (QHA), "
        f"without {without.alpha_300K_per_K:.3e} /K"
    )


def test_failures_are_prediction_failures_per_structure():
    structures = [bulk("Cu", "fcc", a=3.6), bulk("Al", "fcc", a=4.05)]
    predictor = ThermalExpansionPredictor("qha", temperatures_K=FAST_T, qha_options=FAST_QHA)
    results = predictor.predict_many(structures, FailsForAluminium(), progress=False)
    assert isinstance(results[0], ThermalExpansionResult) and results[0].tier == "qha"
    assert isinstance(results[1], PredictionFailure) and results[1].label == "Al" and results[1].index == 1
    assert "calculator failure" in results[1].message and results[1].as_row()["ok"] is False


def test_from_any_moduli_source():
    atoms = bulk("Cu", "fcc", a=3.615)
    predictor = ThermalExpansionPredictor(temperatures_K=FAST_T)
    given = predictor.predict_from_moduli(atoms, GivenModuli(*CU_MODULI))
    assert given.tier == "bound" and given.moduli_source == "given" and given.qha is None
    assert given.tier_reason.startswith("auto")
    reference = ThermalExpansionPredictor("debye", moduli=CU_MODULI, temperatures_K=FAST_T).predict(atoms)
    assert given.alpha_300K_per_K == pytest.approx(reference.alpha_300K_per_K)
    row = given.summary_row()
    assert row["alpha_bound_per_K"] > row["alpha_300K_per_K"] > 0 and row["thermal_tier"] == "bound"
    debye = ThermalExpansionPredictor("debye", temperatures_K=FAST_T).predict_from_moduli(
        atoms, GivenModuli(*CU_MODULI)
    )
    assert debye.tier == "debye" and debye.debye is not None and debye.tier_reason == "requested"
    assert debye.alpha_300K_per_K == pytest.approx(given.alpha_300K_per_K)
    with pytest.raises(PropertyError, match="positive"):
        predictor.predict_from_moduli(atoms, GivenModuli(137.1, -5.0))
