"""Models shipped inside the package, loadable by name: potentials ("mlearn-Si") and property models."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def available() -> list[str]:
    """Names of the shipped models."""
    return sorted(p.name[: -len(".pt")] for p in files(__name__).iterdir() if p.name.endswith(".pt"))


def path_of(name: str) -> Path:
    """File of the shipped model ``name``."""
    candidate = files(__name__) / f"{name}.pt"
    if not candidate.is_file():
        raise KeyError(f"no shipped model named {name!r}; shipped: {available()}")
    return Path(str(candidate))
