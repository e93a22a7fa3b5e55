"""The learn config: sections typed by their fields, the old flat layout, a reference beside the config, resume."""

from __future__ import annotations

import argparse
import pickle
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from ase.build import bulk
from ase.io import write

from ase_mlmat.active import ActiveConfig, ActiveStore, CommitteeConfig, run_active_learning
from ase_mlmat.active.cli import add_parser
from ase_mlmat.active.config import config_changes
from ase_mlmat.active.labelling import resolve_reference
from ase_mlmat.data import DatasetError
from ase_mlmat.yaml_config import ConfigError

TINY = {"cutoff": 4.0, "num_features": 16, "num_interactions": 2, "num_basis": 8}

NESTED = {
    "seed": 2,
    "committee": {"size": 3, "model": TINY, "train_steps": 50},
    "exploration": {"temperatures_K": [300, 900], "schedule": "all", "num_seed": 2},
    "selection": {"rule": "stratified", "threshold": 0.05, "labels_per_iteration": 2},
    "stopping": {"calm_steps": 20, "max_labels": 12},
}
FLAT = {
    "seed": 2,
    "committee_size": 3,
    "model": TINY,
    "train_steps": 50,
    "temperatures_K": [300, 900],
    "temperature_schedule": "all",
    "num_seed": 2,
    "selection": "stratified",
    "threshold": 0.05,
    "labels_per_iteration": 2,
    "calm_steps": 20,
    "max_labels": 12,
}


def test_yaml_numbers_written_as_strings_are_read_as_numbers(tmp_path):
    path = tmp_path / "learn.yaml"
    path.write_text("selection:\n  threshold: 5e-2\n  energy_threshold: 1e-3\nstopping:\n  abort_threshold: 2.5e-1\n")
    config = ActiveConfig.from_yaml(path)  # YAML 1.1 reads 5e-2 as the string "5e-2"
    assert config.selection.threshold == 0.05 and config.selection.energy_threshold == 0.001
    assert config.abort_at == 0.25 and isinstance(config.selection.threshold, float)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"selection": {"threshold": "fast"}}, "selection option 'threshold' = 'fast': expected a number"),
        ({"stopping": {"max_labels": 1.5}}, "stopping option 'max_labels' = 1.5: expected a whole number"),
        ({"committee": {"sise": 3}}, r"unknown active-learning committee option\(s\) \['sise'\]"),
        ({"tresholds": 1}, r"unknown active-learning option\(s\) \['tresholds'\]"),
        ({"exploration": [300]}, "section 'exploration' = \\[300\\]: expected a mapping"),
        ({"threshold": 0.1, "selection": {"threshold": 0.2}}, "'threshold' is given twice"),
    ],
)
def test_bad_values_name_key_value_and_expected_type(raw, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ConfigError, match=message) as info:
            ActiveConfig.from_dict(raw)
    assert "\n" not in str(info.value)


def test_an_old_flat_config_is_converted_with_a_warning_naming_each_new_place():
    with pytest.warns(DeprecationWarning) as caught:
        old = ActiveConfig.from_dict(FLAT)
    message = str(caught[0].message)
    for moved in (
        "committee_size → committee.size",
        "temperature_schedule → exploration.schedule",
        "selection → selection.rule",
        "threshold → selection.threshold",
        "max_labels → stopping.max_labels",
    ):
        assert moved in message
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the nested layout warns about nothing
        new = ActiveConfig.from_dict(NESTED)
    assert old == new and new.committee.size == 3 and new.exploration.temperatures_K == [300.0, 900.0]
    assert ActiveConfig.from_dict(new.to_dict()) == new  # what a db stores reads back
    with pytest.raises(ConfigError, match=r"'committee_size' belongs in committee\.size"):
        ActiveConfig.from_dict({"committee": CommitteeConfig(), "committee_size": 2})


def test_config_changes_compare_either_layout():
    new = ActiveConfig.from_dict({**NESTED, "stopping": {**NESTED["stopping"], "max_labels": 40}})
    assert config_changes(ActiveConfig.from_dict(NESTED).to_dict(), new) == {"stopping.max_labels": (12, 40)}
    assert config_changes(FLAT, new) == {"stopping.max_labels": (12, 40)}  # a db written by the flat layout
    assert config_changes(FLAT, ActiveConfig.from_dict({**NESTED, "db": "elsewhere.db"})) == {}


MY_DFT = '''
from ase.calculators.emt import EMT


class MyCalc(EMT):
    """EMT with a name of its own: the user's reference, in a module beside the config."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
'''


def test_a_reference_module_beside_the_config_is_found_without_pythonpath(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "my_dft_beside.py").write_text(MY_DFT)
    path = project / "learn.yaml"
    path.write_text("reference: my_dft_beside:MyCalc\nreference_options: {scale: 2}\n")
    monkeypatch.chdir(tmp_path)  # neither the current directory nor sys.path holds the module
    path_before = list(sys.path)
    with pytest.raises(ValueError, match="cannot import calculator module 'my_dft_beside'"):
        resolve_reference("my_dft_beside:MyCalc")
    config = ActiveConfig.from_yaml(path)
    assert config.reference_dirs == [str(project)]
    factory = resolve_reference(config.reference, config.reference_options, config.reference_dirs)
    calculator = factory()
    assert type(calculator).__name__ == "MyCalc" and calculator.scale == 2
    assert sys.path == path_before  # the directory is searched for the reference only
    del sys.modules["my_dft_beside"]  # as on a fresh Dask worker: the pickled factory imports it again
    assert type(pickle.loads(pickle.dumps(factory))()).__name__ == "MyCalc"
    sys.modules.pop("my_dft_beside", None)


def _learn(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlmat")
    add_parser(parser.add_subparsers(dest="command"))
    parsed = parser.parse_args(["learn", *args])
    return parsed.func(parsed)


def test_resume_with_a_changed_config_says_which_keys_changed(tmp_path, capsys):
    write(tmp_path / "start.extxyz", bulk("Cu", cubic=True) * (2, 2, 1))
    options = {
        "structure": str(tmp_path / "start.extxyz"),
        "db": str(tmp_path / "al.db"),
        "committee": {"size": 2, "model": TINY, "train_steps": 30},
        "exploration": {"temperatures_K": [300], "num_seed": 2, "equilibration_steps": 0, "check_interval": 5},
        "selection": {"threshold": 1e3},  # calm at once: the seed is all it labels
        "stopping": {"calm_steps": 10, "max_labels": 8},
    }
    first, changed = tmp_path / "first.yaml", tmp_path / "changed.yaml"
    first.write_text(yaml.safe_dump(options))
    assert _learn([str(first)]) == 0
    capsys.readouterr()

    changed.write_text(yaml.safe_dump({**options, "committee": {**options["committee"], "size": 3}}))
    assert _learn([str(changed)]) == 1
    err = capsys.readouterr().err
    assert "committee.size: 2 → 3" in err and "committee.size cannot change on resume" in err
    assert "What may change on resume: the budget" in err and "does not exist" not in err

    assert _learn([str(first), "--max-labels", "10"]) == 0  # the budget may change
    out = capsys.readouterr().out
    assert "config changed since the last run: stopping.max_labels: 8 → 10" in out
    assert ActiveStore(options["db"]).config()["stopping"]["max_labels"] == 10  # the next resume compares with it
    assert _learn([str(first), "--max-labels", "10"]) == 0
    assert "config changed" not in capsys.readouterr().out


def test_the_cli_shows_the_flat_layout_warning(tmp_path, capsys):
    path = tmp_path / "flat.yaml"
    path.write_text(yaml.safe_dump({**FLAT, "db": str(tmp_path / "al.db"), "structure": str(tmp_path / "none.xyz")}))
    with pytest.raises(DatasetError):  # the config is read, then the missing start structure stops it
        _learn([str(path)])
    assert "warning: " in capsys.readouterr().err


def test_the_example_config_runs(tmp_path, monkeypatch):
    """configs/learn-Cu-EMT.yaml, run from the repository root as its header says (shortened here)."""
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    overrides = {"db": str(tmp_path / "al.db"), "stopping.max_labels": 4, "committee.train_steps": 20}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the example uses the current layout
        config = ActiveConfig.from_yaml(root / "configs" / "learn-Cu-EMT.yaml", overrides)
    assert config.selection.threshold == 0.05 and config.committee.size == 3
    result = run_active_learning(config, log=None)
    assert result.reason.startswith("label budget spent") and result.labels == 4
    assert len(ActiveStore(config.db).start_structures()[0]) == 31
