"""One-file checkpoints that load without running code, with a checksum of what they hold.

The file is a ``torch.save`` of plain containers and tensors: format tag, package
version, architecture name and config, element list, normalisation and weights.
It is read back with ``torch.load(..., weights_only=True)``, whose unpickler only
accepts tensors and builtin containers, so a tampered file cannot execute code.

torch does not check the zip CRCs of a checkpoint's tensor records, so flipped bytes in
the weights would load silently. Every payload therefore carries ``sha256``: a SHA-256
over all its other entries (tensors with name, dtype and shape; config, elements and
plain data in a fixed order), written by :func:`write_checkpoint` and checked by
:func:`read_checkpoint`. Models of every kind (:mod:`ase_mlmat.model_store`) and training states
go through these two functions.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path

import torch

CHECKSUM_KEY = "sha256"  # hex digest of payload_checksum(payload)


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, tampered with or of an unknown format."""


def _feed(digest, value) -> None:
    """Add ``value`` to ``digest`` in a canonical, type-tagged form (dict keys sorted)."""
    if isinstance(value, torch.Tensor):
        flat = value.detach().cpu().contiguous().reshape(-1)
        data = flat.view(torch.uint8) if flat.numel() else flat.new_empty(0, dtype=torch.uint8)
        digest.update(f"tensor:{value.dtype}:{tuple(value.shape)}:".encode())
        digest.update(data.numpy().tobytes())
    elif isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: (type(kv[0]).__name__, repr(kv[0])))
        digest.update(f"dict:{len(items)}:".encode())
        for key, item in items:
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}:{len(value)}:".encode())
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, (bool, int, float, str, bytes)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())  # repr of a float round-trips exactly
    else:
        raise TypeError(f"a checkpoint holds tensors and plain data only, not {type(value).__name__}")


def payload_checksum(payload: Mapping) -> str:
    """SHA-256 (hex) over every entry of a checkpoint payload except the checksum itself.

    Tensors enter with their name, dtype, shape and raw bytes; the config and other plain data
    with their types, dict keys in sorted order, so the digest does not depend on insertion order.
    """
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in payload.items() if k != CHECKSUM_KEY})
    return digest.hexdigest()


def write_checkpoint(payload: dict, path: str | os.PathLike) -> Path:
    """``torch.save`` ``payload`` with its checksum added, atomically (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**payload, CHECKSUM_KEY: payload_checksum(payload)}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def _not_a_torch_archive(path: Path) -> str | None:
    """Why ``path`` cannot be a ``torch.save`` file, or None if it is a zip archive laid out as torch writes it."""
    if path.stat().st_size == 0:
        return "the file is empty (0 bytes)"
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(16)
        if head[:1] == b"\x80":
            what = "a bare pickle (pickle.dump or torch's legacy format), not a torch zip archive"
        else:
            what = "not a torch zip archive (corrupt, or another kind of file)"
        return f"{what}; it starts with {head!r}"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as err:
        return f"a corrupt zip archive: {err}"
    if not any(name.endswith("/data.pkl") for name in names):
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        return f"a zip archive without the data.pkl record torch.save writes (it holds {shown or 'nothing'})"
    return None


def _refusal_reason(err: pickle.UnpicklingError) -> str:
    """The informative line of torch's weights-only refusal (the global it would have had to import)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Unsupported"):
            return line
    return lines[0] if lines else type(err).__name__


def read_checkpoint(path: str | os.PathLike, expected_format: str | Collection[str], kind: str) -> dict:
    """Read and verify the raw payload of a ``kind`` checkpoint (format tag ``expected_format`` or one of them).

    Raises:
        CheckpointError: the file is missing, a directory, not a torch zip archive, holds objects other
            than plain data, is of another format, or its content does not match its checksum.
    """
    path = Path(path)
    name = str(path)
    if path.is_dir():
        raise CheckpointError(f"{name!r} is a directory, not an {kind} checkpoint (a checkpoint is one .pt file)")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {name!r} does not exist")
    reason = _not_a_torch_archive(path)
    if reason:
        raise CheckpointError(f"{name!r} is not an {kind} checkpoint: {reason}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"checkpoint {name!r} holds objects other than tensors and plain data "
            f"(refused: loading it could run code): {_refusal_reason(err)}"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"checkpoint {name!r} is corrupt or not a torch file: {err}") from None
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"{name!r} is not an {kind} checkpoint: a torch file holding a {type(payload).__name__}, not a checkpoint"
        )
    found = payload.get("format")
    formats = [expected_format] if isinstance(expected_format, str) else expected_format
    if found not in formats:
        formats = list(formats)
        if isinstance(found, str) and ("mlmat" in found):
            why = f"it is a {found!r} checkpoint, {' or '.join(map(repr, formats))} expected"
        else:
            shown = ", ".join(repr(k) for k in list(payload)[:5]) + (", ..." if len(payload) > 5 else "")
            why = f"a torch file of another program (no {formats[0]!r} format tag; entries {shown})"
        raise CheckpointError(f"{name!r} is not an {kind} checkpoint: {why}")
    verify_checksum(payload, path)
    return payload


def verify_checksum(payload: Mapping, path: str | os.PathLike) -> None:
    """Compare the stored checksum with one computed from ``payload``; warn if there is none (older file)."""
    stored = payload.get(CHECKSUM_KEY)
    if stored is None:
        warnings.warn(
            f"checkpoint {str(path)!r} has no checksum (written before ase-mlmat stored one), so its weights "
            "cannot be verified; loading it anyway. Saving it again adds one.",
            UserWarning,
            stacklevel=3,
        )
        return
    try:
        actual = payload_checksum(payload)
    except TypeError as err:
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be verified: {err}") from None
    if actual != stored:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: the weights do not match their checksum (the file is corrupt or was edited; "
            f"sha256 stored {str(stored)[:12]}…, computed {actual[:12]}…)"
        )


def __getattr__(name: str):
    # the model store's potential savers, at the address they had before it existed
    if name in ("load_potential", "save_potential"):
        from . import model_store

        return getattr(model_store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
