"""``mlmat md`` and ``mlmat phonons`` as a user runs them, with a shipped potential on small cells."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.io import write
from matplotlib.image import imread

from ase_mlmat.cli import main
from ase_mlmat.commands.md import summary
from ase_mlmat.workflows.md import MDResult


@pytest.fixture
def copper(tmp_path):
    path = tmp_path / "cu.extxyz"
    write(path, bulk("Cu", "fcc", a=3.6, cubic=True))
    return str(path)


@pytest.mark.parametrize("ensemble", ["nve", "nvt"])
def test_md_summary_line(ensemble, copper, capsys):
    """NVE ends with the total-energy drift; NVT, where the thermostat exchanges energy, with T and E_pot."""
    argv = ["md", "mlearn-Cu", "--structure", copper, "--ensemble", ensemble, "--steps", "20", "--interval", "10"]
    assert main([*argv, "--device", "cpu"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    if ensemble == "nve":
        assert last.startswith("total-energy drift ") and "meV/atom/ps" in last
    else:
        assert "drift" not in last
        assert last.startswith("mean T ") and " ± " in last and "mean potential energy" in last


def test_md_summary_numbers():
    t = np.array([0.0, 0.1, 0.2])
    nvt = MDResult(t, np.array([-4.0, -4.1, -4.2]), np.zeros(3), np.array([290.0, 300.0, 310.0]), None, 20, "nvt")
    assert summary(nvt) == "mean T 300.0 ± 8.2 K, mean potential energy -4.100000 eV/atom"
    nve = MDResult(t, np.zeros(3), np.zeros(3), np.array([290.0, 300.0, 310.0]), 0.01234, 20, "nve")
    assert summary(nve) == "total-energy drift 0.0123 meV/atom/ps, mean T 300.0 K"


def test_phonons_warns_for_a_one_cell_supercell(capsys):
    argv = ["phonons", "mlearn-Cu", "--supercell", "1", "1", "1", "--mesh", "2", "--no-relax", "--device", "cpu"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("mlmat phonons: warning: a 1×1×1 supercell gives wrong phonons")
    assert "4×4×4 is wide enough for the cutoff" in captured.err
    assert "1×1×1 supercell" in captured.out


def test_phonons_default_supercell_is_wide_enough_and_plot_is_written(tmp_path, capsys):
    plot = tmp_path / "bands.png"
    argv = ["phonons", "mlearn-Cu", "--mesh", "2", "--no-relax", "--device", "cpu", "--plot", str(plot)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    assert "Cu: lattice volume" in captured.out and "4×4×4 supercell" in captured.out  # 2 × 4 Å cutoff
    assert imread(plot).shape[0] > 100
