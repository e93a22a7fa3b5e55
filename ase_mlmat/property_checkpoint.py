"""One-file checkpoints of property models and ensembles, loaded with ``weights_only=True``.

Same guarantees as :mod:`ase_mlmat.checkpoint`: plain containers and tensors only, so loading
cannot run code, and a SHA-256 of the content checked on load. One file holds the shared
architecture config, element list, target names and one state dict per ensemble member.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._version import __version__
from .checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from .models.property_model import PropertyEnsemble, PropertyModel

FORMAT = "ase-mlmat-property/1"


def save_property_model(
    model: PropertyModel | PropertyEnsemble, path: str | os.PathLike, metadata: dict | None = None
) -> Path:
    """Write a model or ensemble to ``path``; ``metadata`` is kept as plain data."""
    ensemble = model if isinstance(model, PropertyEnsemble) else PropertyEnsemble([model])
    first = ensemble.first
    payload = {
        "format": FORMAT,
        "version": __version__,
        "architecture": first.architecture,
        "config": first.config,
        "elements": first.elements,
        "targets": first.targets,
        "max_neighbors": first.max_neighbors,
        "members": [{k: v.detach().cpu().clone() for k, v in m.state_dict().items()} for m in ensemble.members],
        "metadata": metadata or {},
    }
    return write_checkpoint(payload, path)


def load_property_model(path: str | os.PathLike) -> PropertyEnsemble:
    """The ensemble (one member or more) stored in ``path``, in eval mode, float32 on the CPU."""
    payload = read_checkpoint(path, FORMAT, "ase-mlmat property-model")
    try:
        members = []
        for state in payload["members"]:
            member = PropertyModel(
                payload["architecture"],
                payload["config"],
                payload["elements"],
                payload["targets"],
                max_neighbors=payload["max_neighbors"],
            )
            member.load_state_dict(state)
            members.append(member)
        ensemble = PropertyEnsemble(members)
    except (KeyError, RuntimeError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} does not match its architecture: {err}") from None
    ensemble.metadata = payload.get("metadata", {})
    return ensemble.eval()
