"""The ``mlmat`` command: one parser, subcommands loaded only when run, one-line errors, derived train flags."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from ase_mlmat.cli import build_parser, main, plugin_commands
from ase_mlmat.commands import COMMANDS


def _python(code: str) -> str:
    """stdout of ``code`` run in a fresh interpreter (this process has torch loaded already)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_build_parser_and_help_import_no_torch():
    loaded = _python(
        "import sys\n"
        "from ase_mlmat.cli import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('torch', 'mlmat_glass', 'ase_mlmat.active') if m in sys.modules))"
    )
    assert loaded.strip() == "[]"
    helped = _python(
        "import sys\n"
        "from ase_mlmat.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    assert helped.strip().endswith("False")
    for name in COMMANDS:
        assert name in helped


def test_mlmat_help_in_a_subprocess_imports_no_torch():
    script = Path(sys.executable).with_name("mlmat")  # the installed console script
    command = [str(script)] if script.exists() else ["-m", "ase_mlmat.cli"]
    process = subprocess.run([sys.executable, "-X", "importtime", *command, "--help"], capture_output=True, text=True)
    assert process.returncode == 0 and "usage: mlmat" in process.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in process.stderr.splitlines() if "|" in line]
    assert "ase_mlmat.commands" in imported
    assert not [name for name in imported if name == "torch" or name.startswith("torch.")]


@pytest.mark.parametrize("name", [*COMMANDS, *plugin_commands()])
def test_every_subcommand_loads_when_named(name, capsys):
    parser = build_parser(name)
    with pytest.raises(SystemExit) as stop:
        parser.parse_args([name, "--help"])
    assert stop.value.code == 0
    assert f"usage: mlmat {name}" in capsys.readouterr().out


def test_unknown_and_missing_subcommands_are_argparse_errors(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["nosuch"])
    assert stop.value.code == 2 and "invalid choice: 'nosuch'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([])


def test_glass_is_a_plugin_subcommand(capsys):
    pytest.importorskip("mlmat_glass")
    assert "glass" in plugin_commands() and "glass" not in COMMANDS
    with pytest.raises(SystemExit) as stop:
        main(["glass", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert all(word in out for word in ("generate", "convert", "predict"))


def test_train_flags_are_the_config_fields():
    """Every TrainConfig field that is not a mapping has a flag; values reach the config as written."""
    from ase_mlmat.commands.config_flags import config_overrides
    from ase_mlmat.train import TrainConfig

    args = build_parser("train").parse_args(
        ["train", "--learning-rate", "1e-3", "--no-plots", "--data", "a.extxyz", "b.extxyz", "--epochs", "2"]
    )
    hints = typing.get_type_hints(TrainConfig)
    expected = {f.name for f in dataclasses.fields(TrainConfig) if hints[f.name] is not dict}
    assert set(args.config_fields) == expected
    assert config_overrides(args, args.config_fields) == {
        "learning_rate": "1e-3",
        "plots": False,
        "data": ["a.extxyz", "b.extxyz"],
        "epochs": "2",
    }


def test_train_config_after_a_list_flag_is_the_config(tmp_path, capsys):
    """``--data a b CONFIG`` must not read CONFIG as training data."""
    config = tmp_path / "cfg.yaml"
    config.write_text("epochs: 1.5\n")
    assert main(["train", "--data", "a.extxyz", "b.extxyz", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mlmat train: error: training option 'epochs' = 1.5: expected a whole number or null"


def test_train_flag_values_are_typed_by_the_config(capsys):
    assert main(["train", "--data", "x.extxyz", "--epochs", "1.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mlmat train: error: training option 'epochs' = '1.5': expected a whole number or null"
    assert main(["train", "--data", "x.extxyz", "--learning-rate", "fast"]) == 2
    assert "'learning_rate' = 'fast': expected a number" in capsys.readouterr().err


def test_key_error_prints_without_quotes(capsys):
    assert main(["predict", "no-such-predictor", "x.extxyz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlmat predict: error: no property predictor named 'no-such-predictor'")
    assert len(err.strip().splitlines()) == 1
