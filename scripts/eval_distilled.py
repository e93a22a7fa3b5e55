"""Measure a shipped distilled potential against its teacher and against DFT, family by family.

For each family (``distilled-<A>-<B>``) and each polymorph it was distilled from (the MP structures that
``scripts/build_distilled.py`` picks):

* K and G (VRH, GPa) from the finite-strain elastic tier (the ``elastic`` predictor: cell relaxation, ±0.5 and
  ±1 % strains, relaxed ions, fmax 0.01 eV/Å) with the distilled potential and with the teacher, beside the DFT
  (PBE) K and G of the shared MP file, and the relaxed volume per atom against the MP cell's;
* phonons (phonopy, finite displacements in a supercell at least 8 Å wide, 8×8×8 mesh) of the polymorphs with at
  most ``--phonon-max-atoms`` (4) atoms, with each calculator on its own relaxed structure: the lowest
  frequency, THz (below −0.2 THz counts as imaginary);
* speed: energy, forces and stress of a supercell of the first polymorph (at least 128 atoms), one thread, mean
  of 3 calls after one warm-up, both calculators in this process;

and from the model card: teacher calls and the force and stress MAE against the teacher on independent frames.
Prints one JSON line per family; ``--output`` also writes them all to one JSON file.

    OMP_NUM_THREADS=1 python scripts/eval_distilled.py B-N Si-C W-C Ti-N --output docs/distill/distilled_eval.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_distilled import MP_FILE, family_structures  # noqa: E402

IMAGINARY_THz = -0.2


def _relaxed(atoms, calculator, fmax=0.01, steps=300):
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    atoms = atoms.copy()
    atoms.calc = calculator
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=fmax, steps=steps)
    return atoms


def _lowest_frequency(atoms, calculator) -> float:
    from ase_mlmat.workflows.phonons import make_phonopy, mesh_frequencies, minimal_supercell

    relaxed = _relaxed(atoms, calculator)
    supercell = minimal_supercell(relaxed, 8.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phonon = make_phonopy(relaxed, calculator, supercell=supercell)
    _, frequencies = mesh_frequencies(phonon, (8, 8, 8))
    return float(frequencies.min())


def _moduli(atoms, calculator, elastic) -> dict:
    try:
        result = elastic.predict(atoms, calculator)
    except Exception as err:  # one polymorph's failure is a row, not the end of the run
        return {"error": f"{type(err).__name__}: {err}"[:200]}
    volume = abs(np.linalg.det(result.cell_A)) / len(atoms)
    if not result.born_stable:  # no moduli for a mechanically unstable structure
        return {
            "born_stable": False,
            "volume_vs_dft_pct": round(100 * (volume / atoms.get_volume() * len(atoms) - 1), 2),
        }
    return {
        "K_GPa": round(float(result.bulk_modulus_GPa), 1),
        "G_GPa": round(float(result.shear_modulus_GPa), 1),
        "born_stable": True,
        "volume_vs_dft_pct": round(100 * (volume / atoms.get_volume() * len(atoms) - 1), 2),
    }


def _ms_per_call(atoms, calculator, calls=3) -> float:
    atoms = atoms.copy()
    atoms.calc = calculator
    atoms.rattle(0.02, seed=0)
    atoms.get_forces()
    atoms.get_stress()
    start = time.perf_counter()
    for k in range(calls):
        atoms.rattle(0.005, seed=k + 1)
        atoms.get_forces()
        atoms.get_stress()
    return (time.perf_counter() - start) / calls * 1000


def evaluate(family: str, teacher_spec: str, max_structures: int, max_atoms: int, phonon_max_atoms: int = 4) -> dict:
    import torch

    from ase_mlmat.calculator import MLCalculator
    from ase_mlmat.properties import calculator_from_spec, create
    from ase_mlmat.workflows.distill import supercell

    torch.set_num_threads(1)
    name = f"distilled-{family}"
    card = json.loads((ROOT / "docs" / "distill" / f"{name}-card.json").read_text())
    distilled = MLCalculator(name, device="cpu")
    teacher = calculator_from_spec(teacher_spec, device="cpu")
    elastic = create("elastic", fmax=0.01, max_steps=500)
    structures = family_structures(family, MP_FILE, max_structures, max_atoms)
    polymorphs = []
    for atoms in structures:
        row = {
            "mp_id": atoms.info["mp_id"],
            "formula": atoms.get_chemical_formula(),
            "space_group": atoms.info["space_group"],
            "dft": {"K_GPa": atoms.info["bulk_modulus_vrh"], "G_GPa": atoms.info["shear_modulus_vrh"]},
        }
        for label, calculator in (("distilled", distilled), ("teacher", teacher)):
            row[label] = _moduli(atoms, calculator, elastic)
            if len(atoms) > phonon_max_atoms:
                continue
            try:
                row[label]["lowest_frequency_THz"] = round(_lowest_frequency(atoms, calculator), 3)
            except Exception as err:
                row[label]["phonon_error"] = f"{type(err).__name__}: {err}"[:200]
        polymorphs.append(row)
        print(f"[eval] {name} {row}", file=sys.stderr, flush=True)
    big = supercell(structures[0], 128)
    speed = {"atoms": len(big), "distilled_ms": _ms_per_call(big, distilled), "teacher_ms": _ms_per_call(big, teacher)}
    speed["speedup"] = round(speed["teacher_ms"] / speed["distilled_ms"], 1)

    def _mae(label: str, other: str, key: str) -> float | None:
        pairs = [(p[label][key], p[other][key]) for p in polymorphs if key in p[label] and key in p[other]]
        return round(float(np.mean([abs(a - b) for a, b in pairs])), 1) if pairs else None

    def _real(label: str) -> str:
        done = [p[label]["lowest_frequency_THz"] for p in polymorphs if "lowest_frequency_THz" in p[label]]
        return f"{sum(f > IMAGINARY_THz for f in done)}/{len(done)}"

    independent = card["independent"]
    return {
        "family": family,
        "potential": name,
        "teacher": teacher_spec,
        "teacher_calls": card["teacher_calls"],
        "independent_teacher_calls": independent["frames"],  # one teacher call per frame
        "independent_frames": independent["frames"],
        "forces_mae_eV_per_A": round(independent["forces_mae_eV_per_A"], 4),
        "stress_mae_GPa": round(independent["stress_mae_GPa"], 3),
        "energy_mae_meV_per_atom": round(independent["energy_mae_meV_per_atom"], 2),
        "K_mae_vs_teacher_GPa": _mae("distilled", "teacher", "K_GPa"),
        "G_mae_vs_teacher_GPa": _mae("distilled", "teacher", "G_GPa"),
        "K_mae_vs_dft_GPa": _mae("distilled", "dft", "K_GPa"),
        "G_mae_vs_dft_GPa": _mae("distilled", "dft", "G_GPa"),
        "teacher_K_mae_vs_dft_GPa": _mae("teacher", "dft", "K_GPa"),
        "teacher_G_mae_vs_dft_GPa": _mae("teacher", "dft", "G_GPa"),
        "phonons_real_distilled": _real("distilled"),
        "phonons_real_teacher": _real("teacher"),
        "speed": speed,
        "polymorphs": polymorphs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", nargs="+")
    parser.add_argument("--teacher", default="chgnet")
    parser.add_argument("--max-structures", type=int, default=5)
    parser.add_argument("--max-atoms", type=int, default=16)
    parser.add_argument("--phonon-max-atoms", type=int, default=4, help="phonons only for cells this small")
    parser.add_argument("--output", help="write all families' results to this JSON file")
    args = parser.parse_args()
    results = []
    for family in args.families:
        results.append(evaluate(family, args.teacher, args.max_structures, args.max_atoms, args.phonon_max_atoms))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "polymorphs"}), flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
