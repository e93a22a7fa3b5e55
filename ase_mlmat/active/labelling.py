"""Labelling structures with a reference ASE calculator, serially or on a Dask cluster.

The reference is given as a *factory*: a picklable callable returning a fresh calculator
(a class such as ``EMT``, a ``functools.partial``), or a spec string
``"module:Class"`` resolved by :func:`ase_mlmat.properties.calculator_from_spec`. Each
structure gets its own calculator, so serial and distributed labelling compute the same
thing. A reference that raises, or returns NaN/inf, yields a failed :class:`LabelResult`
instead of an exception: one bad structure never stops a labelling round.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError

from ..data import Labels

ReferenceFactory = Callable[[], Calculator]


@dataclass(frozen=True)
class LabelResult:
    """Outcome of one reference calculation: labels in ASE units, or an error."""

    energy: float | None = None  # eV
    forces: np.ndarray | None = None  # (N, 3) eV/Å
    stress: np.ndarray | None = None  # (6,) eV/Å³ Voigt, None for non-periodic structures
    error: str | None = None  # "ErrorType: message" when the reference failed
    seconds: float = 0.0  # wall time of the calculation

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def labels(self) -> Labels:
        if not self.ok:
            raise ValueError(f"no labels: the reference failed ({self.error})")
        return Labels(self.energy, self.forces, self.stress)

    @classmethod
    def failure(cls, error: BaseException | str, seconds: float = 0.0) -> LabelResult:
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        return cls(error=message, seconds=seconds)


class _Fixed:
    """Factory handing out one given calculator instance (copied per task on a cluster)."""

    def __init__(self, calculator: Calculator):
        self.calculator = calculator

    def __call__(self) -> Calculator:
        return self.calculator


def calculator_from_spec_in(spec: str, search_dirs: Sequence[str] = (), **options) -> Calculator:
    """:func:`ase_mlmat.properties.calculator_from_spec` with ``search_dirs`` searched first for the spec's module.

    The directories are on ``sys.path`` only while the module is imported (a ``my_dft.py`` beside the
    config, found without ``PYTHONPATH``); a module-level function, so a Dask worker can run it too.
    """
    from ..properties.calculators import calculator_from_spec

    added = [d for d in search_dirs if d not in sys.path]
    sys.path[:0] = added
    try:
        return calculator_from_spec(spec, **options)
    finally:
        for directory in added:
            sys.path.remove(directory)


def resolve_reference(
    reference: str | ReferenceFactory | Calculator, options: dict | None = None, search_dirs: Sequence[str] = ()
) -> ReferenceFactory:
    """A calculator factory from a spec string, a factory, or a calculator instance.

    Args:
        options: keyword arguments of the calculator (spec string or factory).
        search_dirs: directories searched first for a spec string's module (e.g. the config's directory).
    """
    if isinstance(reference, str):
        factory = functools.partial(calculator_from_spec_in, reference, tuple(search_dirs), **(options or {}))
        factory()  # fail now, not on every structure
        return factory
    if isinstance(reference, Calculator):
        return _Fixed(reference)
    if callable(reference):
        return functools.partial(reference, **options) if options else reference
    raise TypeError(
        f"reference must be a spec string, a calculator factory or a calculator, got {type(reference).__name__}"
    )


def compute_label(atoms: Atoms, reference: ReferenceFactory) -> LabelResult:
    """Energy, forces and (periodic cells) stress of ``atoms`` from a fresh reference calculator; never raises."""
    start = time.perf_counter()
    try:
        atoms = atoms.copy()  # drops any calculator; the caller's structure is untouched
        atoms.calc = reference()
        energy = float(atoms.get_potential_energy())
        forces = np.array(atoms.get_forces(), dtype=float).reshape(len(atoms), 3)
        stress = None
        if atoms.pbc.all():
            try:
                stress = np.array(atoms.get_stress(voigt=True), dtype=float).reshape(6)
            except (PropertyNotImplementedError, NotImplementedError):
                stress = None
    except Exception as err:  # the reference may raise anything; it becomes a failure record
        return LabelResult.failure(err, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    for name, value in (("energy", energy), ("forces", forces), ("stress", stress)):
        if value is not None and not np.all(np.isfinite(value)):
            return LabelResult.failure(f"NonFiniteLabel: reference returned non-finite {name}", seconds)
    return LabelResult(energy, forces, stress, None, seconds)


def iter_labels(
    structures: Sequence[Atoms], reference: str | ReferenceFactory | Calculator, *, client=None
) -> Iterator[tuple[int, LabelResult]]:
    """Yield ``(index, result)`` for every structure, in order of completion.

    Args:
        structures: structures to label (not modified).
        reference: calculator factory, spec string or calculator (see module docstring).
        client: a ``dask.distributed.Client``; one task per structure. None: serial, in this process.
    """
    factory = resolve_reference(reference)
    if client is None:
        for k, atoms in enumerate(structures):
            yield k, compute_label(atoms, factory)
        return
    from distributed import as_completed

    futures = {client.submit(compute_label, atoms.copy(), factory, pure=False): k for k, atoms in enumerate(structures)}
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as err:  # a worker died or the task could not run: record, do not crash
                result = LabelResult.failure(err)
            yield futures[future], result
    finally:
        for future in futures:
            future.release()


def label_structures(
    structures: Sequence[Atoms], reference: str | ReferenceFactory | Calculator, *, client=None
) -> list[LabelResult]:
    """One :class:`LabelResult` per structure, in input order (see :func:`iter_labels`)."""
    results: list[LabelResult | None] = [None] * len(structures)
    for k, result in iter_labels(structures, reference, client=client):
        results[k] = result
    return results
