"""Glass mobility for ase-mlmat: Kob–Andersen MD, iso-configurational data, and a graph network for propensity.

Entry point ``glass_mobility`` of ``ase_mlmat.properties``::

    from mlmat_glass import GlassMobilityPredictor, load_sample

    atoms = load_sample("isoconfig_N4096T0.44_1_tc07.npz").to_atoms()
    result = GlassMobilityPredictor().predict(atoms)
    result.propensity_sigma          # (N,) predicted propensity, σ
"""

from __future__ import annotations

__version__ = "0.1.0"

from .isoconfig import IsoconfigResult, run_isoconfig
from .kob_andersen import ForceResult, kob_andersen_forces
from .predictor import GlassMobilityPredictor, GlassMobilityResult, shipped_models
from .species import GlassInputError, glass_atoms, particle_types
from .storage import GlassSample, from_bapst, from_botan, load_sample, save_sample

__all__ = [
    "ForceResult",
    "GlassInputError",
    "GlassMobilityPredictor",
    "GlassMobilityResult",
    "GlassSample",
    "IsoconfigResult",
    "from_bapst",
    "from_botan",
    "glass_atoms",
    "kob_andersen_forces",
    "load_sample",
    "particle_types",
    "run_isoconfig",
    "save_sample",
    "shipped_models",
]
