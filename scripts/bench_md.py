"""MD-style throughput and peak memory of ase-mlmat against peer calculators, as one JSON line.

    python scripts/bench_md.py                      # Si and Cu, ~64 / 512 / 4000 atoms
    python scripts/bench_md.py --quick              # ~64 and 512 atoms only, fewer steps
    python scripts/bench_md.py --sizes 64,1000 --calculators mlmat,emt
    python scripts/bench_md.py --quick --systems Si --calculators mlmat --model-si fast.pt accurate.pt   # two models
    python scripts/bench_md.py --quick --systems Li,Mo --calculators mlmat --model Li=mlearn-Li --model Mo=mlearn-Mo
    OMP_NUM_THREADS=1 python scripts/bench_md.py --quick   # single-threaded CPU numbers
    python scripts/bench_md.py --md --skins 0,1 --sizes 512 --systems Si --calculators mlmat   # Verlet-list skin
    python scripts/bench_md.py --md --calculators mlmat,emt --model-cu mlearn-Cu runs/Cu.pt2   # an `mlmat export` file
    OMP_NUM_THREADS=1 python scripts/bench_md.py --md --threads 1 --compile both --systems Cu,Si --sizes 864,1000
    python scripts/bench_md.py --md --systems Cu --sizes 64 --calculators mlmat,torchsim --batches 1,8,16   # torch-sim

One "step" is what a molecular-dynamics step asks of a calculator: the positions are
rattled slightly (so nothing is served from a cache), then energy, forces and stress are
requested. After a few warm-up steps, N steps are timed, N chosen so that each case takes
about ``--target-seconds`` (steps are timed until that much calculator time has passed,
within ``--min-steps`` / ``--max-steps``). Only the calculator calls are timed, not the rattling.
The rattles stay within ase-mlmat's neighbour-list skin, so its list is searched once and reused.

With ``--md`` a step is instead one ASE velocity Verlet step (``--timestep-fs``; velocities drawn at twice
``--temperature-K`` on the perfect crystal, which then shares the energy with the potential and settles near
that temperature), timed whole: the integrator and one calculator call. There the list is rebuilt as the atoms
move. ``--skins`` runs ase-mlmat once per skin (Å; 0 searches afresh every step), all in one subprocess, a
step of each in turn, so that the machine's changing load falls on each alike; their records give the skin
(``skin_A``), the neighbour searches during the timed steps (``neighbor_builds``) and the time spent making
graphs (``graph_ms_per_step``), and share the process's peak memory. ``--compile both`` steps the eager and the
AOTInductor-compiled model (``MLCalculator(compile=True)``, compiled into the cache before timing) in the same way.

``torchsim`` runs ase-mlmat through torch-sim (:class:`~ase_mlmat.torchsim.TorchSimModel`, the ``torchsim``
extra): ``--batches`` copies of the structure in one state, stepped by torch-sim's batched velocity Verlet
(``--md``, each copy with its own velocities) or called on rattled positions; its records add ``n_systems``, its
atom-steps count every copy, and its ratios to ase-mlmat through ASE on the same device, system, size and skin
are keyed ``"torchsim_<device> <B>x/mlmat_<device> <system> n=<atoms per system> skin=<Å>"``.

Calculators: ase-mlmat (``MLCalculator``, on CPU and, when available, CUDA), ASE's EMT
(Cu only: it has no Si parameters), and CHGNet / SevenNet ("7net-0") when importable.
Each case runs in a fresh subprocess, so its peak memory is its own: on CUDA the
``torch.cuda.max_memory_allocated`` of the case, on CPU the peak resident set size of the
process (VmHWM; it includes the interpreter, the imported libraries and the model, and
``host_base_rss_MiB`` — the resident size just before the first step — is recorded too).

stdout gets exactly one JSON line::

    {"benchmark": "bench_md", "torch_threads": ..., "cpu_count": ..., "cuda": ...,
     "results": [{"calculator": "mlmat", "model": "mlearn-Si", "system": "Si", "n_atoms": 64,
                  "device": "cpu", "atom_steps_per_s": ..., "ms_per_step": ..., "peak_mem_MiB": ...}, ...],
     "ratios": {"mlmat_cpu/emt_cpu Cu n=64": ..., "mlmat_cuda/mlmat_cpu Si n=64": ..., ...}}

A ratio is ours / peer in atom-steps per second, both measured in this run, for the same
system and atom count. EMT has no Si, so Si rows are compared with EMT on Cu at the
closest size under keys marked "(cross-system)". A case that fails gives a record with an
"error" string instead of numbers; a peer that is not installed gives one record
``{"calculator": ..., "error": "ImportError: ..."}``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    from ase import Atoms
    from ase.calculators.calculator import Calculator

RESULT_MARK = "BENCH_MD_RESULT "
SYSTEMS = {  # crystal structure, cubic lattice constant (Å): the mlearn elements
    "Si": ("diamond", 5.43),
    "Cu": ("fcc", 3.61),
    "Ni": ("fcc", 3.52),
    "Li": ("bcc", 3.44),
    "Mo": ("bcc", 3.16),
    "Ge": ("diamond", 5.76),
}
UNTRAINED = {  # used when no trained model is available: same size as the shipped ones
    "Si": {"cutoff": 4.5, "num_features": 48, "num_interactions": 3, "num_basis": 16},
    "Cu": {"cutoff": 4.0, "num_features": 48, "num_interactions": 3, "num_basis": 16},
}
PEERS = ("emt", "chgnet", "sevenn")
PEER_MODULES = {"chgnet": "chgnet", "sevenn": "sevenn", "torchsim": "torch_sim"}
DEFAULT_SIZES = (64, 512, 4000)
QUICK_SIZES = (64, 512)


def log(message: str) -> None:
    print(f"[bench_md] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Structures


def supercell_repeat(target_atoms: int, atoms_per_cell: int) -> tuple[int, int, int]:
    """Repeat (a, b, c), a ≤ b ≤ c, whose atom count is closest to the target, as cubic as possible."""
    n_cells = max(1, round(target_atoms / atoms_per_cell))
    top = round(n_cells ** (1 / 3)) * 2 + 2
    return min(
        itertools.combinations_with_replacement(range(1, top + 1), 3),
        key=lambda r: (abs(r[0] * r[1] * r[2] - n_cells), r[2] / r[0]),
    )


def build_atoms(system: str, target_atoms: int) -> tuple[Atoms, tuple[int, int, int]]:
    """Conventional cubic cell of ``system`` repeated to about ``target_atoms`` atoms, and the repeat."""
    from ase.build import bulk

    structure, a = SYSTEMS[system]
    unit = bulk(system, structure, a=a, cubic=True)
    repeat = supercell_repeat(target_atoms, len(unit))
    return unit.repeat(repeat), repeat


# ---------------------------------------------------------------------------------------------
# Calculators (built inside the case subprocess)


def make_mlmat(case: dict[str, Any]) -> Calculator:
    import torch

    from ase_mlmat import MLCalculator, Potential
    from ase_mlmat.export import ExportedCalculator, is_exported

    spec = case["model"]
    if spec is None:  # no trained model: an untrained one of the same size, for timing only
        torch.manual_seed(0)
        spec = Potential("painn", UNTRAINED[case["system"]], [case["system"]])
    skin = {} if case.get("skin") is None else {"skin": case["skin"]}  # None: the calculator's default
    if isinstance(spec, str) and is_exported(spec):  # `mlmat export` file: its dtype and device are its own
        return ExportedCalculator(spec, **skin)
    compile = bool(case.get("compile"))  # a first use compiles into the cache, before any timing
    return MLCalculator(spec, device=case["device"], dtype=case["dtype"], compile=compile, **skin)


def make_calculator(case: dict[str, Any]) -> Calculator:
    name, device = case["calculator"], case["device"]
    if name == "mlmat":
        return make_mlmat(case)
    if name == "emt":
        from ase.calculators.emt import EMT

        return EMT()
    if name == "chgnet":
        from chgnet.model.dynamics import CHGNetCalculator

        return CHGNetCalculator(use_device=device)
    if name == "sevenn":
        from sevenn.calculator import SevenNetCalculator

        return SevenNetCalculator(model="7net-0", device=device)
    raise ValueError(f"unknown calculator {name!r}")


# ---------------------------------------------------------------------------------------------
# Measuring (inside the case subprocess)


def proc_status_mib(field: str) -> float | None:
    """``VmHWM`` / ``VmRSS`` of this process in MiB, from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def host_peak_mib() -> float:
    """Peak resident set size of this process, MiB (VmHWM, else ru_maxrss)."""
    peak = proc_status_mib("VmHWM")
    if peak is not None:
        return peak
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes on macOS, kB on Linux


def host_rss_mib() -> float | None:
    rss = proc_status_mib("VmRSS")
    if rss is None:
        try:
            import psutil

            rss = psutil.Process().memory_info().rss / 2**20
        except ImportError:
            pass
    return rss


def timed_step(atoms: Atoms, reference: np.ndarray, rng: np.random.Generator, stdev: float) -> float:
    """Rattle around the reference positions, then time energy + forces + stress."""
    atoms.positions = reference + rng.normal(scale=stdev, size=reference.shape)
    start = time.perf_counter()
    atoms.get_potential_energy()
    atoms.get_forces()
    atoms.get_stress()
    return time.perf_counter() - start


def timed_md_step(dynamics) -> float:
    """Time one velocity Verlet step: the integrator and one calculator call."""
    start = time.perf_counter()
    dynamics.step()
    return time.perf_counter() - start


def time_graphs(owner) -> dict[str, float]:
    """Make ``owner.graph`` (ase-mlmat's neighbour list, or the torch-sim model) add its seconds to the returned
    dict (on CUDA, the time to queue the work)."""
    spent = {"seconds": 0.0}
    graph = owner.graph

    def timed(atoms):
        start = time.perf_counter()
        try:
            return graph(atoms)
        finally:
            spent["seconds"] += time.perf_counter() - start

    owner.graph = timed
    return spent


def make_step(atoms: Atoms, case: dict[str, Any]) -> Callable[[], float]:
    """The timed step of the case on ``atoms``: a rattle and a calculator call, or a velocity Verlet step."""
    import numpy as np

    rng = np.random.default_rng(0)  # each variant gets the same rattles or the same velocities
    if not case["md"]:
        reference = atoms.positions.copy()
        return lambda: timed_step(atoms, reference, rng, case["rattle"])
    from ase import units
    from ase.md.velocitydistribution import Stationary, thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    thermalize_momenta(atoms, 2 * case["temperature_K"], rng=rng)
    Stationary(atoms)
    dynamics = VelocityVerlet(atoms, timestep=case["timestep_fs"] * units.fs)
    return lambda: timed_md_step(dynamics)


def make_torchsim_step(start: Atoms, case: dict[str, Any]):
    """``case["batch"]`` copies of ``start`` as one torch-sim state; (the model, its timed step).

    The step is one step of torch-sim's batched velocity Verlet with :class:`~ase_mlmat.torchsim.TorchSimModel`
    (``--md``: velocities drawn per copy as for ASE), or a rattle of every copy and one call of the model (energy,
    forces and stress of the whole batch). On CUDA the device is synchronised before the clock stops.
    """
    import numpy as np
    import torch
    import torch_sim as ts
    from ase import units
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    from ase_mlmat import Potential
    from ase_mlmat.torchsim import TorchSimModel

    device, dtype = torch.device(case["device"]), getattr(torch, case["dtype"])
    spec = case["model"]
    if spec is None:
        torch.manual_seed(0)
        spec = Potential("painn", UNTRAINED[case["system"]], [case["system"]])
    skin = {} if case.get("skin") is None else {"skin": case["skin"]}
    model = TorchSimModel(spec, device=device, dtype=dtype, **skin)
    copies = [start.copy() for _ in range(case["batch"])]
    rng = np.random.default_rng(0)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if not case["md"]:
        state = ts.io.atoms_to_state(copies, device, dtype)
        reference = state.positions.clone()
        generator = torch.Generator(device=device).manual_seed(0)

        def rattle_step() -> float:
            noise = torch.randn(reference.shape, generator=generator, device=device, dtype=dtype)
            state.positions = reference + case["rattle"] * noise
            sync()
            begin = time.perf_counter()
            model(state)
            sync()
            return time.perf_counter() - begin

        return model, rattle_step
    for atoms in copies:
        thermalize_momenta(atoms, 2 * case["temperature_K"], rng=rng)
        Stationary(atoms)
    dt = torch.tensor(case["timestep_fs"] * units.fs, device=device, dtype=dtype)
    init, update = ts.nve(model, dt=dt, kT=torch.zeros((), device=device, dtype=dtype))
    md_state = init(ts.io.atoms_to_state(copies, device, dtype))
    md_state.momenta = torch.tensor(np.concatenate([a.get_momenta() for a in copies]), device=device, dtype=dtype)
    box = [md_state]

    def md_step() -> float:
        sync()
        begin = time.perf_counter()
        box[0] = update(box[0])
        sync()
        return time.perf_counter() - begin

    return model, md_step


def run_case(case: dict[str, Any]) -> list[dict[str, Any]]:
    """Build, warm up, time; the records of one (calculator, system, size, device), one per variant of ase-mlmat.

    The variants (skins × eager/compiled) are stepped in turn in this one process (the order reversed every step),
    so that a change in the machine's load falls on each alike; their peak memory is that of the process running
    them all.
    """
    uses_torch = case["calculator"] != "emt"
    if uses_torch:
        import torch

        if case["threads"]:
            torch.set_num_threads(case["threads"])
    start, repeat = build_atoms(case["system"], case["target_atoms"])
    cuda = case["device"].startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    mlmat = case["calculator"] in ("mlmat", "torchsim")
    copies = case["batch"] if case["calculator"] == "torchsim" else 1
    lists, steps = [], []  # per variant: what makes the graphs (ase-mlmat only), the timed step
    variants = case.get("variants") or [(None, False)]
    for skin, compile in variants:
        if case["calculator"] == "torchsim":
            model, step = make_torchsim_step(start, {**case, "skin": skin})
            lists.append(model)
        else:
            atoms = start.copy()
            atoms.calc = make_calculator({**case, "skin": skin, "compile": compile})
            lists.append(atoms.calc.neighbors if mlmat else None)
            step = make_step(atoms, case)
        steps.append(step)
    base_rss = host_rss_mib()
    for _ in range(case["warmup"]):
        for step in steps:
            step()
    if mlmat:
        builds_before = [owner.builds for owner in lists]
        graph_time = [time_graphs(owner) for owner in lists]
    n_steps, elapsed = 0, [0.0] * len(steps)  # N: steps until target_seconds of calculator time (the mean of the
    while n_steps < case["min_steps"] or (  # variants), within [min_steps, max_steps]
        sum(elapsed) / len(steps) < case["target_seconds"] and n_steps < case["max_steps"]
    ):
        for k in range(len(steps))[:: 1 if n_steps % 2 == 0 else -1]:
            elapsed[k] += steps[k]()
        n_steps += 1
    common = {
        "n_atoms": len(start),
        **({"n_systems": copies} if case["calculator"] == "torchsim" else {}),
        "supercell": f"{'x'.join(map(str, repeat))} conventional cubic cells",
        "n_steps": n_steps,
        "host_peak_rss_MiB": round(host_peak_mib(), 1),
        "host_base_rss_MiB": None if base_rss is None else round(base_rss, 1),
    }
    if cuda:
        common["peak_mem_MiB"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        common["peak_mem_kind"] = "cuda_max_memory_allocated"
        common["gpu"] = torch.cuda.get_device_name()
    else:
        common["peak_mem_MiB"] = common["host_peak_rss_MiB"]
        common["peak_mem_kind"] = "host_peak_rss(VmHWM)"
    if uses_torch:
        common["torch_threads"] = torch.get_num_threads()
    records = []
    for k, seconds in enumerate(elapsed):
        record = {
            **common,
            "seconds": round(seconds, 4),
            "atom_steps_per_s": round(copies * len(start) * n_steps / seconds, 2),
            "ms_per_step": round(1000 * seconds / n_steps, 3),
        }
        if mlmat:
            neighbors = lists[k]
            record["skin_A"] = neighbors.skin
            record["compiled"] = variants[k][1]
            record["neighbor_builds"] = neighbors.builds - builds_before[k]
            record["graph_ms_per_step"] = round(1000 * graph_time[k]["seconds"] / n_steps, 3)
        records.append(record)
    return records


def case_main(case_json: str) -> None:
    """Subprocess entry point: print the case's records (or its error) after RESULT_MARK."""
    case = json.loads(case_json)
    try:
        records = run_case(case)
    except Exception as err:  # a failing peer must not crash the benchmark
        records = [{"error": f"{type(err).__name__}: {err}"}]
    print(RESULT_MARK + json.dumps(records), flush=True)


# ---------------------------------------------------------------------------------------------
# Driver


def run_in_subprocess(case: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
    """Run one case in a fresh interpreter, its records (one error record if it failed); other stdout to stderr."""
    cmd = [sys.executable, os.path.abspath(__file__), "--case", json.dumps(case)]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [{"error": f"timed out after {timeout:.0f} s"}]
    records = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            records = json.loads(line[len(RESULT_MARK) :])
        elif line.strip():
            print(line, file=sys.stderr)
    if records is None:
        return [{"error": f"case subprocess exited with status {proc.returncode} and no result"}]
    return records


def resolve_mlmat_model(system: str, override: str | None) -> tuple[str | None, str, bool]:
    """(spec for MLCalculator or None for untrained, name to record, untrained?).

    An explicit ``--model-<system>`` (a shipped name or a path) wins; then the shipped ``mlearn-<system>``; then
    an untrained model of the same size (timing is unaffected by the weights).
    """
    from ase_mlmat import pretrained

    if override:
        # cases run in subprocesses: a path is made absolute, a shipped name is passed on as it is
        spec = override if override in pretrained.available() else os.path.abspath(override)
        return spec, override, False

    name = f"mlearn-{system}"
    if name in pretrained.available():
        return name, name, False
    return None, f"untrained painn ({name} not shipped)", True


def peer_missing(name: str) -> str | None:
    """Why a peer calculator cannot be run here (None when it can be tried)."""
    module = PEER_MODULES.get(name)
    if module is not None and importlib.util.find_spec(module) is None:
        return f"ImportError: {module} is not installed"
    return None


def plan_cases(args: argparse.Namespace, devices: list[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(case for the subprocess, fields recorded with each of its results: one per skin), in run order."""
    common = {
        "warmup": args.warmup,
        "min_steps": args.min_steps,
        "max_steps": args.max_steps,
        "target_seconds": args.target_seconds,
        "rattle": args.rattle,
        "threads": args.threads,
        "dtype": args.dtype,
        "md": args.md,
        "temperature_K": args.temperature_K,
        "timestep_fs": args.timestep_fs,
    }
    overrides = {"Si": args.model_si, "Cu": args.model_cu}
    for system, spec in args.model:
        overrides[system] = [*(overrides.get(system) or []), spec]
    plan = []
    for system in args.systems:
        models = [resolve_mlmat_model(system, path) for path in overrides.get(system) or [None]]
        for size, calc in itertools.product(args.sizes, args.calculators):
            if calc == "emt" and system != "Cu":
                continue
            ours = calc in ("mlmat", "torchsim")
            batches = args.batches if calc == "torchsim" else [None]
            for device, batch in itertools.product(["cpu"] if calc == "emt" else devices, batches):
                for model, model_name, untrained in models if ours else [(None, None, False)]:
                    case = {**common, "calculator": calc, "system": system, "target_atoms": size, "device": device}
                    meta = {"calculator": calc, "system": system, "target_atoms": size, "device": device}
                    if ours:
                        compiles = args.compile if calc == "mlmat" else [False]
                        case.update(model=model, variants=list(itertools.product(args.skins, compiles)), batch=batch)
                        meta.update(model=model_name, untrained=untrained, dtype=args.dtype)
                    else:
                        meta["model"] = {"emt": "ASE EMT", "chgnet": "CHGNet (default)", "sevenn": "7net-0"}[calc]
                    plan.append((case, meta))
    return plan


def run_all(args: argparse.Namespace, devices: list[str]) -> list[dict[str, Any]]:
    missing = {c: why for c in args.calculators if (why := peer_missing(c))}
    results: list[dict[str, Any]] = [{"calculator": c, "error": why} for c, why in missing.items()]
    for case, meta in plan_cases(args, devices):
        if meta["calculator"] in missing:
            continue
        label = f"{meta['calculator']} {meta['system']} ~{meta['target_atoms']} atoms on {meta['device']}"
        label += f", {case['batch']} systems batched" if case.get("batch") else ""
        log(f"running {label}")
        records = run_in_subprocess(case, args.case_timeout)
        if len(records) == 1:  # one variant, or an error that stands for every variant
            records *= len(case.get("variants") or [None])
        for part in records:
            record = {**meta, **part}
            if "error" in record:
                log(f"  failed: {record['error']}")
            else:
                skin = f" (skin {record['skin_A']} Å)" if "skin_A" in record else ""
                skin += " compiled" if record.get("compiled") else ""
                log(
                    f"  n={record['n_atoms']}{skin}: {record['atom_steps_per_s']:.0f} atom-steps/s, "
                    f"{record['ms_per_step']:.1f} ms/step, peak {record['peak_mem_MiB']:.0f} MiB"
                )
            results.append(record)
    return results


def compute_ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    """ours / peer atom-steps-per-second for the same system and size (same device for ML peers).

    With several ase-mlmat models or skins for one system, the first is compared with the peers and each
    further one with the first, under ``"mlmat <model>/mlmat <first model> <device> <system> n=<n>"``, or
    ``"mlmat skin=<s>/mlmat skin=<first s> ..."`` or ``"mlmat compiled/mlmat eager ..."`` (all that differ);
    each further one is also compared with EMT (``"mlmat compiled cpu/emt_cpu Cu n=864"``).
    """
    ok = [r for r in results if "atom_steps_per_s" in r]
    ratios = torchsim_ratios(ok)
    ok = [r for r in ok if r["calculator"] != "torchsim"]
    first: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in ok:
        if r["calculator"] != "mlmat":
            continue
        key = (r["device"], r["system"], r["n_atoms"])
        if key not in first:
            first[key] = r
        elif variant(r) != variant(first[key]):
            differ = [(a, b) for a, b in zip(variant(r), variant(first[key])) if a != b]
            ours, base = (" ".join(parts) for parts in zip(*differ))
            label = f"mlmat {ours}/mlmat {base} {r['device']} {r['system']} n={r['n_atoms']}"
            ratios[label] = round(r["atom_steps_per_s"] / first[key]["atom_steps_per_s"], 3)
            for peer in ok:  # a variant against the classical peer too (EMT is the floor to beat on one thread)
                if peer["calculator"] == "emt" and peer["system"] == r["system"] and peer["n_atoms"] == r["n_atoms"]:
                    label = f"mlmat {ours} {r['device']}/emt_cpu {r['system']} n={r['n_atoms']}"
                    ratios[label] = round(r["atom_steps_per_s"] / peer["atom_steps_per_s"], 3)
    ok = [r for r in ok if r["calculator"] != "mlmat" or first[(r["device"], r["system"], r["n_atoms"])] is r]
    rate = {(r["calculator"], r["device"], r["system"], r["n_atoms"]): r["atom_steps_per_s"] for r in ok}
    for (calc, device, system, n), ours in rate.items():
        if calc != "mlmat":
            continue
        for (peer, peer_device, peer_system, peer_n), theirs in rate.items():
            if peer == "mlmat" or peer_system != system or peer_n != n:
                continue
            if peer == "emt" or peer_device == device:
                ratios[f"mlmat_{device}/{peer}_{peer_device} {system} n={n}"] = round(ours / theirs, 3)
        if device != "cpu" and ("mlmat", "cpu", system, n) in rate:
            ratios[f"mlmat_{device}/mlmat_cpu {system} n={n}"] = round(ours / rate[("mlmat", "cpu", system, n)], 3)
        ratios.update(cross_system_emt(calc, device, system, n, ours, rate))
    return ratios


def torchsim_ratios(ok: list[dict[str, Any]]) -> dict[str, float]:
    """torch-sim batched / ase-mlmat through ASE, same device, system, atoms per system and skin (first model)."""
    ase_rate = {}
    for r in ok:
        if r["calculator"] == "mlmat":
            ase_rate.setdefault((r["device"], r["system"], r["n_atoms"], r.get("skin_A")), r["atom_steps_per_s"])
    ratios = {}
    for r in ok:
        key = (r["device"], r["system"], r["n_atoms"], r.get("skin_A"))
        if r["calculator"] == "torchsim" and key in ase_rate:
            label = f"torchsim_{r['device']} {r['n_systems']}x/mlmat_{r['device']} {r['system']} n={r['n_atoms']}"
            ratios[label + f" skin={r['skin_A']}"] = round(r["atom_steps_per_s"] / ase_rate[key], 3)
    return ratios


def variant(record: dict[str, Any]) -> tuple[str, str]:
    """What tells apart two ase-mlmat records of one case: (model, "skin=<Å>", "eager" | "compiled")."""
    return str(record["model"]), f"skin={record.get('skin_A')}", "compiled" if record.get("compiled") else "eager"


def cross_system_emt(
    calc: str, device: str, system: str, n: int, ours: float, rate: dict[tuple[str, str, str, int], float]
) -> dict[str, float]:
    """EMT has no Si: compare with EMT on Cu at the closest atom count, under a key that says so."""
    emt = {key[3]: value for key, value in rate.items() if key[0] == "emt" and key[2] == "Cu"}
    if system == "Cu" or not emt:
        return {}
    emt_n = min(emt, key=lambda m: abs(m - n))
    return {f"{calc}_{device} {system} n={n}/emt_cpu Cu n={emt_n} (cross-system)": round(ours / emt[emt_n], 3)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="~64 and 512 atoms only, shorter timing")
    p.add_argument("--sizes", help="comma-separated target atom counts (default 64,512,4000; --quick 64,512)")
    p.add_argument("--systems", default="Si,Cu", help="comma-separated, from Si,Cu,Ni,Li,Mo,Ge (default Si,Cu)")
    p.add_argument("--calculators", default="mlmat,emt,chgnet,sevenn", help="comma-separated subset to run")
    p.add_argument("--devices", help="comma-separated, default cpu plus cuda when available")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="dtype of ase-mlmat")
    p.add_argument("--model-si", nargs="+", help="ase-mlmat checkpoint(s) for Si (default: shipped mlearn-Si)")
    p.add_argument("--model-cu", nargs="+", help="ase-mlmat checkpoint(s) for Cu (default: shipped mlearn-Cu)")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="EL=SPEC",
        help="an ase-mlmat model for system EL (shipped name, checkpoint or exported file); repeat for several",
    )
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads in each case (0: torch default)")
    p.add_argument("--target-seconds", type=float, help="timed seconds per case (default 4; --quick 1)")
    p.add_argument("--warmup", type=int, help="untimed warm-up steps, at least 1 (default 3; --quick 1)")
    p.add_argument("--min-steps", type=int, help="fewest timed steps (default 3; --quick 2)")
    p.add_argument("--max-steps", type=int, default=2000, help="most timed steps (default 2000)")
    p.add_argument("--rattle", type=float, default=0.01, help="Å, std of the per-step position noise")
    p.add_argument("--md", action="store_true", help="time ASE velocity Verlet steps instead of rattles")
    p.add_argument("--temperature-K", type=float, default=300.0, help="K, temperature of --md (default 300)")
    p.add_argument("--timestep-fs", type=float, default=2.0, help="fs, time step of --md (default 2)")
    p.add_argument(
        "--batches", default="1", help="torchsim: comma-separated numbers of copies batched in one state (default 1)"
    )
    p.add_argument("--skins", help="comma-separated neighbour-list skins of ase-mlmat, Å (default: its default)")
    p.add_argument(
        "--compile",
        default="off",
        choices=["off", "on", "both"],
        help="ase-mlmat eager, AOTInductor-compiled (MLCalculator(compile=True)), or both in one run",
    )
    p.add_argument("--case-timeout", type=float, default=600, help="seconds before a case is abandoned")
    p.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case (JSON) in this process
    args = p.parse_args(argv)
    if args.case:
        return args
    args.sizes = (
        [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    )
    args.systems = [s.strip() for s in args.systems.split(",")]
    args.skins = [float(s) for s in args.skins.split(",")] if args.skins else [None]
    args.compile = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    args.calculators = [c.strip() for c in args.calculators.split(",")]
    args.batches = [int(b) for b in args.batches.split(",")]
    for s in args.systems:
        if s not in SYSTEMS:
            p.error(f"unknown system {s!r}; choose from {sorted(SYSTEMS)}")
    models = []
    for item in args.model:
        system, _, spec = item.partition("=")
        if system not in SYSTEMS or not spec:
            p.error(f"--model takes EL=SPEC with EL one of {sorted(SYSTEMS)}, got {item!r}")
        models.append((system, spec))
    args.model = models
    for c in args.calculators:
        if c not in ("mlmat", "torchsim", *PEERS):
            p.error(f"unknown calculator {c!r}")
    defaults = {"target_seconds": (4.0, 1.0), "warmup": (3, 1), "min_steps": (3, 2)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.warmup = max(1, args.warmup)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.case:
        case_main(args.case)
        return
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    devices = [d.strip() for d in args.devices.split(",")] if args.devices else ["cpu"] + (["cuda"] if cuda else [])
    results = run_all(args, devices)
    out = {
        "benchmark": "bench_md",
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpu_count": os.cpu_count(),
        "cuda": torch.cuda.get_device_name() if cuda else None,
        "quick": args.quick,
        "step": (
            f"one ASE velocity Verlet step of {args.timestep_fs} fs (forces; energy and stress made alongside)"
            if args.md
            else "rattle positions, then energy + forces + stress"
        ),
        "results": results,
        "ratios": compute_ratios(results),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
