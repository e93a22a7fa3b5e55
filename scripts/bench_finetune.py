"""Fine-tuning demo: a shipped potential adapted to a new reference (EMT copper) with 30 structures.

Builds 40 EMT copper structures (rattled and strained bulk, a vacancy, a (111) slab; fixed seed), trains on 30
and reports on the other 10 the energy (meV/atom) and force (eV/Å) MAE of
(a) ``mlearn-Cu`` zero-shot, (b) fine-tuned from it, (c) trained from scratch with the same architecture and
epochs. EMT's energy zero is not DFT's, so zero-shot energies are scored after the per-element reference
energies are refitted on the 30 training structures (the first step of fine-tuning; no gradient step); the raw
zero-shot energy error is reported too. Forces need no such shift. All runs use the trainer's default
EMA of the weights (``--ema-decay 0`` turns it off). One JSON line on stdout.

    python scripts/bench_finetune.py --quick      # under 2 minutes on one core
    python scripts/bench_finetune.py              # the full demo
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk, fcc111
from ase.calculators.emt import EMT

from ase_mlmat.calculator import load_model
from ase_mlmat.data import Labels, train_val_split
from ase_mlmat.train import TrainConfig
from ase_mlmat.train.api import build_model, fit
from ase_mlmat.train.metrics import error_metrics, predict_graphs
from ase_mlmat.train.targets import labelled_graphs

PRETRAINED = "mlearn-Cu"


def emt_copper(count: int = 40, seed: int = 0) -> tuple[list[Atoms], list[Labels]]:
    """``count`` EMT copper structures: strained, rattled bulk (2/5), vacancy cells (3/10), (111) slabs (3/10)."""
    rng = np.random.default_rng(seed)
    structures, labels = [], []
    for k in range(count):
        kind = k % 10
        if kind < 4:
            atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
        elif kind < 7:
            atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
            del atoms[int(rng.integers(len(atoms)))]
        else:
            atoms = fcc111("Cu", size=(2, 2, 4), a=3.6, vacuum=6.0, periodic=True)
        strain = np.eye(3) + rng.normal(0.0, 0.02, (3, 3))
        atoms.set_cell(atoms.cell @ (strain + strain.T) / 2, scale_atoms=True)
        atoms.rattle(stdev=rng.uniform(0.03, 0.12), seed=int(rng.integers(1 << 31)))
        atoms.calc = EMT()
        labels.append(Labels(atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
        atoms.calc = None
        structures.append(atoms)
    return structures, labels


def _errors(model, structures, labels) -> dict[str, float]:
    graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    metrics = error_metrics(predict_graphs(model.double(), graphs, dtype=torch.float64))
    return {
        "energy_mae_meV_per_atom": round(metrics["energy_mae_meV_per_atom"], 2),
        "forces_mae_eV_per_A": round(metrics["forces_mae_eV_per_A"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (under 2 minutes)")
    parser.add_argument("--epochs", type=int, help="epochs of (b) and (c); default 8 quick, 60 full")
    parser.add_argument("--finetune-lr", type=float, default=TrainConfig().finetune_learning_rate)
    parser.add_argument("--ema-decay", type=float, default=TrainConfig().ema_decay, help="EMA of (b) and (c)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    epochs = args.epochs or (8 if args.quick else 60)
    structures, labels = emt_copper(40, args.seed)
    order = np.random.default_rng(args.seed).permutation(len(structures))
    train_idx, test_idx = order[:30], order[30:]
    inner_train, inner_val = train_val_split(len(train_idx), 0.2, args.seed)
    tr, va = train_idx[inner_train], train_idx[inner_val]
    pick = lambda idx: ([structures[i] for i in idx], [labels[i] for i in idx])  # noqa: E731
    (train_s, train_l), (val_s, val_l), (test_s, test_l) = pick(tr), pick(va), pick(test_idx)
    fit_s, fit_l = pick(train_idx)

    pretrained = load_model(PRETRAINED)
    common = dict(epochs=epochs, batch_size=4, ema_decay=args.ema_decay, scheduler="cosine", seed=args.seed)
    common.update(device="cpu", val_fraction=0.2, progress=False, plots=False)
    finetune = TrainConfig.from_dict({**common, "init_from": PRETRAINED, "finetune_learning_rate": args.finetune_lr})
    scratch = TrainConfig.from_dict({**common, "model": dict(pretrained.config)})

    report = {"pretrained": PRETRAINED, "reference": "EMT", "num_train": 30, "num_test": 10, "epochs": epochs}
    report["ema_decay"] = args.ema_decay
    report["zero_shot_raw"] = _errors(load_model(PRETRAINED), test_s, test_l)
    report["zero_shot"] = _errors(build_model(finetune, fit_s, fit_l), test_s, test_l)  # refit, no gradient step
    for name, config in (("fine_tuned", finetune), ("from_scratch", scratch)):
        start = time.process_time()
        result = fit(config, train_s, train_l, val_s, val_l)
        report[name] = {
            **_errors(result.model, test_s, test_l),
            "learning_rate": config.learning_rate,
            "best_epoch": result.history.best_epoch,
            "cpu_s": round(time.process_time() - start, 1),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
