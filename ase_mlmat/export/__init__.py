"""Exported potentials: a self-contained file (AOTInductor package, TorchScript or metatomic model) without ase_mlmat.

:func:`export_model` writes one (``mlmat export``), :func:`load_exported` reads it back with torch alone,
:class:`ExportedCalculator` runs it on ASE atoms. The interface (input and output tensors, units) is in
:mod:`.interface`, the choice of formats in :mod:`.writer`.
"""

from .interface import OUTPUTS, ExportInterface
from .reader import ExportedCalculator, ExportedModel, is_exported, load_exported
from .writer import FORMATS, ExportError, export_model

__all__ = [
    "FORMATS",
    "OUTPUTS",
    "ExportError",
    "ExportInterface",
    "ExportedCalculator",
    "ExportedModel",
    "export_model",
    "is_exported",
    "load_exported",
]
