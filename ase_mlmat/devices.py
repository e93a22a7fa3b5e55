"""Where tensors live: "auto" resolves to CUDA when available, and a module's device is read off its tensors."""

from __future__ import annotations

import torch
from torch import nn


def check_device_name(device: str | torch.device) -> None:
    """Raise ValueError unless ``device`` names a device ("auto" included), whether or not this machine has it."""
    if str(device) == "auto":
        return
    try:
        torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from err


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" → CUDA when available, else CPU; anything else as ``torch.device`` reads it.

    Raises:
        ValueError: an unknown device string, or CUDA asked for where torch sees none.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    check_device_name(device)
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {str(device)!r} asked for, but torch sees no CUDA device "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda})"
        )
    return resolved


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (CPU for a module with neither)."""
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")
