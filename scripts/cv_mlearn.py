"""k-fold cross-validation of the shipped mlearn recipes, beside the best published classical MLIPs.

Runs ``cross_validate`` with each element's shipped config (``configs/mlearn-<El>.yaml``),
optionally with a shorter wall-clock budget per fold, and prints one JSON line per element
and a Markdown table at the end. Reference: Zuo et al., J. Phys. Chem. A 124, 731 (2020),
test-set errors, best of GAP/MTP.

    python scripts/cv_mlearn.py --elements Si Ge --k 5 --minutes-per-fold 6 --output runs/cv.json
    python scripts/cv_mlearn.py --k 5 --minutes-per-fold 3 --budget-clock cpu   # same work on a busy machine
    python scripts/cv_mlearn.py --recipe accurate --k 5 --minutes-per-fold 2.5 --budget-clock cpu  # *-accurate.yaml
    python scripts/cv_mlearn.py --architecture moments --model num_interactions=2 max_rank=3 --output runs/cvm.json

``--architecture`` swaps the representation and keeps the recipe's cutoff, width and radial basis (the other model
keys are the architecture's own; set them with ``--model KEY=VALUE``), so two architectures are compared on the
same data, folds, loss weights and budget.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from ase_mlmat.train import TrainConfig, cross_validate

ROOT = Path(__file__).resolve().parents[1]
# Best of GAP/MTP on the held-out test sets: (energy meV/atom, force eV/Å).
ZUO_2020_BEST = {
    "Ni": (0.42, 0.01),
    "Cu": (0.41, 0.01),
    "Li": (0.49, 0.01),
    "Mo": (2.24, 0.09),
    "Si": (2.21, 0.06),
    "Ge": (1.79, 0.05),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", nargs="+", default=list(ZUO_2020_BEST))
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--minutes-per-fold", type=float, help="override the config's max_minutes")
    parser.add_argument("--budget-clock", choices=["wall", "cpu"], help="count the budget in wall or CPU time")
    parser.add_argument(
        "--recipe", help="use configs/mlearn-<El>-RECIPE.yaml (e.g. accurate) instead of mlearn-<El>.yaml"
    )
    parser.add_argument("--architecture", help="another registered architecture than the recipe's (e.g. moments)")
    parser.add_argument("--model", nargs="+", default=[], metavar="KEY=VALUE", help="model options to set")
    parser.add_argument("--output", default="runs/mlearn_cv.json")
    args = parser.parse_args()

    results = {}
    output = Path(args.output)
    if output.exists():
        results = json.loads(output.read_text())  # resume: keep elements already done
    output.parent.mkdir(parents=True, exist_ok=True)
    for element in args.elements:
        if element in results:
            continue
        recipe_path = (
            ROOT / "configs" / (f"mlearn-{element}-{args.recipe}.yaml" if args.recipe else f"mlearn-{element}.yaml")
        )
        overrides = {"progress": False, "plots": False}
        if args.minutes_per_fold:
            overrides["max_minutes"] = args.minutes_per_fold
        if args.budget_clock:
            overrides["budget_clock"] = args.budget_clock
        if args.architecture or args.model:
            recipe = TrainConfig.from_yaml(recipe_path)
            shared = ("cutoff", "num_features", "num_basis")
            model = {k: v for k, v in recipe.model.items() if not args.architecture or k in shared}
            options = dict(option.split("=", 1) for option in args.model)
            overrides["model"] = {**model, **{key: yaml.safe_load(value) for key, value in options.items()}}
            overrides["architecture"] = args.architecture or recipe.architecture
        config = TrainConfig.from_yaml(recipe_path, **overrides)
        config.data = [str((ROOT / p).resolve()) for p in config.data]
        report = cross_validate(config, args.k)
        report["recipe"] = recipe_path.name
        report["max_minutes_per_fold"] = config.max_minutes
        report["budget_clock"] = config.budget_clock
        report["architecture"], report["model"] = config.architecture, config.model
        results[element] = report
        output.write_text(json.dumps(results, indent=1))
        summary = report["summary"]
        print(json.dumps({"element": element, **{k: v["mean"] for k, v in summary.items()}}), flush=True)

    print("| element | CV energy MAE (meV/atom) | Zuo best | CV force MAE (eV/Å) | Zuo best | CV stress MAE (GPa) |")
    print("|---|---|---|---|---|---|")
    for element, report in results.items():
        s = report["summary"]
        e_ref, f_ref = ZUO_2020_BEST[element]
        print(
            f"| {element} | {s['energy_mae_meV_per_atom']['mean']:.2f} ± {s['energy_mae_meV_per_atom']['std']:.2f} "
            f"| {e_ref} | {s['forces_mae_eV_per_A']['mean']:.3f} ± {s['forces_mae_eV_per_A']['std']:.3f} | {f_ref} "
            f"| {s['stress_mae_GPa']['mean']:.2f} ± {s['stress_mae_GPa']['std']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
