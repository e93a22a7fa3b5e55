"""The ``thermal_expansion`` predictor through the registry, and the screening hierarchy with failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from mlmat_thermal import ThermalExpansionPredictor, ThermalExpansionResult, thermal_hierarchy

from ase_mlmat.properties import PredictionFailure, PropertyError, available, create

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


def test_hierarchy_records_failures_and_continues():
    structures = [
        bulk("Cu", "fcc", a=3.6),
        bulk("Al", "fcc", a=4.05),
        bulk("Ni", "fcc", a=3.52),
        bulk("Cu", "fcc", a=3.6),
    ]
    structures[3].info["label"] = "Cu-bad-moduli"
    moduli = [CU_MODULI, AL_MODULI, NI_MODULI, (137.1, -5.0)]
    # rank by α at 300 K, largest first: Al (2.1e-5) > Cu (1.7e-5) > Ni
    records = thermal_hierarchy(
        structures,
        FailsForAluminium(),
        moduli=moduli,
        top_n_debye=2,
        top_m_qha=2,
        temperatures_K=FAST_T,
        qha_options=FAST_QHA,
    )
    by_label = {r.label: r for r in records}
    assert [r.index for r in records] == [0, 1, 2, 3]
    al, cu, ni, bad = by_label["Al"], by_label["Cu"], by_label["Ni"], by_label["Cu-bad-moduli"]
    assert (al.rank, cu.rank, ni.rank, bad.rank) == (0, 1, 2, None)
    assert bad.tier_reached == "none" and bad.failed_tier == "bound" and bad.error_type == "PropertyError"
    assert al.tier_reached == "debye" and al.failed_tier == "qha" and "calculator failure" in al.error
    assert al.debye is not None and al.qha is None
    assert cu.tier_reached == "qha" and cu.failed_tier is None and cu.qha is not None
    assert ni.tier_reached == "bound" and ni.debye is None
    assert cu.alpha_300K_per_K == cu.qha.alpha_300K_per_K
    for record in records:
        json.dumps(record.as_dict())
        record.as_row()


def test_hierarchy_with_a_provider_that_raises():
    def provider(atoms, calculator):
        if "Ni" in atoms.get_chemical_symbols():
            raise RuntimeError("no elastic data for Ni")
        return CU_MODULI

    records = thermal_hierarchy(
        [bulk("Cu", "fcc", a=3.615), bulk("Ni", "fcc", a=3.52)], moduli=provider, top_n_debye=5, top_m_qha=0
    )
    assert records[0].tier_reached == "debye" and records[0].moduli_source == "provider"
    assert records[1].tier_reached == "none" and records[1].error_type == "RuntimeError"
    with pytest.raises(ValueError, match="rank_by"):
        thermal_hierarchy([bulk("Cu")], moduli=[CU_MODULI], rank_by="colour")
