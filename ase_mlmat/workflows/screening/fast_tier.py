"""One batch of the fast tier: the function a Dask worker (or the serial loop) runs.

It loads the model once per process (cached), predicts the whole batch as large graph batches and
returns the rows, with the columns of every installed predictor that derives its property from moduli and of
every one that runs on the structure alone (``runs_in_fast_tier``, e.g. synthesizability), both found through the
registry in the worker; such a predictor's failure on one structure is that row's ``<name>_error``, not a failed
row. The same batch gives bit-identical rows wherever it runs on the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any

import torch
from ase import Atoms

from ...properties import PredictionFailure
from ...properties.ml_moduli import load_moduli_model, predict_moduli
from ...properties.registry import fast_tier_predictors, moduli_consumers
from .rows import failure_row, fast_row


@cache
def _structure_predictors() -> dict:
    """The fast tier's structure-only predictors, loaded once per process (their models are read once)."""
    return fast_tier_predictors()


Record = tuple[str, Atoms | None, dict[str, Any]]  # key, structure (None if unreadable), row


def screen_batch(
    items: Sequence[tuple[str, Atoms | Exception]],
    model: str | os.PathLike,
    *,
    graph_batch_size: int = 256,
    threads: int | None = 1,
    device: str = "cpu",
) -> list[Record]:
    """Rows of the fast tier for ``items`` (key, Atoms or a reading error), in order.

    Args:
        model: shipped name or checkpoint path of a log10 K/G property model.
        graph_batch_size: structures per forward pass.
        threads: torch threads in this process (None: leave as is).
        device: where the model runs ("cpu", "auto", "cuda", "cuda:N"); rows are bit-identical across
            processes on the same kind of device.
    """
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    ensemble = load_moduli_model(model, device)
    readable = [(k, a) for k, a in enumerate(items) if isinstance(a[1], Atoms)]
    predictions = predict_moduli(ensemble, [a[1] for _, a in readable], batch_size=graph_batch_size)
    by_index = {k: p for (k, _), p in zip(readable, predictions)}
    consumers = moduli_consumers()
    records: list[Record] = []
    for index, (key, atoms) in enumerate(items):
        if not isinstance(atoms, Atoms):
            records.append((key, None, failure_row(atoms, "read")))
            continue
        prediction = by_index[index]
        if isinstance(prediction, Exception):
            row = failure_row(prediction, "ml")
        else:
            row = fast_row(atoms, prediction, consumers)
        records.append((key, atoms, row))
    structures = [a[1] for _, a in readable]
    for name, predictor in _structure_predictors().items():
        results = predictor.predict_many(structures, allow_errors=True, progress=False)
        for (index, _), result in zip(readable, results):
            row = records[index][2]
            if isinstance(result, PredictionFailure):
                row[f"{name}_error"] = f"{result.error_type}: {result.message}"[:300]
            else:
                row.update(result.summary_row())
    return records
