"""``screen``: the fast tier over many structures, serial or on a Dask cluster, resumable in an ase.db.

The driver reads the inputs, drops keys already in the database, cuts the rest into batches in input
order and runs :func:`~.fast_tier.screen_batch` on each — in this process, or on Dask workers with a
bounded number of batches in flight. Rows are written by the driver alone, batch by batch, in input
order, so a Dask run writes exactly the rows a serial run writes.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ...devices import check_device_name
from ...properties.ml_moduli import DEFAULT_MODULI_MODEL
from .fast_tier import Record, screen_batch
from .sources import iter_structures
from .store import connect, done_keys, write_records


@dataclass(frozen=True)
class ScreenSummary:
    """What one ``screen`` call did; seconds of wall time."""

    found: int  # structures in the inputs
    skipped: int  # already in the database
    screened: int  # rows written now
    failed: int  # of those, rows flagged ok=False
    seconds: float

    @property
    def structures_per_hour(self) -> float:
        return 3600.0 * self.screened / self.seconds if self.seconds > 0 else float("nan")


def _serial(batches, model, options) -> Iterator[list[Record]]:
    for batch in batches:
        yield screen_batch(batch, model, **options)


def _distributed(batches, model, options, client, in_flight: int) -> Iterator[list[Record]]:
    """Results in batch order, at most ``in_flight`` batches submitted ahead."""
    pending: deque = deque()
    iterator = iter(batches)
    for batch in iterator:
        pending.append(client.submit(screen_batch, batch, model, pure=False, **options))
        if len(pending) >= in_flight:
            break
    while pending:
        result = pending.popleft().result()
        for batch in iterator:
            pending.append(client.submit(screen_batch, batch, model, pure=False, **options))
            break
        yield result


def screen(
    inputs: Sequence[str | os.PathLike],
    db: str,
    *,
    model: str | os.PathLike = DEFAULT_MODULI_MODEL,
    batch_size: int = 256,
    client=None,
    threads: int | None = 1,
    progress: bool = True,
    max_batches: int | None = None,
    device: str = "cpu",
) -> ScreenSummary:
    """Fast-tier screening of every structure in ``inputs`` into the ase.db ``db`` (file or URL).

    Args:
        inputs: files, folders, ase.db files or pymatgen JSON lists (see :func:`.sources.iter_structures`).
        db: ase.db file or URL; structures whose key is already there are skipped.
        model: shipped name or checkpoint path of a log10 K/G model (a path must be readable by workers).
        batch_size: structures per batch (one task per batch; also the graph batch of the model).
        client: a ``distributed.Client``; None runs serially here.
        threads: torch threads per process.
        progress: show a progress bar.
        max_batches: stop after this many batches (the rest waits for the next call).
        device: where each process runs the model: "cpu" (default; the same rows from every worker),
            "auto", "cuda" or "cuda:N" (a GPU per machine, shared by its workers).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_device_name(device)  # a bad name fails here, before any work (workers may have a GPU the driver lacks)
    from tqdm.auto import tqdm

    start = time.perf_counter()
    database = connect(db)
    done = done_keys(database)
    items = list(iter_structures(inputs))
    todo = [item for item in items if item[0] not in done]
    batches = [todo[k : k + batch_size] for k in range(0, len(todo), batch_size)][:max_batches]
    options = {"graph_batch_size": batch_size, "threads": threads, "device": device}
    if client is None:
        results = _serial(batches, str(model), options)
    else:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        results = _distributed(batches, str(model), options, client, in_flight=2 * workers)
    screened = failed = 0
    with tqdm(total=sum(len(b) for b in batches), disable=not progress, desc="screen", unit="structure") as bar:
        for records in results:
            screened += write_records(database, records)
            failed += sum(1 for _, _, row in records if not row.get("ok"))
            bar.update(len(records))
    return ScreenSummary(len(items), len(items) - len(todo), screened, failed, time.perf_counter() - start)
