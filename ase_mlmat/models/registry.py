"""Architecture registry: built-in classes plus the ``ase_mlmat.models`` entry-point group.

An architecture is an ``nn.Module`` class built from keyword arguments (``num_species``,
``cutoff`` and its own hyper-parameters) whose ``forward(graph)`` returns per-atom outputs
(N, num_outputs). Strings become classes only here, at the configuration boundary.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from torch import nn

GROUP = "ase_mlmat.models"


def _builtin() -> dict[str, type[nn.Module]]:
    from .cgcnn import CGCNN
    from .painn import PaiNN

    return {"cgcnn": CGCNN, "painn": PaiNN}


def available() -> list[str]:
    """Names of all registered architectures (built-in and from installed packages)."""
    return sorted(set(_builtin()) | {ep.name for ep in entry_points(group=GROUP)})


def get_architecture(name: str) -> type[nn.Module]:
    """The architecture class registered under ``name``."""
    builtin = _builtin()
    if name in builtin:
        return builtin[name]
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            return ep.load()
    raise KeyError(f"unknown model architecture {name!r}; registered: {available()}")
