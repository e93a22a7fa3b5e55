"""Synthesizability of crystals by positive-unlabelled learning, for ase-mlmat.

Entry point ``synthesizability`` of ``ase_mlmat.properties``::

    from ase_mlmat.properties import create

    result = create("synthesizability").predict(atoms)
    result.synthesizability_score    # in [0, 1]

Method (Jang et al., JACS 142, 18836 (2020)): :mod:`.bagging`; volume-blind inputs: :mod:`.volume`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .predictor import SynthesizabilityPredictor, SynthesizabilityResult
from .volume import reference_volume, volume_normalized

__all__ = ["SynthesizabilityPredictor", "SynthesizabilityResult", "reference_volume", "volume_normalized"]
