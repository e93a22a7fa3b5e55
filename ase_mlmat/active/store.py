"""The active-learning database: labelled, pending and failed structures plus the loop state, in one ase.db.

Rows are told apart by key-value pairs:

* ``al_status="labelled"`` — a structure with a SinglePointCalculator holding the reference
  energy (eV), forces (eV/Å) and, for periodic cells, stress (eV/Å³);
* ``al_status="pending"`` — a candidate chosen for labelling, not yet labelled;
* ``al_status="failed"`` — the reference failed on it; ``error_type`` and ``data["error"]`` say why;
* ``al_kind="state"`` — one row: the (first) start structure, with the loop state in its key-value
  pairs and, in ``data``, the per-iteration history and every start structure when there are several.

Every structure row carries ``uid`` (a hash of its numbers, positions, cell and pbc),
``iteration`` and ``origin``; a uid is never stored twice. Moving a row from pending to
labelled or failed is one transaction (write the new row, delete the pending one), so a
process killed at any moment loses no finished label and never holds a structure twice.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ..data import Labels, get_labels
from ..data.dataset import ACTIVE_LEARNING_STATUS, LABELLED
from .labelling import LabelResult

STATUS = ACTIVE_LEARNING_STATUS  # read_structures knows it too: an AL database reads as its labelled rows
PENDING = "pending"
FAILED = "failed"
KIND = "al_kind"
GIVEN = "given"  # origin of seed structures that came with labels (no reference call spent)


def structure_uid(atoms: Atoms, decimals: int = 6) -> str:
    """Hash of atomic numbers, positions and cell rounded to ``decimals`` (Å), and pbc."""
    digest = hashlib.sha1()
    digest.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    for array in (atoms.positions, atoms.cell.array):
        digest.update((np.round(np.asarray(array, dtype=np.float64), decimals) + 0.0).tobytes())  # +0.0: no -0.0
    digest.update(np.asarray(atoms.pbc, dtype=np.int8).tobytes())
    return storable_uid(digest.hexdigest()[:24])


def storable_uid(hexdigest: str) -> str:
    """``hexdigest``, or with its first character made ``x`` where it reads as a number ("98e0164...", "1234...").

    ase.db refuses a string value that parses as a float; such uids (about one in 20,000) could not be stored.
    Every other uid is unchanged, so stores written before keep their uids.
    """
    try:
        float(hexdigest)
    except ValueError:
        return hexdigest
    return "x" + hexdigest[1:]


def bare_copy(atoms: Atoms) -> Atoms:
    """Numbers, positions, cell and pbc only: no calculator, momenta or info."""
    return Atoms(
        numbers=atoms.numbers.copy(),
        positions=atoms.positions.copy(),
        cell=atoms.cell.array.copy(),
        pbc=atoms.pbc.copy(),
    )


@dataclass
class LoopState:
    """Where the loop stands; the committee of ``trained_iteration`` exists on disk."""

    iteration: int = 0  # committees trained so far, minus one; candidates are tagged with it
    trained_iteration: int = -1
    temperature_index: int = 0  # index into ActiveConfig.temperatures_K being explored
    stalled: int = 0  # explorations in a row that found only already-stored structures
    md_steps: int = 0  # committee MD steps run in total
    history: dict[int, dict] = field(default_factory=dict)  # per iteration: errors, labels, MD summary
    # track (start index x number of temperatures + temperature index): last MD frame, with momenta
    md_frames: dict[int, Atoms] = field(default_factory=dict)

    def to_row(self) -> tuple[dict, dict]:
        kvp = {
            "iteration": self.iteration,
            "trained_iteration": self.trained_iteration,
            "temperature_index": self.temperature_index,
            "stalled": self.stalled,
            "md_steps": self.md_steps,
        }
        frames = [
            {
                "index": k,
                "numbers": a.numbers,
                "positions": a.positions,
                "cell": a.cell.array,
                "pbc": a.pbc,
                "momenta": a.get_momenta(),
            }
            for k, a in sorted(self.md_frames.items())
        ]
        return kvp, {"history": [self.history[k] for k in sorted(self.history)], "md_frames": frames}

    @classmethod
    def from_row(cls, row) -> LoopState:
        kvp = row.key_value_pairs
        history = {int(h["iteration"]): dict(h) for h in row.data.get("history", [])}
        frames = {}
        for f in row.data.get("md_frames", []):
            atoms = Atoms(numbers=f["numbers"], positions=f["positions"], cell=f["cell"], pbc=f["pbc"])
            atoms.set_momenta(np.asarray(f["momenta"]))
            frames[int(f["index"])] = atoms
        return cls(
            int(kvp["iteration"]),
            int(kvp["trained_iteration"]),
            int(kvp["temperature_index"]),
            int(kvp["stalled"]),
            int(kvp["md_steps"]),
            history,
            frames,
        )


class ActiveStore:
    """Labelled set, candidate pool and loop state of one run, in the ase.db at ``url``.

    Args:
        url: a file name (SQLite) or any ase.db URL with transactions (e.g. ``postgresql://...``).
    """

    def __init__(self, url: str):
        from ase.db import connect
        from ase.db.sqlite import SQLite3Database  # PostgreSQL and MySQL backends derive from it

        self.url = str(url)
        if "://" not in self.url:
            Path(self.url).parent.mkdir(parents=True, exist_ok=True)
        self.db = connect(self.url)
        if not isinstance(self.db, SQLite3Database):  # e.g. JSON: its "with db:" cannot roll back
            raise ValueError(
                f"ase.db backend {type(self.db).__name__} of {self.url!r} has no transactions; "
                "use an SQLite file (.db) or a PostgreSQL/MySQL URL"
            )

    # --- state -----------------------------------------------------------------------------
    def _state_row(self):
        rows = list(self.db.select(**{KIND: "state"}))
        if len(rows) > 1:
            raise RuntimeError(f"{self.url}: {len(rows)} state rows; the database is not an active-learning store")
        return rows[0] if rows else None

    def state(self) -> LoopState | None:
        """The saved loop state, or None for a new store."""
        row = self._state_row()
        return LoopState.from_row(row) if row is not None else None

    def start_structure(self) -> Atoms:
        """The first start structure."""
        return self.start_structures()[0]

    def start_structures(self) -> list[Atoms]:
        """Every start structure, in the order given."""
        row = self._state_row()
        if row is None:
            raise RuntimeError(f"{self.url}: not initialised")
        starts = row.data.get("starts")
        if not starts:  # one start: the state row's own structure
            return [row.toatoms()]
        return [Atoms(numbers=s["numbers"], positions=s["positions"], cell=s["cell"], pbc=s["pbc"]) for s in starts]

    def initialize(
        self, start: Atoms | Sequence[Atoms], seeds: Sequence[Atoms], given: Sequence[Atoms], config: dict
    ) -> LoopState:
        """Write the state row, the seed structures as pending and the ``given`` labelled ones, in one transaction.

        ``start`` is one structure or several (MD then explores from each of them).
        """
        starts = [start] if isinstance(start, Atoms) else list(start)
        if not starts:
            raise ValueError("no start structure")
        state = LoopState()
        kvp, data = state.to_row()
        if len(starts) > 1:
            data["starts"] = [
                {"numbers": a.numbers, "positions": a.positions, "cell": a.cell.array, "pbc": a.pbc} for a in starts
            ]
        with self.db:
            self.db.write(bare_copy(starts[0]), key_value_pairs={KIND: "state", **kvp}, data={**data, "config": config})
            self._add(seeds, PENDING, iteration=0, origin="seed")
            self._add(given, LABELLED, iteration=0, origin=GIVEN)
        return state

    def config(self) -> dict | None:
        """The config the run was started (or last resumed) with, as :meth:`ActiveConfig.to_dict` wrote it."""
        row = self._state_row()
        return None if row is None else row.data.get("config")

    def save_config(self, config: dict) -> None:
        """Record ``config`` as the run's config (after a resume that changed it)."""
        with self.db:
            self.db.update(self._state_row().id, data={"config": config})

    def save_state(self, state: LoopState) -> None:
        with self.db:
            self._save_state(state)

    def _save_state(self, state: LoopState) -> None:
        kvp, data = state.to_row()
        self.db.update(self._state_row().id, data=data, **kvp)

    # --- structures ------------------------------------------------------------------------
    def _add(
        self,
        structures: Iterable[Atoms],
        status: str,
        *,
        iteration: int,
        origin: str,
        extra: Sequence[dict] | None = None,
    ) -> int:
        known = self.known_uids()
        added = 0
        for k, atoms in enumerate(structures):
            uid = structure_uid(atoms)
            if uid in known:
                continue
            known.add(uid)
            row_atoms = atoms if status == LABELLED else bare_copy(atoms)  # labelled: with its calculator
            kvp = {STATUS: status, "uid": uid, "iteration": iteration, "origin": origin, **(extra[k] if extra else {})}
            self.db.write(row_atoms, key_value_pairs=kvp)
            added += 1
        return added

    def add_candidates(
        self, structures: Sequence[Atoms], state: LoopState, *, origin: str = "md", extra: Sequence[dict] | None = None
    ) -> int:
        """Store new pending candidates and the new loop state in one transaction; returns how many were new."""
        with self.db:
            added = self._add(structures, PENDING, iteration=state.iteration, origin=origin, extra=extra)
            self._save_state(state)
        return added

    def known_uids(self) -> set[str]:
        return {row.uid for row in self.db.select(f"{STATUS}") if "uid" in row}

    def pending(self) -> list[tuple[int, Atoms]]:
        """(row id, structure) of every pending candidate, oldest first."""
        return [(row.id, row.toatoms()) for row in self.db.select(**{STATUS: PENDING}, sort="id")]

    def record_label(self, pending_id: int, result: LabelResult) -> bool:
        """Turn pending row ``pending_id`` into a labelled (or failed) row, atomically.

        Returns False (and writes nothing) if the row is no longer pending.
        """
        with self.db:
            rows = list(self.db.select(id=pending_id))
            if not rows or rows[0].get(STATUS) != PENDING:
                return False
            row = rows[0]
            atoms = row.toatoms()
            kvp = dict(row.key_value_pairs)
            if result.ok:
                atoms.calc = SinglePointCalculator(
                    atoms, energy=result.energy, forces=result.forces, stress=result.stress
                )
                kvp.update({STATUS: LABELLED, "seconds": result.seconds})
                self.db.write(atoms, key_value_pairs=kvp)
            else:
                error_type = result.error.partition(": ")[0]
                kvp.update({STATUS: FAILED, "error_type": error_type, "seconds": result.seconds})
                self.db.write(atoms, key_value_pairs=kvp, data={"error": result.error})
            self.db.delete([pending_id])
        return True

    def labelled(self) -> tuple[list[Atoms], list[Labels], list[str]]:
        """Structures, labels and uids of every labelled row, in the order they were labelled."""
        structures, labels, uids = [], [], []
        for row in self.db.select(**{STATUS: LABELLED}, sort="id"):
            atoms = row.toatoms()
            structures.append(atoms)
            labels.append(get_labels(atoms, f"row {row.id} of {self.url}"))
            uids.append(row.uid)
        return structures, labels, uids

    def failures(self) -> list[dict]:
        """uid, iteration, origin and error message of every failed row."""
        return [
            {
                "uid": row.uid,
                "iteration": row.iteration,
                "origin": row.origin,
                "error": row.data.get("error", row.get("error_type", "")),
            }
            for row in self.db.select(**{STATUS: FAILED}, sort="id")
        ]

    def segment_counts(self) -> dict[tuple[int, float], int]:
        """Structures chosen from each MD segment so far, any status: {(start_index, temperature_K): count}."""
        return dict(
            Counter(
                (int(row.start_index), float(row.temperature_K))
                for row in self.db.select(f"{STATUS},start_index,temperature_K")
            )
        )

    def count(self, status: str) -> int:
        return self.db.count(**{STATUS: status})

    def reference_calls(self) -> int:
        """Reference calculations spent: labelled (except given ones) plus failed."""
        given = self.db.count(**{STATUS: LABELLED, "origin": GIVEN})
        return self.count(LABELLED) - given + self.count(FAILED)
