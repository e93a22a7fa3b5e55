"""Design of new materials: candidates by element substitution into known prototypes and by evolutionary search."""

from .generate import generate
from .substitution import Candidate, Prototype, SubstitutionTable, generate_substitutions, read_prototypes

__all__ = ["Candidate", "Prototype", "SubstitutionTable", "generate", "generate_substitutions", "read_prototypes"]
