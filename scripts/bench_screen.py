"""Throughput of the fast screening tier (``mlmat screen`` without promotion); prints one JSON line.

Screens the structures of a pymatgen JSON list (default: the 3,953 MP binaries) into a fresh ase.db
with a shipped or given model: graph building, ensemble inference, E, ν, H_v, K_IC, θ_D, α bound and
the database writes all count. Serial on one thread, and with a Dask LocalCluster if ``--workers``.

    OMP_NUM_THREADS=1 python scripts/bench_screen.py
    OMP_NUM_THREADS=1 python scripts/bench_screen.py --workers 2 --limit 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "elastic" / "mp-binary-pbe-elasticity-2025.1.json.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--model", default="mp-binary-kg")
    parser.add_argument("--limit", type=int, help="first N structures only")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, help="also time a Dask LocalCluster with N workers")
    args = parser.parse_args()

    import torch
    from ase.io import write

    from ase_mlmat.data.pymatgen_json import read_pymatgen_json
    from ase_mlmat.properties.ml_moduli import load_moduli_model
    from ase_mlmat.workflows.screening import screen

    torch.set_num_threads(1)
    structures = read_pymatgen_json(args.data)[: args.limit]
    ensemble_size = len(load_moduli_model(args.model))
    line = {
        "structures": len(structures),
        "model": args.model,
        "ensemble_size": ensemble_size,
        "batch_size": args.batch_size,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": 1,
    }
    with tempfile.TemporaryDirectory() as tmp:
        source = str(Path(tmp) / "input.extxyz")
        write(source, structures)
        load_moduli_model(args.model)  # model loading is not part of the throughput
        cpu_start = time.process_time()
        serial = screen(
            [source], str(Path(tmp) / "serial.db"), model=args.model, batch_size=args.batch_size, progress=False
        )
        cpu_seconds = time.process_time() - cpu_start  # what the run cost on a machine shared with others
        line.update(
            serial_seconds=round(serial.seconds, 2),
            serial_cpu_seconds=round(cpu_seconds, 2),
            serial_failed=serial.failed,
            serial_structures_per_hour=round(serial.structures_per_hour),
            serial_structures_per_cpu_hour=round(3600 * serial.screened / cpu_seconds),
        )
        if args.workers:
            from distributed import Client, LocalCluster

            with (
                LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster,
                Client(cluster) as client,
            ):
                client.run(load_moduli_model, args.model)  # warm workers: model loaded once per process
                dask = screen(
                    [source],
                    str(Path(tmp) / "dask.db"),
                    model=args.model,
                    batch_size=args.batch_size,
                    client=client,
                    progress=False,
                )
            line.update(
                workers=args.workers,
                dask_seconds=round(dask.seconds, 2),
                dask_structures_per_hour=round(dask.structures_per_hour),
            )
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
