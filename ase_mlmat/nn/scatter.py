"""Native scatter-sum: the job torch-scatter does, with ``index_add_`` (CPU and CUDA)."""

from __future__ import annotations

import torch


def scatter_sum(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Sum rows of ``src`` (E, ...) into ``dim_size`` bins given by ``index`` (E,)."""
    shape = list(src.shape)
    shape[0] = dim_size
    out = torch.zeros(shape, dtype=src.dtype, device=src.device)
    return out.index_add_(0, index, src)


def scatter_mean(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Mean of rows of ``src`` per bin; empty bins give zero."""
    total = scatter_sum(src, index, dim_size)
    count = torch.zeros(dim_size, dtype=src.dtype, device=src.device).index_add_(
        0, index, torch.ones_like(index, dtype=src.dtype)
    )
    return total / count.clamp(min=1).view(-1, *([1] * (src.dim() - 1)))
