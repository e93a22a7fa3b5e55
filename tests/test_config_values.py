"""Config values are typed at the boundary: numeric strings become numbers, anything else a one-line error."""

from __future__ import annotations

import pytest

from ase_mlmat.train import TrainConfig
from ase_mlmat.yaml_config import ConfigError, parse_key_value_options


def _write(tmp_path, text: str):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_yaml_exponent_without_dot_is_a_number(tmp_path):
    # PyYAML (YAML 1.1) reads 1e-3 as the string "1e-3"; the config must still get a float
    config = TrainConfig.from_yaml(_write(tmp_path, "data: x.extxyz\nlearning_rate: 1e-3\nmax_minutes: 2\n"))
    assert config.learning_rate == pytest.approx(1e-3) and isinstance(config.learning_rate, float)
    assert config.max_minutes == 2.0 and config.data == ["x.extxyz"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("epochs: 1.5", "'epochs' = 1.5: expected a whole number"),
        ("learning_rate: fast", "'learning_rate' = 'fast': expected a number"),
        ("plots: maybe", "'plots' = 'maybe': expected true or false"),
        ("model: {cutoff: 0}", "'cutoff' must be a positive radius in Å, got 0"),
        ("model: {cutoff: 5, num_feature: 8}", "unknown model option(s) ['num_feature']"),
        ("model: {cutoff: 5, num_features: many}", "model option 'num_features' = 'many': expected a whole number"),
        ("lerning_rate: 0.1", "unknown training option(s) ['lerning_rate']"),
    ],
)
def test_bad_training_values_name_key_value_and_type(tmp_path, text, needle):
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_yaml(_write(tmp_path, "data: x.extxyz\n" + text + "\n"))
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_property_config_types_its_model_options():
    targets = ["log10_K_VRH_GPa"]
    config = TrainConfig.from_dict({"data": "x.json", "targets": targets, "model": {"cutoff": "6", "num_features": 8}})
    assert config.model == {"cutoff": 6.0, "num_features": 8, "num_interactions": 3}  # unset: the kind's default
    with pytest.raises(ConfigError, match="unknown model option"):
        TrainConfig.from_dict({"data": "x.json", "targets": targets, "model": {"cutoff": 6, "width": 8}})


def test_key_value_options():
    assert parse_key_value_options(["a=1", "b=[1, 2]", "c=1e-3"]) == {"a": 1, "b": [1, 2], "c": "1e-3"}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_key_value_options(["a"])
