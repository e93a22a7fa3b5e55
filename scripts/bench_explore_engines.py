"""Time one iteration's exploration MD with each engine: ASE one segment after another, torch-sim in one batch.

The segments are those of an active-learning config (default ``configs/learn-Cu-EMT.yaml``: its timestep,
temperatures, burn-in and calm steps), run from ``--copies`` rattled copies of its start structure at each of
its temperatures. The committee is the shipped mlearn-Cu and perturbed copies (no training needed); the selection
threshold is lifted so that every segment runs its full length in both engines. Prints one JSON line.

    OMP_NUM_THREADS=1 python scripts/bench_explore_engines.py --copies 1
    OMP_NUM_THREADS=1 python scripts/bench_explore_engines.py --copies 4
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import replace

import numpy as np
import torch

from ase_mlmat import MLCalculator
from ase_mlmat.active import ActiveConfig
from ase_mlmat.active.explore import Segment, explore
from ase_mlmat.active.explore_torchsim import Task, explore_batch
from ase_mlmat.active.loop import ActiveLearner, rattled_copies
from ase_mlmat.model_store import load_model
from ase_mlmat.torchsim import TorchSimModel
from ase_mlmat.workflows.structures import load_structure


def committee(size: int) -> list:
    """mlearn-Cu and ``size - 1`` copies with perturbed weights."""
    model = load_model("mlearn-Cu", kind="potential")
    members = [model]
    generator = torch.Generator().manual_seed(0)
    for _ in range(size - 1):
        other = copy.deepcopy(model)
        with torch.no_grad():
            for parameter in other.parameters():
                parameter.add_(2e-3 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
        members.append(other)
    return members


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/learn-Cu-EMT.yaml")
    parser.add_argument("--copies", type=int, default=1, help="rattled copies of the start structure")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = ActiveConfig.from_yaml(args.config)
    start = load_structure(config.structure, "")
    starts = [start, *rattled_copies(start, args.copies - 1, rattle_A=0.05, strain=0.0, rng=np.random.default_rng(0))]
    bond = ActiveLearner._shortest_bond(start)
    segments = [
        replace(Segment.from_config(config, t, bond), threshold=1e3, abort_threshold=2e3)
        for t in config.exploration.temperatures_K
    ]
    members = committee(config.committee.size)

    def tasks() -> list[Task]:
        jobs = [(atoms, segment) for atoms in starts for segment in segments]
        return [Task(atoms, segment, np.random.default_rng(k)) for k, (atoms, segment) in enumerate(jobs)]

    calculator = MLCalculator(members, device=config.device, dtype=config.dtype)
    model = TorchSimModel(members, device=config.device, dtype=getattr(torch, config.dtype))
    explore_batch(tasks()[:1], model)  # warm-up of both paths
    explore(start, calculator, replace(segments[0], steps=10, equilibration_steps=0))
    t0 = time.perf_counter()
    ase = [explore(t.start, calculator, t.segment, rng=t.rng) for t in tasks()]
    t1 = time.perf_counter()
    batch = explore_batch(tasks(), model)
    t2 = time.perf_counter()
    atom_steps = sum(len(t.start) * run.steps for t, run in zip(tasks(), ase, strict=True))
    assert [run.steps for run in ase] == [run.steps for run in batch]
    print(
        json.dumps(
            {
                "config": args.config,
                "segments": len(ase),
                "atoms": [len(a) for a in starts],
                "steps_per_segment": ase[0].steps,
                "committee": len(members),
                "dtype": config.dtype,
                "ase_s": round(t1 - t0, 2),
                "torchsim_s": round(t2 - t1, 2),
                "ase_atom_steps_per_s": round(atom_steps / (t1 - t0)),
                "torchsim_atom_steps_per_s": round(atom_steps / (t2 - t1)),
            }
        )
    )


if __name__ == "__main__":
    main()
