"""Build a shipped distilled potential, ``distilled-<A>-<B>``, from a universal teacher (default CHGNet).

The family's polymorphs come from the shared Materials Project file (every structure made of exactly the two
elements); up to ``--max-structures`` of them, taken round-robin over the formulas so that every stoichiometry
is covered (smallest cells first, one per space group). ``mlmat distill``'s workflow then runs in
``runs/distilled-<A>-<B>`` (rerun to resume) with ``configs/distill-binary.yaml``, and ``--install`` copies the
potential into the package (``ase_mlmat/pretrained``) and its card and parity plot into ``docs/distill``.

    OMP_NUM_THREADS=1 python scripts/build_distilled.py B-N --install
    OMP_NUM_THREADS=1 python scripts/build_distilled.py Si-C W-C Ti-N --install

Prints one JSON line per family: the structures, teacher calls, independent-frame errors and seconds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MP_FILE = ROOT.parent / "shared" / "data" / "elastic" / "mp-binary-pbe-elasticity-2025.1.json.gz"


def family_structures(family: str, mp_file: Path, max_structures: int, max_atoms: int) -> list:
    """The family's polymorphs in the MP file as ase Atoms (info: mp_id, K and G), chosen as the docstring says."""
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    wanted = set(family.split("-"))
    if len(wanted) != 2:
        raise SystemExit(f"a family is two elements joined by '-', e.g. B-N; got {family!r}")
    by_formula: dict[str, list] = defaultdict(list)
    seen = set()
    with gzip.open(mp_file) as handle:
        records = json.load(handle)
    for record in records:
        structure = Structure.from_dict(record["structure"])
        if {e.symbol for e in structure.composition.elements} != wanted or len(structure) > max_atoms:
            continue
        formula = structure.composition.reduced_formula
        group = SpacegroupAnalyzer(structure, symprec=0.1).get_space_group_number()
        if (formula, group) in seen:
            continue
        seen.add((formula, group))
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.info.update(
            mp_id=record["mp_id"],
            space_group=group,
            bulk_modulus_vrh=record["bulk_modulus_vrh"],
            shear_modulus_vrh=record["shear_modulus_vrh"],
        )
        by_formula[formula].append(atoms)
    if not by_formula:
        raise SystemExit(f"no {family} structure of at most {max_atoms} atoms in {mp_file}")
    queues = [sorted(v, key=len) for _, v in sorted(by_formula.items(), key=lambda kv: min(map(len, kv[1])))]
    chosen = []
    while len(chosen) < max_structures and any(queues):
        for queue in queues:
            if queue and len(chosen) < max_structures:
                chosen.append(queue.pop(0))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", nargs="+", help="element pairs, e.g. B-N Si-C W-C Ti-N")
    parser.add_argument("--teacher", default="chgnet")
    parser.add_argument("--budget", type=int, default=100, help="teacher calls of the active learning")
    parser.add_argument("--max-structures", type=int, default=5)
    parser.add_argument("--max-atoms", type=int, default=16, help="largest primitive cell taken from the MP file")
    parser.add_argument("--config", default=str(ROOT / "configs" / "distill-binary.yaml"))
    parser.add_argument("--compressions", help="volume fractions of compressed cells labelled first, e.g. 0.85,0.7")
    parser.add_argument("--refit-minutes", type=float, help="time budget of the refit (default: the config's)")
    parser.add_argument("--mp-file", default=str(MP_FILE))
    parser.add_argument("--runs", default="runs", help="folder of the runs (runs/distilled-<A>-<B>)")
    parser.add_argument("--install", action="store_true", help="copy the potential, card and plot into the tree")
    args = parser.parse_args()

    from ase_mlmat.workflows.distill import config_from_options, distill
    from ase_mlmat.yaml_config import read_mapping

    for family in args.families:
        name = f"distilled-{family}"
        structures = family_structures(family, Path(args.mp_file), args.max_structures, args.max_atoms)
        options = dict(read_mapping(args.config, "a distillation"))
        options["budget"] = args.budget
        if args.compressions:
            options["compressions"] = [float(v) for v in args.compressions.split(",")]
        if args.refit_minutes is not None:
            options["refit"] = {**options.get("refit", {}), "max_minutes": args.refit_minutes}
        config = config_from_options(args.teacher, str(Path(args.runs) / name), options)
        start = time.perf_counter()
        result = distill(structures, config)
        seconds = time.perf_counter() - start
        if args.install:
            shutil.copyfile(result.potential, ROOT / "ase_mlmat" / "pretrained" / f"{name}.pt")
            docs = ROOT / "docs" / "distill"
            docs.mkdir(exist_ok=True)
            # the frames were labelled once by the teacher, in this run or the one it resumed
            frames = result.card["independent"]["frames"]
            card = dict(result.card, mp_ids=[a.info["mp_id"] for a in structures], independent_teacher_calls=frames)
            (docs / f"{name}-card.json").write_text(json.dumps(card, indent=1, default=str) + "\n")
            shutil.copyfile(result.parity, docs / f"{name}-parity.png")
        independent = result.card["independent"]
        print(
            json.dumps(
                {
                    "family": family,
                    "name": name,
                    "teacher": args.teacher,
                    "structures": [f"{a.info['mp_id']} {a.get_chemical_formula()}" for a in structures],
                    "teacher_calls": result.card["teacher_calls"],
                    "independent_teacher_calls": result.card["independent_teacher_calls"],
                    "labels": result.card["labels"],
                    "forces_mae_eV_per_A": independent.get("forces_mae_eV_per_A"),
                    "stress_mae_GPa": independent.get("stress_mae_GPa"),
                    "energy_mae_meV_per_atom": independent.get("energy_mae_meV_per_atom"),
                    "seconds_this_run": round(seconds, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
