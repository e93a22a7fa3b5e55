"""Hierarchical screening of many structures (``mlmat screen``).

fast tier (ML moduli → E, ν, θ_D in the core; H_v, K_IC, α… from the installed predictors that take moduli)
for all → relaxation (and the fast tier again) for the top R → elastic tensor for the top N → quasi-harmonic
expansion for the top M; every row in an ase.db, resumable; Dask for scale-out.
"""

from .ashby import KNOWN_HARD_PAIRS, ashby_diagram, ashby_from_db, ashby_from_results
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
    "ashby_from_results",
    "connect",
    "done_keys",
    "iter_structures",
    "promote",
    "screen",
    "screen_batch",
]
