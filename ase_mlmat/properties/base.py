"""The property-predictor protocol: typed results with units in field names, batch use with failures.

A predictor is constructed with options and called on ``Atoms`` (plus a calculator where it
needs one). ``predict_many`` runs it over many structures, returning one result or one
:class:`PredictionFailure` per input, so a screening run reports what failed and carries on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import numpy as np
from ase import Atoms


class PropertyError(ValueError):
    """A property cannot be predicted for this input (unstable, unphysical, not evaluable)."""


@dataclasses.dataclass(frozen=True)
class PropertyResult:
    """Base of all results: frozen dataclass, one unit system, units in the field names."""

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python dict (arrays become nested lists) for JSON."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, PropertyResult):
                value = value.as_dict()
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, (np.floating, np.integer, np.bool_)):
                value = value.item()
            out[f.name] = value
        return out

    def as_row(self, prefix: str = "") -> dict[str, Any]:
        """Flat dict of scalars (bool/int/float/str) for an ase.db row or a CSV line."""
        row: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            key = prefix + f.name
            if isinstance(value, PropertyResult):
                row.update(value.as_row(prefix=key + "_"))
            elif isinstance(value, (bool, np.bool_, str)) or value is None:
                row[key] = value.item() if isinstance(value, np.bool_) else value
            elif isinstance(value, (int, float, np.integer, np.floating)):
                number = float(value) if isinstance(value, (float, np.floating)) else int(value)
                if not (isinstance(number, float) and math.isnan(number)):
                    row[key] = number
        return row

    def summary_row(self) -> dict[str, Any]:
        """The headline scalars a screening row keeps (default: all of :meth:`as_row`)."""
        return self.as_row()


@dataclasses.dataclass(frozen=True)
class PredictionFailure:
    """Why one structure failed: the one failure record of predictors, screening and their tiers.

    ``stage`` names the step that raised (e.g. "read", "ml", a predictor's name); "" when there is one step.
    """

    index: int
    label: str
    error_type: str
    message: str
    stage: str = ""

    @classmethod
    def from_exception(
        cls, err: BaseException, *, index: int = 0, label: str = "", stage: str = ""
    ) -> PredictionFailure:
        return cls(index, label, type(err).__name__, str(err), stage)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def as_row(self, prefix: str = "", max_message: int = 500) -> dict[str, Any]:
        """Flat row: ``ok=False``, ``failed_stage``, ``error_type``, ``error`` (message cut to ``max_message``)."""
        row = {
            "ok": False,
            "failed_stage": self.stage,
            "error_type": self.error_type,
            "error": self.message[:max_message],
        }
        return {prefix + key: value for key, value in row.items()}


class PropertyPredictor:
    """Base class. Subclasses set ``name`` and implement :meth:`predict`."""

    name: ClassVar[str] = ""
    needs_calculator: ClassVar[bool] = False
    # True when the property follows from isotropic moduli alone (see predict_from_moduli)
    consumes_moduli: ClassVar[bool] = False
    # True when the property needs the structure alone (no calculator, no moduli) and is cheap enough, batched in
    # iter_predictions, for every structure of a screening's fast tier (e.g. a synthesizability classifier)
    runs_in_fast_tier: ClassVar[bool] = False

    def predict(self, atoms: Atoms, calculator=None) -> PropertyResult:
        raise NotImplementedError

    def predict_from_moduli(self, atoms: Atoms, moduli) -> PropertyResult:
        """The property of ``atoms`` from a :class:`~.moduli_source.ModuliSource` (set ``consumes_moduli``).

        The chaining point: the moduli may come from the elastic tensor, the ML model or known values.
        """
        raise NotImplementedError(f"{type(self).__name__} does not derive its property from moduli")

    def __call__(self, atoms: Atoms, calculator=None) -> PropertyResult:
        return self.predict(atoms, calculator)

    def predict_many(
        self,
        structures: Iterable[Atoms],
        calculator=None,
        *,
        allow_errors: bool = True,
        progress: bool = True,
    ) -> list[PropertyResult | PredictionFailure]:
        """One result (or, with ``allow_errors``, one failure record) per structure, in order."""
        return list(self.iter_predictions(structures, calculator, allow_errors=allow_errors, progress=progress))

    def iter_predictions(
        self, structures: Iterable[Atoms], calculator=None, *, allow_errors: bool = True, progress: bool = True
    ) -> Iterator[PropertyResult | PredictionFailure]:
        from tqdm.auto import tqdm

        structures = list(structures)
        for index, atoms in enumerate(tqdm(structures, desc=self.name, disable=not progress)):
            try:
                yield self.predict(atoms, calculator)
            except Exception as err:  # reported per structure; the run continues
                if not allow_errors:
                    raise
                label = str(atoms.info.get("label", atoms.get_chemical_formula()))
                yield PredictionFailure.from_exception(err, index=index, label=label)
