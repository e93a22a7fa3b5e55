"""Exploration segments of many start structures as one batched torch-sim MD run (``exploration.engine: torchsim``).

Every segment of an iteration — each start structure at each temperature — integrates in one torch-sim state with the
committee as a :class:`~ase_mlmat.torchsim.TorchSimModel`: torch-sim's Langevin integrator (BAOAB; with
``friction_per_fs: 0`` it is velocity Verlet, NVE), each system at its own temperature, the net momentum of every
system taken out after each step as :class:`~ase.constraints.FixCom` does in the ASE path. The frames are watched by
the same :class:`~ase_mlmat.active.explore.Watch` as :func:`~ase_mlmat.active.explore.explore`, at the same steps, so
candidates, aborts and unphysical frames follow the same rules; a segment that ends leaves the batch and the others go
on. Initial momenta are drawn as in the ASE path, from each segment's own random generator, so an NVE batch follows
the ASE trajectories to rounding. The Langevin noise comes from torch's generator, seeded by ``seed`` inside a forked
random state (the caller's is left as it was): its trajectories are statistically, not numerically, the ASE ones.

The positions stay on the device between checks; at a check (every ``check_interval`` steps) the systems checked
are copied to the host as ASE frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from ase import Atoms, units
from ase.constraints import FixCom

from .explore import Exploration, Segment, Watch, initial_frame

if TYPE_CHECKING:
    from ..torchsim import TorchSimModel


@dataclass
class Task:
    """One segment to run: from ``start`` (with momenta when ``thermalize`` is False), drawing from ``rng``."""

    start: Atoms
    segment: Segment
    rng: np.random.Generator
    thermalize: bool = True


def explore_batch(tasks: Sequence[Task], model: TorchSimModel, *, seed: int = 0) -> list[Exploration]:
    """Run every task's segment in one torch-sim batch with ``model``, a committee :class:`TorchSimModel`.

    Args:
        tasks: the segments; all with the same timestep. Systems periodic in every direction and systems periodic
            in none run as separate batches (torch-sim 0.3 has one periodicity flag per state).
        seed: of the Langevin noise.

    Returns:
        one :class:`Exploration` per task, in order.
    """
    if len({task.segment.timestep_fs for task in tasks}) > 1:
        raise ValueError("the segments of one batch need the same timestep_fs")
    frames = [initial_frame(t.start, t.segment, t.rng, thermalize=t.thermalize) for t in tasks]
    groups: dict[bool, list[int]] = {}
    for k, atoms in enumerate(frames):
        if not batchable(atoms):
            raise ValueError(
                f"{atoms.get_chemical_formula()} is periodic along some directions only: torch-sim 0.3 takes systems "
                f"periodic in all directions or in none (use exploration.engine: ase)"
            )
        groups.setdefault(bool(atoms.pbc.all()), []).append(k)
    results: list[Exploration | None] = [None] * len(tasks)
    for offset, indices in enumerate(groups.values()):
        watches = [Watch(tasks[k].segment, thermalize=tasks[k].thermalize) for k in indices]
        _run(model, [frames[k] for k in indices], watches, seed + offset)
        for k, watch in zip(indices, watches, strict=True):
            results[k] = watch.result
    return results


def batchable(atoms: Atoms) -> bool:
    """Whether torch-sim 0.3 can integrate ``atoms``: periodic in all directions or in none."""
    return bool(atoms.pbc.all() or not atoms.pbc.any())


class _Spread(torch.nn.Module):
    """The committee model, keeping its latest output (the spreads, which torch-sim's states do not keep)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.device, self.dtype = model.device, model.dtype
        self.last: dict[str, torch.Tensor] = {}

    def forward(self, state, **kwargs) -> dict[str, torch.Tensor]:
        self.last = self.model(state, **kwargs)
        return self.last


def _run(model, frames: list[Atoms], watches: list[Watch], seed: int) -> None:
    """Integrate ``frames`` in one batch until every watch is done."""
    from torch_sim.integrators.md import MDState
    from torch_sim.integrators.nvt import nvt_langevin
    from torch_sim.io import atoms_to_state
    from torch_sim.state import concatenate_states

    device, dtype = model.device, model.dtype
    spread = _Spread(model)
    segments = [w.segment for w in watches]
    dt = torch.tensor(segments[0].timestep_fs * units.fs, device=device, dtype=dtype)
    kT_all = torch.tensor([units.kB * s.temperature_K for s in segments], device=device, dtype=dtype)  # (B,) eV
    gamma_all = torch.tensor([s.friction_per_fs / units.fs for s in segments], device=device, dtype=dtype)
    _, update = nvt_langevin(spread, dt=dt, kT=kT_all, gamma=gamma_all)

    def start_state(atoms_list: list[Atoms]) -> MDState:
        base = atoms_to_state(atoms_list, device=device, dtype=dtype)
        out = spread(base)
        momenta = np.concatenate([a.get_momenta() for a in atoms_list])
        return MDState(
            positions=base.positions,
            momenta=torch.tensor(momenta, device=device, dtype=dtype),
            energy=out["energy"],
            forces=out["forces"],
            masses=base.masses,
            cell=base.cell,
            pbc=base.pbc,
            system_idx=base.system_idx,
            atomic_numbers=base.atomic_numbers,
        )

    def advance(state: MDState, active: list[int], steps: int) -> tuple[MDState, dict[str, torch.Tensor]]:
        kT, gamma = kT_all[active], gamma_all[active]
        masses = state.masses.unsqueeze(1)
        n_systems = len(active)
        total_mass = torch.zeros(n_systems, device=device, dtype=dtype).index_add_(0, state.system_idx, state.masses)
        for _ in range(steps):
            state = update(state, kT=kT, gamma=gamma)
            # FixCom: no net momentum per system (the noise adds some; velocity Verlet keeps it at zero)
            net = torch.zeros(n_systems, 3, device=device, dtype=dtype).index_add_(0, state.system_idx, state.momenta)
            state.momenta = state.momenta - masses * (net / total_mass.unsqueeze(1))[state.system_idx]
        return state, spread.last

    active = [k for k, w in enumerate(watches) if not w.done]  # the watches of the state's systems, in order
    since = [0] * len(watches)  # MD steps since each system's last check
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else [], device_type=device.type):
        torch.manual_seed(seed)
        try:
            state = start_state([frames[k] for k in active]) if active else None
        except (ValueError, FloatingPointError, RuntimeError):  # a start the model refuses: leave it out
            states = []
            for k in active:
                try:
                    states.append(start_state([frames[k]]))
                except (ValueError, FloatingPointError, RuntimeError) as err:
                    watches[k].fail(f"md_error: {type(err).__name__}: {err}")
            active = [k for k in active if not watches[k].done]
            state = concatenate_states(states) if states else None
        while active:
            steps = min(watches[k].next_chunk() - since[k] for k in active)
            before = state.clone()
            try:
                parts = [(*advance(state, active, steps), active)]
            except (ValueError, FloatingPointError, RuntimeError):  # a system broke the batch: run each alone
                parts = []
                for position, k in enumerate(active):
                    try:
                        parts.append((*advance(before[position], [k], steps), [k]))
                    except (ValueError, FloatingPointError, RuntimeError) as err:  # overlapping atoms, NaN, ...
                        watches[k].fail(f"md_error: {type(err).__name__}: {err}")
            survivors = []
            for part, out, ids in parts:
                for k in ids:
                    since[k] += steps
                due = [p for p, k in enumerate(ids) if since[k] == watches[k].next_chunk()]
                _check(part, out, ids, due, watches, since)
                keep = [p for p, k in enumerate(ids) if not watches[k].done]
                if keep:
                    survivors.append((part if len(keep) == len(ids) else part[keep], [ids[p] for p in keep]))
            active = [k for _, ids in survivors for k in ids]
            states = [part for part, _ in survivors]
            state = states[0] if len(states) == 1 else concatenate_states(states) if states else None


def _check(state, out: dict[str, torch.Tensor], ids: list[int], due: list[int], watches: list[Watch], since) -> None:
    """Copy the systems at positions ``due`` of ``state`` (watched by ``watches[ids[p]]``) to the host; check them."""
    if not due:
        return
    n = state.n_atoms_per_system
    first = torch.cumsum(n, 0) - n
    n, first = n.tolist(), first.tolist()
    coordinates = state.positions.detach().cpu().numpy()
    momenta = state.momenta.detach().cpu().numpy()
    force_spread = torch.linalg.norm(out["forces_std"], dim=1).detach().cpu().numpy()  # (N,) eV/Å
    energy_spread = out["energy_std"].detach().cpu().numpy()  # (B,) eV
    cells = state.row_vector_cell.detach().cpu().numpy()
    for p in due:
        k = ids[p]
        atoms_slice = slice(first[p], first[p] + n[p])
        frame = _frame(state.atomic_numbers[atoms_slice].cpu().numpy(), cells[p], state.pbc)
        frame.positions = coordinates[atoms_slice]
        frame.set_momenta(momenta[atoms_slice])
        watches[k].check(frame, force_spread[atoms_slice], float(energy_spread[p]) / n[p], since[k])
        since[k] = 0


def _frame(numbers: np.ndarray, cell: np.ndarray, pbc) -> Atoms:
    """A frame with FixCom, so that its temperature counts the degrees of freedom as the ASE path's do."""
    atoms = Atoms(numbers=numbers, cell=cell, pbc=bool(pbc))
    atoms.set_constraint(FixCom())
    return atoms
