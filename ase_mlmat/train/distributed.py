"""Training on several processes: the process group of a ``torchrun`` launch, and the few collectives the trainer needs.

``torchrun --nproc-per-node N $(which mlmat) train CONFIG`` starts N copies of ``mlmat train``; torchrun sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` (and the rendezvous address) in each one's environment. The
trainer joins them in one process group (gloo on the CPU, NCCL on CUDA, one GPU per process at index
``LOCAL_RANK``). Without those variables, or with ``WORLD_SIZE=1``, nothing here does anything.

Every process reads the same data and makes the same split and model (same seed); each takes its share of
every global batch (see :meth:`~.trainer.Trainer`), and the gradients are summed over the processes, so an
optimiser step is the one-process step on the same global batch. Only rank 0 writes files.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    """Number of training processes: the process group's size, or ``WORLD_SIZE`` before it exists (1 without)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank (0 in a single process)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """Whether this process writes the files of the run (rank 0, or the only process)."""
    return rank() == 0


def local_device(device: torch.device) -> torch.device:
    """The device of this process: ``cuda:LOCAL_RANK`` for a CUDA run of several processes, else ``device``."""
    if world_size() > 1 and device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def init(device: torch.device) -> int:
    """Join the process group of a torchrun launch (once; NCCL for CUDA, else gloo); returns the world size.

    A no-op for a single process or a group already set up (by this function or by the caller).
    """
    if world_size() <= 1 or dist.is_initialized():
        return world_size()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 asks for several training processes; this torch has no torch.distributed")
    if device.type == "cuda":
        device = local_device(device)
        torch.cuda.set_device(device)  # "cuda" without an index is this GPU from here on
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    return dist.get_world_size()


def shutdown() -> None:
    """Leave the process group, if one was set up (the end of ``mlmat train``)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over the processes in place (every process gets the same bits); returns it."""
    if world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def share(count: int) -> slice:
    """This process's contiguous share of ``count`` items (the first ``count % world`` ranks take one more)."""
    size, me = world_size(), rank()
    base, extra = divmod(count, size)
    start = me * base + min(me, extra)
    return slice(start, start + base + (1 if me < extra else 0))
