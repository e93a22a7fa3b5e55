"""Design of new materials: candidate structures (element substitution into known prototypes) for screening."""

from .generate import generate
from .substitution import Candidate, Prototype, SubstitutionTable, generate_substitutions, read_prototypes

__all__ = ["Candidate", "Prototype", "SubstitutionTable", "generate", "generate_substitutions", "read_prototypes"]
