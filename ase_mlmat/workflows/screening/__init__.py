"""Hierarchical screening of many structures (``mlmat screen``).

fast tier (ML moduli → E, ν, H_v, K_IC, θ_D, α bound) for all → elastic tensor for the top N →
quasi-harmonic expansion for the top M; every row in an ase.db, resumable; Dask for scale-out.
"""

from .ashby import KNOWN_HARD_PAIRS, ashby_diagram, ashby_from_db
from .fast_tier import screen_batch
from .promote import PromotionSummary, promote
from .run import ScreenSummary, screen
from .sources import iter_structures
from .store import KEY, connect, done_keys

__all__ = [
    "KEY",
    "KNOWN_HARD_PAIRS",
    "PromotionSummary",
    "ScreenSummary",
    "ashby_diagram",
    "ashby_from_db",
    "connect",
    "done_keys",
    "iter_structures",
    "promote",
    "screen",
    "screen_batch",
]
