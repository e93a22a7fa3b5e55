"""ase-mlmat: machine-learned potentials and property predictors for ASE.

The top-level names are imported on first use (PEP 562), so importing a light submodule such as
:mod:`ase_mlmat.cli` does not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

_LAZY = {
    "MLCalculator": ".calculator",
    "Potential": ".models",
    "StructureError": ".graph",
    "load_model": ".model_store",
    "save_model": ".model_store",
    "load_potential": ".model_store",
    "save_potential": ".model_store",
}

__all__ = [
    "MLCalculator",
    "Potential",
    "StructureError",
    "__version__",
    "load_model",
    "load_potential",
    "save_model",
    "save_potential",
]

if TYPE_CHECKING:
    from .calculator import MLCalculator
    from .graph import StructureError
    from .model_store import load_model, load_potential, save_model, save_potential
    from .models import Potential


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
