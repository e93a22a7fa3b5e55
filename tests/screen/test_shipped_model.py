"""The shipped mp-binary-kg model: loadable by name, sensible moduli, the hardness plugin's fast default."""

from __future__ import annotations

import pytest
from ase.build import bulk

from ase_mlmat import pretrained
from ase_mlmat.properties.ml_moduli import MLModuli, load_moduli_model

pytestmark = pytest.mark.skipif("mp-binary-kg" not in pretrained.available(), reason="mp-binary-kg not shipped")


def test_loads_by_name_with_an_ensemble_spread():
    model = load_moduli_model("mp-binary-kg")
    assert len(model) >= 2 and model.targets[:2] == ["log10_K_VRH_GPa", "log10_G_VRH_GPa"]
    assert model.metadata["config"]["data"].endswith("mp-binary-pbe-elasticity-2025.1.json.gz")
    prediction = MLModuli("mp-binary-kg").predict(bulk("SiC", "zincblende", a=4.38))
    print(
        f"SiC (zincblende): K {prediction.bulk_modulus_GPa:.0f} ± {prediction.bulk_modulus_std_GPa:.0f} GPa, "
        f"G {prediction.shear_modulus_GPa:.0f} ± {prediction.shear_modulus_std_GPa:.0f} GPa (PBE ≈ 212, 187)"
    )
    assert 150 < prediction.bulk_modulus_GPa < 300 and 110 < prediction.shear_modulus_GPa < 280
    assert prediction.bulk_modulus_std_GPa > 0


def test_soft_and_hard_binaries_are_ordered():
    moduli = MLModuli("mp-binary-kg")
    _, g_bn = moduli(bulk("BN", "zincblende", a=3.62))
    _, g_nacl = moduli(bulk("NaCl", "rocksalt", a=5.69))
    assert g_bn > 10 * g_nacl


def test_hardness_plugin_uses_it_without_a_calculator():
    from mlmat_hardness import HardnessPredictor

    result = HardnessPredictor().predict(bulk("BN", "zincblende", a=3.62))
    print(f"c-BN fast ML tier: H_v {result.vickers_hardness_GPa:.0f} GPa, K_IC {result.fracture_toughness_MPa_m05:.1f}")
    assert result.moduli_source == "fast_ml" and result.moduli_result is not None
    assert result.vickers_hardness_GPa > 25  # c-BN: about 45-50 GPa measured
    failures = HardnessPredictor().predict_many([bulk("Og", "fcc", a=5.0)], progress=False)
    assert "fast ML moduli failed" in failures[0].message and "not in the model" in failures[0].message
