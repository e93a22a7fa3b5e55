"""One-file checkpoints that load without running code.

The file is a ``torch.save`` of plain containers and tensors: format tag, package
version, architecture name and config, element list, normalisation and weights.
It is read back with ``torch.load(..., weights_only=True)``, whose unpickler only
accepts tensors and builtin containers, so a tampered file cannot execute code.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from ._version import __version__
from .models.potential import Potential

FORMAT = "ase-mlmat-potential/1"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, tampered with or of an unknown format."""


def save_potential(model: Potential, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write ``model`` to ``path`` (one file); ``metadata`` is kept as plain data (e.g. training info)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "version": __version__,
        "architecture": model.architecture,
        "config": model.config,
        "elements": model.elements,
        "state_dict": state,
        "metadata": metadata or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint under the real name
    return path


def read_checkpoint(path: str | os.PathLike, expected_format: str = FORMAT, kind: str = "ase-mlmat potential") -> dict:
    """Read the raw payload of a ``kind`` checkpoint (``expected_format``), refusing anything but plain data."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} holds objects other than tensors and plain data "
            f"(refused: loading it could run code): {str(err).splitlines()[0]}"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or not a torch file: {err}") from None
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{str(path)!r} is not an {kind} checkpoint (format {found!r})")
    return payload


def load_potential(path: str | os.PathLike) -> Potential:
    """Build the :class:`Potential` stored in ``path`` with its weights."""
    payload = read_checkpoint(path)
    try:
        model = Potential(payload["architecture"], payload["config"], payload["elements"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, TypeError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} does not match its architecture: {err}") from None
    model.metadata = payload.get("metadata", {})
    return model.eval()
