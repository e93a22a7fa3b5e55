"""k-fold cross-validation of the CGCNN moduli model; prints one JSON line.

MAE of log10 K_VRH and log10 G_VRH (GPa) over out-of-fold predictions, beside the Matbench v0.1 records
(coNGN 0.049 / 0.067, CGCNN 0.071 / 0.090; 10,987 structures each). The full report, with every
structure's out-of-fold prediction, is written to ``--output`` (input of scripts/ashby_cv.py).

    OMP_NUM_THREADS=1 python scripts/cv_cgcnn.py --k 5 --epochs 60 --output runs/cv_cgcnn.json
    OMP_NUM_THREADS=1 python scripts/cv_cgcnn.py --k 5 --epochs 60 --grouped --output runs/cv_grouped.json
    OMP_NUM_THREADS=1 python scripts/cv_cgcnn.py --k 5 --epochs 60 --grouped --model continuous_features=true \
        --output runs/cv_grouped_continuous.json
    OMP_NUM_THREADS=1 python scripts/cv_cgcnn.py --epochs 60 --leave-out Er Zr --output runs/leave_out.json
    OMP_NUM_THREADS=1 python scripts/cv_cgcnn.py --k 5 --folds 0 --ensemble-size 3 --output runs/cv_ens3.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATBENCH = {
    "coNGN": {"log10_K_VRH_GPa": 0.049, "log10_G_VRH_GPa": 0.067},
    "CGCNN": {"log10_K_VRH_GPa": 0.071, "log10_G_VRH_GPa": 0.090},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "mp-binary-kg.yaml"))
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--folds", type=int, nargs="+", help="run only these folds")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--ensemble-size", type=int, default=1)
    parser.add_argument("--limit", type=int, help="first N structures only (quick check)")
    parser.add_argument("--targets", nargs="+", help="train on these targets only (default: K and G in one model)")
    parser.add_argument(
        "--grouped", action="store_true", help="group folds by reduced formula (no compound on both sides)"
    )
    parser.add_argument("--model", nargs="+", metavar="KEY=VALUE", help="model options over the config's")
    parser.add_argument(
        "--leave-out", nargs="+", metavar="ELEMENT", help="instead of k-fold: per element, train without it, test on it"
    )
    parser.add_argument("--output", default="runs/cv_cgcnn.json")
    args = parser.parse_args()

    import torch

    from ase_mlmat.train import TrainConfig, cross_validate, leave_element_out
    from ase_mlmat.yaml_config import parse_key_value_options

    torch.set_num_threads(1)
    overrides = {
        "progress": False,
        "plots": False,
        "epochs": args.epochs,
        "ensemble_size": args.ensemble_size,
        "limit": args.limit,
        "targets": args.targets,
        "group_by": "formula" if args.grouped else None,
    }
    config = TrainConfig.from_yaml(args.config, **overrides)
    if args.model:
        config.model = {**config.model, **parse_key_value_options(args.model)}
        config.validate()
    config.data = [str(ROOT / path) if not Path(path).is_absolute() else path for path in config.data]
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    if args.leave_out:
        reports = [leave_element_out(config, element) for element in args.leave_out]
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"config": config.to_dict(), "leave_out": reports}))
        for r in reports:
            print(json.dumps({k: r[k] for k in ("element", "num_train", "num_test", "mae", "best_epochs")}))
        print(json.dumps({"cpu_minutes": round((time.process_time() - start_cpu) / 60, 2), "report": str(output)}))
        return 0
    report = cross_validate(config, args.k, folds=args.folds)
    report["config"] = config.to_dict()
    report["cpu_minutes"] = (time.process_time() - start_cpu) / 60
    report["wall_minutes"] = (time.perf_counter() - start_wall) / 60
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report))
    summary = report["summary"]
    line = {
        "k": args.k,
        "group_by": config.group_by,
        "folds_run": [f["fold"] for f in report["folds"]],
        "num_structures": report["num_structures"],
        "dropped_non_positive": report["dropped_non_positive"],
        "ensemble_size": config.ensemble_size,
        "epochs": config.epochs,
        "targets": report["targets"],
        **{f"mae_{name.removesuffix('_GPa')}": summary["mae_ensemble"][name] for name in report["targets"]},
        **{
            f"mae_single_member_{name.removesuffix('_GPa')}": summary["mae_single_member"][name]
            for name in report["targets"]
        },
        "fold_std": summary["fold_std_ensemble"],
        "matbench_v0.1_10987_structures": MATBENCH,
        "epochs_run": [f["epochs_run"] for f in report["folds"]],
        "cpu_minutes": round(report["cpu_minutes"], 2),
        "wall_minutes": round(report["wall_minutes"], 2),
        "report": str(output),
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
