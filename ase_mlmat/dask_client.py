"""A Dask client from the ``--workers N`` / ``--scheduler ADDRESS`` pair of command-line options."""

from __future__ import annotations


def dask_client(workers: int | None, scheduler: str | None):
    """``None`` (run serially), a client of a new LocalCluster of ``workers`` processes, or of ``scheduler``."""
    if scheduler and workers:
        raise ValueError("give either --workers (local cluster) or --scheduler (existing cluster), not both")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if not (scheduler or workers):
        return None
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
