"""pair_style mlmat against MLCalculator (float64): largest relative differences on 1 and 2 ranks, and NVE.

    OMP_NUM_THREADS=1 python scripts/lammps_agreement.py [--aoti]

Uses the structures and LAMMPS runs of the tests (``ase_mlmat.lammps.check``) (rattled, sheared 2×2×2 cubic
supercells of Cu and Si; TorchScript float64 exports of mlearn-Cu and mlearn-Si) and prints one line per
case: max |LAMMPS − calculator| / max |calculator| for energy, per-atom energies, forces and virial (global
and summed per-atom). Then the NVE run of the test (Cu, 800 K, 100 × 2 fs): the range of the total energy
per atom on 1 rank and the largest position difference between the 2-rank and 1-rank trajectories.
``--aoti`` repeats the single points with AOTInductor packages (a minute of compiling per model).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from ase_mlmat.calculator import MLCalculator
from ase_mlmat.export import export_model
from ase_mlmat.lammps import build_plugin
from ase_mlmat.lammps.check import HEADER, MODELS, NVE, run_lammps, single_point, structure, write_data

SUFFIX = {"torchscript": "pt", "aoti": "pt2"}  # AOTInductor insists on .pt2


def relative(actual, expected) -> float:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aoti", action="store_true", help="also AOTInductor packages")
    formats = ["torchscript", "aoti"] if parser.parse_args().aoti else ["torchscript"]
    start = time.perf_counter()
    plugin = build_plugin()
    print(f"plugin {plugin} ({time.perf_counter() - start:.1f} s, cached after the first build)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exported = {
            (fmt, el): export_model(name, folder / f"{el}.{SUFFIX[fmt]}", file_format=fmt)
            for fmt in formats
            for el, name in MODELS.items()
        }
        models = {el: exported["torchscript", el] for el in MODELS}
        for (fmt, symbol), path in exported.items():
            name = MODELS[symbol]
            atoms = structure(symbol)
            atoms.calc = MLCalculator(name, dtype="float64", skin=0.0)
            virial = -atoms.get_stress(voigt=False) * atoms.get_volume()
            for ranks in (1, 2):
                run = folder / f"{fmt}{symbol}{ranks}"
                run.mkdir()
                lmp = single_point(plugin, path, atoms, run, ranks)
                print(
                    f"{name} {fmt} {symbol}{len(atoms)} ranks {ranks}:"
                    f" energy {relative(lmp['energy'], atoms.get_potential_energy()):.1e}"
                    f" energies {relative(lmp['energies'], atoms.get_potential_energies()):.1e}"
                    f" forces {relative(lmp['forces'], atoms.get_forces()):.1e}"
                    f" virial {relative(lmp['virial'], virial):.1e}"
                    f" per-atom virial sum {relative(lmp['virial_per_atom_sum'], virial):.1e}"
                )
        atoms, finals = structure("Cu"), []
        for ranks in (1, 2):
            run = folder / f"nve{ranks}"
            run.mkdir()
            write_data(atoms, run / "data")
            start = time.perf_counter()
            done = run_lammps(plugin, run, HEADER.format(model=models["Cu"], element="Cu") + NVE, ranks=ranks)
            seconds = time.perf_counter() - start
            etotal = np.array([float(v) for v in re.findall(r"^NVE \d+ (\S+)$", done.stdout, re.M)])
            finals.append(np.loadtxt(run / "final.dump", skiprows=9)[:, 1:])
            spread = (etotal.max() - etotal.min()) / len(atoms)
            print(f"NVE Cu{len(atoms)} ranks {ranks}: total energy range {spread * 1e3:.3f} meV/atom ({seconds:.0f} s)")
        print(f"NVE 2 ranks vs 1 rank after 100 steps: max |Δx, Δv| {np.abs(finals[1] - finals[0]).max():.1e}")


if __name__ == "__main__":
    main()
