"""The active-learning loop: label → train committee → explore with MD → select → label ...

Each step leaves the database consistent, so the loop can be killed anywhere and started
again with the same config: pending candidates are labelled (each label is committed as
it arrives), a committee whose checkpoints match the labelled set is reused, and an
exploration is repeated with the same random seed. Candidates and the advanced state are
written in one transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import atomic_numbers
from ase.neighborlist import neighbor_list

from ..calculator import MLCalculator
from ..data import DatasetError, get_labels, load_labelled, read_structures
from .committee import Committee, committee_errors, load_committee, member_path, train_committee
from .config import RESUMABLE, ActiveConfig, config_changes
from .explore import Segment, explore
from .explore_torchsim import Task, batchable
from .labelling import ReferenceFactory, iter_labels, resolve_reference
from .plots import progress_plot
from .selection import SELECTION_RULES, Candidate, SelectionContext
from .store import FAILED, LABELLED, PENDING, ActiveStore, LoopState, bare_copy, structure_uid


class ActiveLearningError(RuntimeError):
    """The loop cannot go on: no labelled data, or exploration keeps finding only known structures."""


@dataclass
class LearnResult:
    """Summary of a finished (or stopped) run."""

    reason: str
    iteration: int
    labels: int
    failed: int
    reference_calls: int
    md_steps: int
    committee: list[Path]
    history: dict[int, dict] = field(default_factory=dict)

    def calculator(self, **kwargs) -> MLCalculator:
        """The final committee as an ASE calculator (mean and spread)."""
        return MLCalculator([str(p) for p in self.committee], **kwargs)


def rattled_copies(start: Atoms, num: int, *, rattle_A: float, strain: float, rng: np.random.Generator) -> list[Atoms]:
    """``num`` copies of ``start`` with Gaussian displacements (σ = ``rattle_A`` Å) and random cell strain."""
    copies = []
    for _ in range(num):
        atoms = bare_copy(start)
        if strain > 0 and atoms.pbc.all():
            eps = rng.uniform(-strain, strain, (3, 3))
            atoms.set_cell(atoms.cell.array @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
        atoms.positions += rng.normal(0.0, rattle_A, atoms.positions.shape)
        copies.append(atoms)
    return copies


def seed_copies(starts: Sequence[Atoms], num: int, config: ActiveConfig) -> list[Atoms]:
    """The loop's ``num`` rattled seed copies of ``starts``, taken in turn (seeded by ``config.seed``)."""
    rng = np.random.default_rng([config.seed, 7])
    md = config.exploration
    return [
        rattled_copies(starts[k % len(starts)], 1, rattle_A=md.seed_rattle_A, strain=md.seed_strain, rng=rng)[0]
        for k in range(num)
    ]


def _split_labelled(structures: Sequence[Atoms]) -> tuple[list[Atoms], list[Atoms]]:
    """(structures with reference labels, as SinglePointCalculator copies; structures without)."""
    given, unlabelled = [], []
    for atoms in structures:
        try:
            labels = get_labels(atoms)
        except DatasetError:
            unlabelled.append(bare_copy(atoms))
            continue
        copy = bare_copy(atoms)
        copy.calc = SinglePointCalculator(copy, energy=labels.energy, forces=labels.forces, stress=labels.stress)
        given.append(copy)
    return given, unlabelled


class ActiveLearner:
    """Runs (or resumes) the active-learning loop of ``config``; see :class:`ActiveConfig` for the physics.

    Args:
        config: the run's options; ``config.db`` holds everything needed to resume.
        structure: start structure, or several (MD explores from each); overrides ``config.structure``,
            ignored when resuming.
        seed_structures: extra seed structures (labelled ones are used without a reference call).
        reference: calculator factory or calculator (overrides ``config.reference``).
        client: a ``dask.distributed.Client`` to label on; None labels in this process.
        log: receives one progress line at a time (default: print); None for silence.
    """

    def __init__(
        self,
        config: ActiveConfig,
        *,
        structure: Atoms | Sequence[Atoms] | None = None,
        seed_structures: Sequence[Atoms] | None = None,
        reference: ReferenceFactory | str | None = None,
        client=None,
        log: Callable[[str], None] | None = print,
    ):
        config.validate()
        self.config = config
        self.store = ActiveStore(config.db)
        if reference is None:
            self.reference = resolve_reference(config.reference, config.reference_options, config.reference_dirs)
        else:
            self.reference = resolve_reference(reference)
        self.client = client
        self._log = log
        self._structure = structure
        self._seed_structures = seed_structures
        self.starts: list[Atoms] = []  # read from the store by run()
        self.test = load_labelled(config.test_data) if config.test_data else None

    def log(self, message: str) -> None:
        if self._log is not None:
            self._log(f"[learn] {message}")

    # --- the loop --------------------------------------------------------------------------
    def run(self) -> LearnResult:
        state = self.store.state()
        if state is None:
            state = self._initialize()
        else:
            self._check_config_on_resume()
            self.log(
                f"resuming {self.config.db} at iteration {state.iteration}: {self.store.count(LABELLED)} "
                f"labelled, {self.store.count(PENDING)} pending, {self.store.count(FAILED)} failed"
            )
        self.starts = self.store.start_structures()
        slabs = [a.get_chemical_formula() for a in self.starts if not batchable(a)]
        if self.config.exploration.engine == "torchsim" and slabs:
            raise ActiveLearningError(
                f"exploration.engine torchsim cannot run {', '.join(slabs)}: torch-sim 0.3 takes systems periodic in "
                f"all directions or in none; use exploration.engine: ase"
            )
        given = [structure_uid(a) for a in _as_list(self._structure)]
        if given and given != [structure_uid(a) for a in self.starts]:
            self.log("the start structures stored in the db are used; the ones given are ignored")
        while True:
            self.label_pending(state.iteration)
            committee = self._committee(state)
            reason = self._finished(state)
            if reason:
                break
            self._explore(state, committee)
        result = LearnResult(
            reason,
            state.iteration,
            self.store.count(LABELLED),
            self.store.count(FAILED),
            self.store.reference_calls(),
            state.md_steps,
            committee.paths,
            state.history,
        )
        self.log(
            f"done: {reason}. {result.labels} labelled ({result.reference_calls} reference calls, "
            f"{result.failed} failed), {result.md_steps} MD steps; committee {committee.paths[0].parent}"
        )
        return result

    def _check_config_on_resume(self) -> None:
        """Refuse a resume whose config changed what the stored run depends on; record allowed changes."""
        stored = self.store.config()
        changes = config_changes(stored, self.config) if stored is not None else {}
        if not changes:
            return
        listing = "; ".join(f"{key}: {old!r} → {new!r}" for key, (old, new) in changes.items())
        fixed = [key for key in changes if key not in RESUMABLE]
        if fixed:
            db = self.config.db
            raise ActiveLearningError(
                f"the config differs from the one {db} was run with ({listing}). {', '.join(fixed)} cannot "
                f"change on resume: the stored labels, committee checkpoints and MD tracks depend on them. Set them "
                f"back to continue this run, or give another db to start a new one (seed_data: {db} passes it "
                f"these labels without new reference calls). What may change on resume: the budget and the other "
                f"stopping.* keys, selection.*, the MD settings in exploration (not temperatures_K or the seed "
                f"copies), committee.finetune_steps / warm_start / train_options, test_data, device, dtype, plot."
            )
        self.log(f"config changed since the last run: {listing}")
        self.store.save_config(self.config.to_dict())

    def _initialize(self) -> LoopState:
        config = self.config
        starts = _as_list(self._structure)
        if not starts and config.structure:
            from ..workflows.structures import load_structure

            starts = [load_structure(name, "") for name in _as_list(config.structure)]
        if not starts:
            raise ValueError("no start structure: set 'structure' in the config or pass structure=")
        extra = list(self._seed_structures or [])
        if config.seed_data:
            extra += read_structures(config.seed_data)
        given, unlabelled = _split_labelled(extra)
        budget = config.stopping.max_labels
        num = max(0, min(config.exploration.num_seed, budget - len(unlabelled)))
        seeds = unlabelled[:budget] + seed_copies(starts, num, config)
        if not seeds and not given:
            raise ValueError("no seed data: set exploration.num_seed > 0 or give seed structures")
        names = ", ".join(f"{a.get_chemical_formula()} ({len(a)} atoms)" for a in starts)
        self.log(
            f"new run in {config.db}: start {names}; {len(seeds)} seed structures to label, {len(given)} given "
            f"with labels"
        )
        return self.store.initialize(starts, seeds, given, config.to_dict())

    def label_pending(self, iteration: int = 0) -> tuple[int, int]:
        """Label every pending candidate, committing each result as it arrives; returns (labelled, failed)."""
        pending = self.store.pending()
        if not pending:
            return 0, 0
        where = "on the Dask cluster" if self.client is not None else "serially"
        self.log(f"iteration {iteration}: labelling {len(pending)} structures {where}")
        done = failed = 0
        for k, result in iter_labels([atoms for _, atoms in pending], self.reference, client=self.client):
            self.store.record_label(pending[k][0], result)
            if result.ok:
                done += 1
            else:
                failed += 1
                self.log(f"  reference failed on {pending[k][1].get_chemical_formula()}: {result.error}")
        self.log(
            f"  labelled {done}, failed {failed}; now {self.store.count(LABELLED)} labelled, "
            f"{self.store.reference_calls()}/{self.config.stopping.max_labels} reference calls"
        )
        return done, failed

    def _elements(self, structures: Sequence[Atoms]) -> list[str]:
        symbols = set().union(*(a.get_chemical_symbols() for a in [*self.starts, *structures]))
        return sorted(symbols, key=lambda s: atomic_numbers[s])

    def _committee(self, state: LoopState) -> Committee:
        config, it = self.config, state.iteration
        if state.trained_iteration == it:
            return load_committee(config, it)
        structures, labels, uids = self.store.labelled()
        if not structures:
            failures = self.store.failures()
            first = failures[0]["error"] if failures else "none"
            raise ActiveLearningError(
                f"no labelled structures to train on: the reference failed on all "
                f"{len(failures)} structures (first error: {first}); see failed rows in "
                f"{config.db}"
            )
        previous = None
        if state.trained_iteration >= 0:
            previous = [
                member_path(config.committee_path, state.trained_iteration, m) for m in range(config.committee.size)
            ]
        warm = " (warm start)" if previous and config.committee.warm_start else ""
        self.log(f"iteration {it}: training {config.committee.size} members on {len(structures)} structures{warm}")
        committee = train_committee(
            structures,
            labels,
            uids,
            config,
            iteration=it,
            elements=self._elements(structures),
            previous=previous,
            log=self.log,
        )
        record = state.history.setdefault(it, {"iteration": it})
        record.update(
            {
                "labels": len(structures),
                "failed": self.store.count(FAILED),
                "reference_calls": self.store.reference_calls(),
                "train_seconds": committee.seconds,
                **committee.metrics,
            }
        )
        if self.test is not None:
            test = committee_errors(committee.models, *self.test)
            record["test_forces_mae_eV_per_A"] = test.get("forces_mae_eV_per_A")
            record["test_energy_mae_meV_per_atom"] = test["energy_mae_meV_per_atom"]
        state.trained_iteration = it
        self.store.save_state(state)
        errors = ", ".join(
            f"{k.replace('_eV_per_A', '')} {record[k]:.4f} eV/Å"
            for k in ("oob_forces_mae_eV_per_A", "test_forces_mae_eV_per_A", "train_forces_mae_eV_per_A")
            if record.get(k) is not None
        )
        self.log(f"  committee {it} trained in {committee.seconds:.1f} s: {errors}")
        progress_plot(state.history, config.plot_path)
        return committee

    def _finished(self, state: LoopState) -> str | None:
        temperatures, stopping = self.config.exploration.temperatures_K, self.config.stopping
        if state.temperature_index >= len(temperatures):
            return (
                f"converged: {stopping.calm_steps} MD steps at {temperatures[-1]:g} K stayed below "
                f"{self.config.selection.threshold} eV/Å"
            )
        calls = self.store.reference_calls()
        if calls >= stopping.max_labels:
            return f"label budget spent ({calls}/{stopping.max_labels} reference calls)"
        if stopping.max_iterations is not None and state.iteration >= stopping.max_iterations:
            return f"max_iterations ({stopping.max_iterations}) reached"
        return None

    @staticmethod
    def _shortest_bond(start: Atoms) -> float:
        """Shortest interatomic distance in ``start``, Å (0 for a single atom)."""
        distances = neighbor_list("d", start, 6.0)
        return float(distances.min()) if len(distances) else 0.0

    def _explore(self, state: LoopState, committee: Committee) -> None:
        config, it = self.config, state.iteration
        temperatures = config.exploration.temperatures_K
        ramp = config.exploration.schedule == "ramp"
        indices = [state.temperature_index] if ramp else range(len(temperatures))
        record = state.history.setdefault(it, {"iteration": it})
        tasks, tracks, origins = [], [], []
        # one trajectory per (start structure, temperature); ``track`` keys its random stream and last frame
        for start_index, index in itertools.product(range(len(self.starts)), indices):
            start, track = self.starts[start_index], start_index * len(temperatures) + index
            rng = np.random.default_rng([config.seed, it, track, state.stalled])
            previous = state.md_frames.get(track) if config.exploration.continue_md else None
            segment = Segment.from_config(config, temperatures[index], self._shortest_bond(start))
            begin, thermalize = (start, True) if previous is None else (previous, False)
            tasks.append(Task(begin, segment, rng, thermalize))
            tracks.append(track)
            origins.append(start_index)
        if config.exploration.engine == "torchsim":
            from ..torchsim import TorchSimModel
            from .explore_torchsim import explore_batch

            model = TorchSimModel(committee.models, device=config.device, dtype=getattr(torch, config.dtype))
            runs = explore_batch(
                tasks, model, seed=int(np.random.default_rng([config.seed, it, state.stalled]).integers(2**62))
            )
        else:
            calculator = committee.calculator(config.device, config.dtype)
            runs = [explore(t.start, calculator, t.segment, rng=t.rng, thermalize=t.thermalize) for t in tasks]
        for run, track, start_index in zip(runs, tracks, origins, strict=True):
            self._record_run(state, record, track, run, self.starts[start_index])
        if all(run.calm for run in runs):
            state.temperature_index = indices[-1] + 1
            state.stalled = 0
            self.store.save_state(state)
            return
        # a segment's estimated share of the error: mean per-atom spread x atoms
        pairs = list(zip(runs, origins, strict=True))
        segment_scores = {(s, run.temperature_K): run.mean_force_std * len(self.starts[s]) for run, s in pairs}
        candidates = [
            Candidate(atoms, spread, (s, run.temperature_K))
            for run, s in pairs
            for atoms, spread in zip(run.candidates, run.force_std, strict=True)
        ]
        known = self.store.known_uids()
        new = [c for c in candidates if structure_uid(c.atoms) not in known]
        count = min(config.selection.labels_per_iteration, config.stopping.max_labels - self.store.reference_calls())
        context = SelectionContext(
            labelled=self.store.labelled()[0],
            cutoff=float(config.committee.model["cutoff"]),
            model=committee.models[0],
            segment_scores=segment_scores,
            labelled_per_segment=self.store.segment_counts(),
        )
        chosen = [new[k] for k in SELECTION_RULES[config.selection.rule].select(new, context, count)]
        if config.selection.rule == "stratified":
            record["segment_scores"] = {f"{s}@{t:g}K": float(v) for (s, t), v in segment_scores.items()}
        self.log(f"iteration {it}: {len(new)} new candidates, {len(chosen)} selected for labelling")
        if chosen:
            state.iteration += 1
            state.stalled = 0
        else:
            state.stalled += 1
        extra = [
            {
                "temperature_K": float(c.segment[1]),
                "start_index": c.segment[0],
                **({"force_std": float(c.force_std)} if np.isfinite(c.force_std) else {}),
            }
            for c in chosen
        ]
        self.store.add_candidates([c.atoms for c in chosen], state, extra=extra)
        if state.stalled >= config.stopping.max_stalled:
            raise ActiveLearningError(
                f"{state.stalled} explorations in a row found only structures already "
                f"labelled or failed; the committee does not learn them (train longer?) or "
                f"the reference fails on them"
            )

    def _record_run(self, state: LoopState, record: dict, track: int, run, start: Atoms) -> None:
        """Keep a segment's last frame (``continue_md``), add it to the MD totals and log it."""
        if self.config.exploration.continue_md:
            if run.final is not None:
                state.md_frames[track] = run.final
            else:
                state.md_frames.pop(track, None)
        state.md_steps += run.steps
        record["md_steps"] = record.get("md_steps", 0) + run.steps
        record["max_force_std"] = max(record.get("max_force_std", 0.0), run.max_force_std)
        record["temperature_K"] = run.temperature_K
        outcome = (
            "calm"
            if run.calm
            else f"{len(run.candidates)} candidates" + (f", stopped: {run.stop_reason}" if run.stop_reason else "")
        )
        where = f"{start.get_chemical_formula()}, " if len(self.starts) > 1 else ""
        self.log(
            f"iteration {state.iteration}: {where}{run.temperature_K:g} K, {run.steps} MD steps, max spread "
            f"{run.max_force_std:.3f} eV/Å (threshold {self.config.selection.threshold}): {outcome}"
        )


def _as_list(structures):
    """None -> []; one Atoms or file name -> [it]; a sequence -> list."""
    if structures is None:
        return []
    return [structures] if isinstance(structures, Atoms | str) else list(structures)


def run_active_learning(config: ActiveConfig, **kwargs) -> LearnResult:
    """Run or resume the loop of ``config``; keyword arguments as for :class:`ActiveLearner`."""
    return ActiveLearner(config, **kwargs).run()
