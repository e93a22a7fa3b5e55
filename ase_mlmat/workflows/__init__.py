"""Workflows that drive any ASE calculator: molecular dynamics, relaxation, phonons."""

from .md import MDResult, run_md
from .phonons import make_phonopy, mesh_frequencies
from .relax import relax

__all__ = ["MDResult", "make_phonopy", "mesh_frequencies", "relax", "run_md"]
