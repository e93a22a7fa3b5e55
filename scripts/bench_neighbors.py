"""Neighbour-list backends, time and peak memory per call against system size, as one JSON line.

    python scripts/bench_neighbors.py                          # CPU backends; CUDA ones too when available
    python scripts/bench_neighbors.py --sizes 500,4000,32000 --cutoff 5
    python scripts/bench_neighbors.py --sizes 64 --batch 16       # 16 systems of 64 atoms in one batch

Backends: vesin (compiled cell lists, CPU; on CUDA runs the positions go to the host and the pairs
come back, as the calculator does), torch_cells (linked cells in torch) and torch (brute force, O(N²);
skipped above ``--brute-max`` atoms), and where installed vesin_torch (vesin's torch extension, CPU and CUDA)
and torch_sim (torch-sim's batched linked cells, the ``torchsim`` extra). The system is rattled fcc Cu in a cubic
supercell. With ``--batch B`` each case is B copies, rattled differently, searched by ``batch_pairs`` (torch_cells
and torch_sim: one search; the others: one per system), and records add ``n_systems``; ``n_atoms`` is per system.
Each case is timed as the median of ``--repeats`` calls after one warm-up call; on CUDA the clock stops after a
synchronize. Peak memory on CUDA is ``torch.cuda.max_memory_allocated`` during the timed calls.
Ratios are vesin time / other time for the same size and device, measured in this run.

stdout gets exactly one JSON line::

    {"benchmark": "bench_neighbors", "cutoff_A": 5.0, "results": [{"backend": ..., "device": ..., "n_atoms": ...,
     "ms_per_call": ..., "pairs": ..., "peak_mem_MiB": ...}, ...], "ratios": {"vesin/torch_cells cuda n=4000": ...}}
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from ase.build import bulk

from ase_mlmat.graph import NeighborList, TorchCellList, TorchNeighborList, VesinNeighborList
from ase_mlmat.graph.neighbors import VesinTorchNeighborList


class TorchSimCells(NeighborList):
    """torch-sim's batched linked cells (:func:`ase_mlmat.torchsim.torch_sim_pairs`)."""

    name = "torch_sim"

    def pairs(self, positions, cell, pbc, cutoff):
        batch = torch.zeros(len(positions), dtype=torch.long, device=positions.device)
        return self.batch_pairs(positions, cell[None], pbc[None], batch, cutoff)

    def batch_pairs(self, positions, cells, pbcs, batch, cutoff):
        from ase_mlmat.torchsim import torch_sim_pairs

        edge_index, shifts = torch_sim_pairs(positions, cells, pbcs, batch, cutoff)
        return edge_index[0], edge_index[1], shifts


def _backends() -> list[NeighborList]:
    import importlib.util

    backends = [VesinNeighborList(), TorchCellList(), TorchNeighborList()]
    if importlib.util.find_spec("vesin_torch") is not None:
        backends.insert(1, VesinTorchNeighborList())
    if importlib.util.find_spec("torch_sim") is not None:
        backends.append(TorchSimCells())
    return backends


def _system(target_atoms: int, seed: int = 0):
    repeat = max(1, round((target_atoms / 4) ** (1 / 3)))
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (repeat, repeat, repeat)
    atoms.rattle(0.05, seed=seed)
    return atoms


def _time(backend, args, device: torch.device, repeats: int) -> tuple[float, int, float | None]:
    cuda = device.type == "cuda"

    def call():
        out = backend.pairs(*args) if len(args) == 4 else backend.batch_pairs(*args)
        if cuda:
            torch.cuda.synchronize()
        return out

    out = call()  # warm-up
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    return 1e3 * statistics.median(times), len(out[0]), peak


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="500,4000,32000", help="comma-separated target atom counts")
    p.add_argument("--cutoff", type=float, default=5.0, help="Å")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--brute-max", type=int, default=5000, help="largest system for the O(N²) backend")
    p.add_argument("--devices", help="comma-separated (default cpu plus cuda when available)")
    p.add_argument("--batch", type=int, default=1, help="copies of each system searched as one batch (default 1)")
    args = p.parse_args(argv)
    devices = args.devices.split(",") if args.devices else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        copies = [_system(size, seed=k) for k in range(args.batch)]
        atoms = copies[0]
        for name in devices:
            device = torch.device(name)
            tensors = (
                torch.tensor(np.concatenate([a.positions for a in copies]), device=device),
                torch.tensor(np.stack([a.cell.array for a in copies]), device=device),
                torch.tensor(np.stack([a.pbc for a in copies]), device=device),
                torch.arange(args.batch, device=device).repeat_interleave(len(atoms)),
                args.cutoff,
            )
            if args.batch == 1:  # one structure: pairs(positions, cell, pbc, cutoff)
                tensors = (tensors[0], tensors[1][0], tensors[2][0], args.cutoff)
            for backend in _backends():
                if backend.name == "torch" and len(atoms) > args.brute_max:
                    continue
                record = {"backend": backend.name, "device": name, "n_atoms": len(atoms)}
                if args.batch > 1:
                    record["n_systems"] = args.batch
                try:
                    ms, pairs, peak = _time(backend, tensors, device, args.repeats)
                    record.update(ms_per_call=round(ms, 3), pairs=pairs)
                    if peak is not None:
                        record["peak_mem_MiB"] = round(peak, 1)
                except Exception as err:  # e.g. out of memory: recorded, the others still run
                    record["error"] = f"{type(err).__name__}: {err}"[:300]
                results.append(record)
    ratios = {}
    by_key = {(r["backend"], r["device"], r["n_atoms"]): r.get("ms_per_call") for r in results}
    for (backend, device, n), ms in by_key.items():
        reference = by_key.get(("vesin", device, n))
        if backend != "vesin" and ms and reference:
            ratios[f"vesin/{backend} {device} n={n}"] = round(reference / ms, 3)
    print(
        json.dumps(
            {
                "benchmark": "bench_neighbors",
                "cutoff_A": args.cutoff,
                "torch_version": torch.__version__,
                "torch_threads": torch.get_num_threads(),
                "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                "numpy": np.__version__,
                "results": results,
                "ratios": ratios,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
