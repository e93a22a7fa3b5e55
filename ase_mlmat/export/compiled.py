"""Compiled copies of potentials, built once and kept on disk: what ``MLCalculator(compile=True)`` runs.

A potential is compiled by AOTInductor (:func:`~.writer.export_model`, format "aoti": the forward and force
backward fused into native kernels, 2–5× the eager model on one CPU thread, docs/export.md) the first time it is
asked for with a given dtype and device, which takes about a minute and needs a C++ compiler. The package is
stored under :func:`cache_dir` by a key that covers everything its numbers depend on — the weights, the dtype,
the device, the torch version and the source of the modules that define the computation — so a later process
loads it in a second, and a changed model or a new torch compiles afresh.

A compiled package is native code. Only packages this module wrote into the user's own cache folder are loaded;
the weights' checkpoint is still read with ``weights_only`` and checked against its checksum first.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import torch

from .reader import ExportedModel, load_exported
from .writer import FORMAT_VERSION, export_model

#: Environment variable that moves the cache (default ``~/.cache/ase-mlmat``).
CACHE_ENV = "ASE_MLMAT_CACHE"


def cache_dir() -> Path:
    """Folder of compiled packages: ``$ASE_MLMAT_CACHE/compiled`` or ``~/.cache/ase-mlmat/compiled``."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ase-mlmat"
    return Path(root) / "compiled"


def _source_files(member: torch.nn.Module) -> list[str]:
    """Files whose code decides what the package computes: every module class in the potential, and the exporter."""
    from . import interface, writer

    files = {inspect.getsourcefile(type(module)) for module in member.modules()}
    files |= {inspect.getsourcefile(interface), inspect.getsourcefile(writer)}
    return sorted(f for f in files if f and "site-packages/torch" not in f)


def compile_key(member: torch.nn.Module, *, dtype: torch.dtype, device: torch.device) -> str:
    """SHA-256 over the weights (names and bytes), dtype, device, torch version and source of ``member``."""
    digest = hashlib.sha256()
    for text in (str(dtype), str(device), torch.__version__, FORMAT_VERSION, type(member).__qualname__):
        digest.update(text.encode() + b"\0")
    for name, tensor in sorted(member.state_dict().items()):
        digest.update(name.encode() + b"\0")
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for path in _source_files(member):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def compiled_potential(member: torch.nn.Module, *, dtype: torch.dtype, device: torch.device) -> ExportedModel:
    """The compiled package of one potential for ``dtype`` on ``device``: loaded from the cache, else built there.

    Raises:
        ExportError: AOTInductor could not compile (no C++ compiler); ``compile=False`` needs none.
        ValueError: an architecture that cannot be exported.
    """
    key = compile_key(member, dtype=dtype, device=device)
    path = cache_dir() / f"{getattr(member, 'architecture', 'model')}-{key[:24]}.pt2"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.pt2")
        try:
            export_model(member, partial, dtype=dtype, device=str(device), file_format="aoti")
            os.replace(partial, path)  # atomic: another process sees the whole package or none
        finally:
            partial.unlink(missing_ok=True)
    return load_exported(path)


__all__ = ["CACHE_ENV", "cache_dir", "compile_key", "compiled_potential"]
