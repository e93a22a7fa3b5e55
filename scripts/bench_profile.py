"""Where a potential's step goes, and how far it is from the hardware's floor, as one JSON line.

    OMP_NUM_THREADS=1 python scripts/bench_profile.py               # mlearn-Cu on Cu 864, mlearn-Si on Si 1000
    OMP_NUM_THREADS=1 python scripts/bench_profile.py --cases mlearn-Si-accurate:Si:5 --exported
    python scripts/bench_profile.py --device cuda --cases mlearn-Cu:Cu:20   # 32,000 atoms on a GPU

For each case (``model:element:repeat``, a rattled cubic supercell of ``repeat``³ conventional cells) the graph is
built once, then one step = energy + forces + stress of the Python model (``Potential.forward``) is

- **counted**: floating-point operations of every op in the forward and the force/stress backward
  (:class:`torch.utils.flop_counter.FlopCounterMode`; it counts matrix products — the element-wise work is
  reported apart as the bytes it moves);
- **timed**: seconds per step, and with ``--exported`` the same step through the model's AOTInductor package
  (``MLCalculator(compile=True)``'s; compiled into the cache on first use, 20–70 s per model, untimed);
- **profiled**: ``torch.profiler`` self time per op, top ``--top`` ops with their share of the step;
- **bounded**: the floor is max(flops / peak, bytes / bandwidth), with peak = the float32/float64 matrix-product
  rate and bandwidth = the copy rate of a large tensor, both measured on the same device in the same run; the
  bytes are those of the tensors every op writes (``profile_memory``), a floor for an implementation that
  materialises each intermediate once, as eager PyTorch does (a fused kernel moves fewer).

stdout gets one JSON line: ``{"benchmark": "bench_profile", "device": ..., "peak_gflops": ...,
"bandwidth_GBps": ..., "results": [{"model", "n_atoms", "n_edges", "gflop_per_step", "written_MB_per_step",
"flop_floor_ms", "byte_floor_ms", "floor_ms", "python_ms", "python_over_floor", "exported_ms",
"exported_over_floor", "top_ops": [...]}]}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
from ase.build import bulk
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from ase_mlmat import keys
from ase_mlmat.calculator import resolve_dtype
from ase_mlmat.devices import resolve_device
from ase_mlmat.graph import atoms_to_graph
from ase_mlmat.model_store import load_model

DEFAULT_CASES = ("mlearn-Cu:Cu:6", "mlearn-Si:Si:5")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(call, device: torch.device, seconds: float) -> float:
    """Seconds per call, after three warm-up calls, timed until ``seconds`` have passed (at least three calls)."""
    for _ in range(3):
        call()
    synchronize(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 3:
        call()
        count += 1
    synchronize(device)
    return (time.perf_counter() - start) / count


def peak_matmul_gflops(device: torch.device, dtype: torch.dtype) -> float:
    """GFLOP/s of a large square matrix product: the rate the counted flops could run at, at best."""
    n = 1024
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    return 2 * n**3 / seconds_per_call(lambda: a @ b, device, 1.0) / 1e9


def copy_bandwidth_GBps(device: torch.device) -> float:
    """GB/s of copying a 256 MB tensor (read + write): the rate the written bytes could move at, at best."""
    src = torch.empty(2**26, device=device, dtype=torch.float32)
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / seconds_per_call(lambda: dst.copy_(src), device, 1.0) / 1e9


def top_ops(step, device: torch.device, count: int) -> tuple[list[dict], float]:
    """The ops with the most self time over five steps (share of the step, %), and the bytes written per step."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    steps = 5
    with profile(activities=activities, profile_memory=True) as prof:
        for _ in range(steps):
            step()
        synchronize(device)
    events = prof.key_averages()
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    memory = "self_device_memory_usage" if device.type == "cuda" else "self_cpu_memory_usage"
    total = sum(getattr(e, attr) for e in events) or 1.0
    written = sum(max(getattr(e, memory), 0) for e in events) / steps
    ranked = sorted(events, key=lambda e: getattr(e, attr), reverse=True)[:count]
    rows = [
        {"op": e.key, "share_pct": round(100 * getattr(e, attr) / total, 1), "calls_per_step": e.count // steps}
        for e in ranked
    ]
    return rows, written


def compiled_step(model, graph, atoms, device: torch.device, dtype: torch.dtype):
    """The same step through the model's AOTInductor package (built into the cache on first use, untimed)."""
    from ase_mlmat.export.compiled import compiled_potential

    runner = compiled_potential(model, dtype=dtype, device=device)
    inputs = (
        graph[keys.POSITIONS],
        graph[keys.SPECIES],
        graph[keys.EDGE_INDEX],
        graph[keys.CELL_SHIFTS] @ graph[keys.CELL][0],
        len(atoms),
    )
    return lambda: runner(*inputs)


def run_case(spec: str, args, device: torch.device, dtype: torch.dtype, peak: float, bandwidth: float) -> dict:
    name, symbol, repeat = spec.split(":")
    model = load_model(name).to(device=device, dtype=dtype).eval()
    atoms = bulk(symbol, cubic=True).repeat(int(repeat))
    atoms.rattle(0.05, seed=1)
    graph = atoms_to_graph(atoms, model.cutoff, elements=model.elements, dtype=dtype, device=device)

    def step():
        return model(graph, forces=True, stress=True)

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    ops, written = top_ops(step, device, args.top)
    floor = max(flops / (peak * 1e9), written / (bandwidth * 1e9))
    python = seconds_per_call(step, device, args.seconds)
    row = {
        "model": name,
        "n_atoms": len(atoms),
        "n_edges": int(graph[keys.EDGE_INDEX].shape[1]),
        "gflop_per_step": round(flops / 1e9, 4),
        "written_MB_per_step": round(written / 1e6, 1),
        "flop_floor_ms": round(1e3 * flops / (peak * 1e9), 3),
        "byte_floor_ms": round(1e3 * written / (bandwidth * 1e9), 3),
        "floor_ms": round(1e3 * floor, 3),
        "python_ms": round(1e3 * python, 3),
        "python_atom_steps_per_s": round(len(atoms) / python, 1),
        "python_over_floor": round(python / floor, 1),
        "top_ops": ops,
    }
    if args.exported:
        compiled = seconds_per_call(compiled_step(model, graph, atoms, device, dtype), device, args.seconds)
        row.update(
            exported_ms=round(1e3 * compiled, 3),
            exported_atom_steps_per_s=round(len(atoms) / compiled, 1),
            exported_over_floor=round(compiled / floor, 1),
        )
    print(
        f"[bench_profile] {name} n={len(atoms)}: {row['python_ms']} ms/step, floor {row['floor_ms']} ms",
        file=sys.stderr,
    )
    return row


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), help="model:element:repeat (default %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement")
    p.add_argument("--top", type=int, default=12, help="ops listed per case")
    p.add_argument("--exported", action="store_true", help="also time an AOTInductor export of each model")
    args = p.parse_args(argv)
    device, dtype = resolve_device(args.device), resolve_dtype(args.dtype)
    peak, bandwidth = peak_matmul_gflops(device, dtype), copy_bandwidth_GBps(device)
    results = [run_case(spec, args, device, dtype, peak, bandwidth) for spec in args.cases]
    out = {
        "benchmark": "bench_profile",
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "dtype": args.dtype,
        "peak_gflops": round(peak, 1),
        "bandwidth_GBps": round(bandwidth, 1),
        "results": results,
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
