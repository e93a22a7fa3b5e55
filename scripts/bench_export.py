"""Speed of an exported potential against the Python model, on one prebuilt neighbour list, as one JSON line.

    OMP_NUM_THREADS=1 python scripts/bench_export.py                       # mlearn-Si on Si 512, mlearn-Cu on Cu 256
    OMP_NUM_THREADS=1 python scripts/bench_export.py --cases mlearn-Si-accurate:Si:4 --dtype float64

Each case builds a rattled cubic supercell (``repeat``³ conventional cells) and its graph once, then times
energy + forces + stress (virial) per call of: the Python model (``Potential.forward`` on the graph), the
TorchScript file and the AOTInductor package written by :func:`ase_mlmat.export.export_model`. The
neighbour list is not timed (LAMMPS builds its own). A few warm-up calls, then calls are timed until
``--seconds`` have passed. Export times (seconds) are reported too. stdout gets one JSON line::

    {"benchmark": "bench_export", "torch_threads": 1, "dtype": "float32",
     "results": [{"model": "mlearn-Si", "n_atoms": 512, "n_edges": ..., "format": "aoti",
                  "atom_steps_per_s": ..., "ms_per_step": ..., "export_s": ...}, ...]}
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from ase.build import bulk

from ase_mlmat import keys
from ase_mlmat.calculator import resolve_dtype
from ase_mlmat.export import export_model, load_exported
from ase_mlmat.graph import atoms_to_graph
from ase_mlmat.model_store import load_model


def timed(call, seconds: float) -> float:
    """Seconds per call, after three warm-up calls."""
    for _ in range(3):
        call()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 3:
        call()
        count += 1
    return (time.perf_counter() - start) / count


def bench_case(name: str, symbol: str, repeat: int, dtype: torch.dtype, seconds: float, folder: Path) -> list[dict]:
    model = load_model(name).to(dtype)
    atoms = bulk(symbol, cubic=True).repeat(repeat)
    atoms.rattle(0.05, seed=1)
    graph = atoms_to_graph(atoms, model.cutoff, elements=model.elements, dtype=dtype)
    inputs = (
        graph[keys.POSITIONS],
        graph[keys.SPECIES],
        graph[keys.EDGE_INDEX],
        graph[keys.CELL_SHIFTS] @ graph[keys.CELL][0],
        len(atoms),
    )
    row = {"model": name, "n_atoms": len(atoms), "n_edges": int(graph[keys.EDGE_INDEX].shape[1])}
    per_call = {"python": (timed(lambda: model(graph, forces=True, stress=True), seconds), None)}
    for file_format, suffix in (("torchscript", "pt"), ("aoti", "pt2")):
        start = time.perf_counter()
        path = export_model(name, folder / f"{name}.{suffix}", dtype=dtype, file_format=file_format)
        export_s = time.perf_counter() - start
        exported = load_exported(path)
        per_call[file_format] = (timed(lambda exported=exported: exported(*inputs), seconds), export_s)
    rows = []
    for file_format, (seconds_per_call, export_s) in per_call.items():
        rows.append(
            {
                **row,
                "format": file_format,
                "atom_steps_per_s": round(len(atoms) / seconds_per_call),
                "ms_per_step": round(1e3 * seconds_per_call, 2),
                "export_s": None if export_s is None else round(export_s, 1),
            }
        )
        print(f"{name} {len(atoms)} atoms {file_format}: {rows[-1]['atom_steps_per_s']} atom-steps/s", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["mlearn-Si:Si:4", "mlearn-Cu:Cu:4"], help="MODEL:SYMBOL:REPEAT")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per format and case")
    args = parser.parse_args()
    dtype = resolve_dtype(args.dtype)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases:
            name, symbol, repeat = case.split(":")
            results += bench_case(name, symbol, int(repeat), dtype, args.seconds, Path(folder))
    line = {"benchmark": "bench_export", "torch_threads": torch.get_num_threads(), "dtype": args.dtype}
    print(json.dumps({**line, "results": results}))


if __name__ == "__main__":
    main()
