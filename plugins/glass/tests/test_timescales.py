"""One model per timescale, chosen by the predictor's ``time``; the target option (mean |Δr| or mean |Δr|²)
from the data to the builder flag to the prediction's units."""

from __future__ import annotations

import numpy as np
import pytest
from mlmat_glass import GlassMobilityPredictor, load_sample, save_sample
from mlmat_glass.build import main as build_main
from mlmat_glass.metrics import pearson
from mlmat_glass.model_io import load_model
from mlmat_glass.timescales import PropensityTimescales, timescale_labels


@pytest.fixture(scope="module")
def built(synthetic_samples, tmp_path_factory):
    """Model files built by the builder on the synthetic two-timescale data, for each target."""
    folder = tmp_path_factory.mktemp("glass_build")
    for k, sample in enumerate(synthetic_samples, start=1):
        save_sample(sample, folder / f"c{k}.npz")
    common = ["--data", str(folder), "--pattern", "c{i}.npz", "--configs", "1-4", "--descriptors", "radial_energy"]
    common += ["--graph-positions", "thermal", "--ridges", "0.01,0.1"]
    out = {}
    for target in ("mean_abs_displacement", "mean_squared_displacement"):
        path = folder / f"{target}.pt"
        out[target] = (build_main([*common, "--target", target, "--out", str(path)]), path)
    return out


def test_builder_writes_one_validated_model_per_timescale(built):
    card, path = built["mean_abs_displacement"]
    model, _ = load_model(path)
    assert isinstance(model, PropensityTimescales) and model.labels == ["10", "100"]
    assert set(card["leave_one_configuration_out"]) == {"10", "100"}
    for report in card["leave_one_configuration_out"].values():
        assert report["validated_fitted"]["mean"] > 0.5
    assert card["target"] == "mean_abs_displacement" and "in σ (" in card["target_definition"]


def test_predictor_selects_the_timescale_and_refuses_one_it_lacks(built, synthetic_samples):
    _, path = built["mean_abs_displacement"]
    sample = synthetic_samples[0]
    atoms = sample.to_atoms()
    early = GlassMobilityPredictor(path, time="10", device="cpu").predict(atoms)
    late = GlassMobilityPredictor(path, time=100.0, device="cpu").predict(atoms)
    assert (early.time_label, late.time_label, late.time_tau) == ("10", "100", 100.0)
    is_a = sample.types == 0
    # each timescale's model predicts its own pattern (the synthetic targets differ between the two times)
    for result, k in ((early, 0), (late, 1)):
        own = pearson(result.propensity_sigma[is_a], sample.propensity[k][is_a])
        other = pearson(result.propensity_sigma[is_a], sample.propensity[1 - k][is_a])
        assert own > other + 0.2
    assert abs(late.mean_propensity_A_sigma - 0.7) < 0.05 and abs(early.mean_propensity_A_sigma - 0.3) < 0.05
    with pytest.raises(ValueError, match=r"no timescale t = 2800 τ.*'10' \(t = 10 τ\), '100'"):
        GlassMobilityPredictor(path, time=2800)
    with pytest.raises(ValueError, match="several timescales; choose one"):
        GlassMobilityPredictor(path)
    with pytest.raises(ValueError, match="no timescale 'tc99'"):
        GlassMobilityPredictor(path, time="tc99")


def test_squared_displacement_target(built, synthetic_samples, shared_file):
    card, path = built["mean_squared_displacement"]
    assert card["target"] == "mean_squared_displacement" and "σ²" in card["target_definition"]
    model, _ = load_model(path)
    assert model.config["target"] == "mean_squared_displacement"
    result = GlassMobilityPredictor(path, time="100", device="cpu").predict(synthetic_samples[1].to_atoms())
    assert result.target == "mean_squared_displacement"
    level = np.mean([(s.squared_displacement[1][s.types == 0]).mean() for s in synthetic_samples])
    assert result.mean_propensity_A_sigma == pytest.approx(level, rel=0.05)  # σ², the training level
    # the BOTAN converter keeps mean |Δr|² beside mean |Δr| (from the same run positions)
    botan = np.load(shared_file(9))
    sample = load_sample(shared_file(9))
    displacement = botan["positions"] - botan["initial_positions"][None]
    np.testing.assert_allclose(sample.squared_displacement[0], (displacement**2).sum(-1).mean(0), rtol=1e-5)
    np.testing.assert_allclose(sample.propensity[0], np.linalg.norm(displacement, axis=-1).mean(0), rtol=1e-5)


def test_timescale_labels():
    assert timescale_labels([np.nan], "BOTAN isoconfig_N4096T0.44_3_tc07.npz") == ["tc07"]
    assert timescale_labels([2800.0, np.nan], "Bapst x.pickle") == ["2800", "index 1"]


def test_cli_predict_takes_the_timescale(built, capsys):
    from ase_mlmat.cli import main

    _, path = built["mean_abs_displacement"]
    data = path.parent / "c1.npz"
    assert main(["glass", "predict", str(data), "--model", str(path), "--time", "100", "--device", "cpu"]) == 0
    assert "mean predicted propensity (A)" in capsys.readouterr().out
    assert main(["glass", "predict", str(data), "--model", str(path), "--time", "5", "--device", "cpu"]) != 0
