"""Gaussian expansion of edge lengths (Å), the edge features of CGCNN (Xie & Grossman 2018)."""

from __future__ import annotations

import torch
from torch import nn


class GaussianBasis(nn.Module):
    """exp(−(r − μ_k)² / w²) for centres μ_k = start, start + step, … , stop (Å) and width w (Å).

    Args:
        start, stop: first and last centre, Å.
        step: spacing of the centres, Å.
        width: Gaussian width w, Å (default: the spacing).
    """

    def __init__(self, start: float = 0.0, stop: float = 8.0, step: float = 0.2, width: float | None = None):
        super().__init__()
        if step <= 0 or stop <= start:
            raise ValueError(f"need stop > start and step > 0, got start={start}, stop={stop}, step={step}")
        count = round((stop - start) / step) + 1
        self.register_buffer("centres", torch.linspace(start, stop, count))
        self.width = float(width if width is not None else step)

    @property
    def num_basis(self) -> int:
        return int(self.centres.numel())

    def forward(self, r: torch.Tensor) -> torch.Tensor:  # (E,) -> (E, num_basis)
        return torch.exp(-((r.unsqueeze(-1) - self.centres.to(r.dtype)) ** 2) / self.width**2)
