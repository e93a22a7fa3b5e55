"""Building blocks: scatter operations, radial bases, cutoff envelopes."""

from .radial import BesselBasis, PolynomialCutoff
from .scatter import scatter_mean, scatter_sum

__all__ = ["BesselBasis", "PolynomialCutoff", "scatter_mean", "scatter_sum"]
