"""One propensity model per timescale in one file, selected by time.

Propensity at different times after t = 0 is a different target (its spatial pattern changes as the
relaxation proceeds), so each timescale has its own model — typically a
:class:`~mlmat_glass.ensemble.PropensityEnsemble` with weights chosen on validation — and its own output
scale. All models see the same inputs, so a configuration's graph and descriptors are computed once whatever
timescale is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .ensemble import INPUT_KEYS
from .glass_graph import Graph

# what a model predicts: key → (description, unit)
TARGETS = {
    "mean_abs_displacement": ("mean over the iso-configurational runs of |r_i(t) − r_i(0)|", "σ"),
    "mean_squared_displacement": ("mean over the iso-configurational runs of |r_i(t) − r_i(0)|²", "σ²"),
}
DEFAULT_TARGET = "mean_abs_displacement"


def check_target(target: str) -> str:
    """``target`` if it is a known target name (see :data:`TARGETS`), else ValueError."""
    if target not in TARGETS:
        raise ValueError(f"unknown propensity target {target!r}; choose from {sorted(TARGETS)}")
    return target


class PropensityTimescales(nn.Module):
    """Models of propensity at several times; ``model(graph, index)`` runs the one of timescale ``index``.

    Args:
        models: one trained model per timescale (standardised output), all with the same input settings.
        times: (T,) time of each model after t = 0 (τ); NaN where the data did not store it.
        labels: (T,) names of the timescales (e.g. ``"2800"`` or BOTAN's ``"tc07"``), unique.
        target: what is predicted (a key of :data:`TARGETS`).
        target_mean, target_std: (T,) mean and standard deviation of the target over the A particles of the
            training data (σ or σ²): prediction = target_mean[k] + target_std[k] · models[k](graph).
    """

    def __init__(
        self,
        models: Sequence[nn.Module],
        *,
        times: Sequence[float],
        labels: Sequence[str],
        target: str = DEFAULT_TARGET,
        target_mean: Sequence[float] | None = None,
        target_std: Sequence[float] | None = None,
    ):
        super().__init__()
        n = len(models)
        if n == 0 or len(times) != n or len(labels) != n or len(set(labels)) != n:
            raise ValueError(
                f"need one time and one unique label per model: {n} models, times {times}, labels {labels}"
            )
        inputs = [{k: m.config.get(k) for k in INPUT_KEYS} for m in models]
        if any(i != inputs[0] for i in inputs[1:]):
            raise ValueError(f"the timescales' models must see the same inputs, got {inputs}")
        self.models = nn.ModuleList(models)
        self.config = {
            "kind": "timescales",
            **inputs[0],
            "times": [float(t) for t in times],
            "labels": [str(label) for label in labels],
            "target": check_target(target),
            "models": [dict(m.config) for m in models],
        }
        self.register_buffer("target_mean", torch.zeros(n, dtype=torch.float64))
        self.register_buffer("target_std", torch.ones(n, dtype=torch.float64))
        if target_mean is not None:
            self.target_mean.copy_(torch.as_tensor(list(target_mean), dtype=torch.float64))
        if target_std is not None:
            self.target_std.copy_(torch.as_tensor(list(target_std), dtype=torch.float64))

    @property
    def labels(self) -> list[str]:
        return list(self.config["labels"])

    @property
    def times(self) -> list[float]:
        return list(self.config["times"])

    def describe(self) -> str:
        """The timescales as text, e.g. ``"'tc07' (t unknown), '2800' (t = 2800 τ)"``."""
        return ", ".join(
            f"{label!r} (t unknown)" if math.isnan(t) else f"{label!r} (t = {t:g} τ)"
            for label, t in zip(self.labels, self.times)
        )

    def index(self, time: float | str | None) -> int:
        """Index of the timescale ``time`` names: a label, a time in τ (matched to 0.1 %), or None when the
        model has a single timescale. ValueError, naming the model's timescales, for any other value."""
        if time is None:
            if len(self.models) == 1:
                return 0
            raise ValueError(f"this model has several timescales; choose one with time=: {self.describe()}")
        if isinstance(time, str):
            if time in self.labels:
                return self.labels.index(time)
            try:
                time = float(time)
            except ValueError:
                raise ValueError(f"no timescale {time!r} in this model; it has: {self.describe()}") from None
        for k, t in enumerate(self.times):
            if math.isfinite(t) and abs(float(time) - t) <= 1e-3 * abs(t):
                return k
        raise ValueError(f"no timescale t = {time:g} τ in this model; it has: {self.describe()}")

    def forward(self, graph: Graph, index: int = 0) -> torch.Tensor:
        """Standardised output (N,) of the model of timescale ``index``."""
        return self.models[index](graph)


def timescale_labels(times: Sequence[float], source: str = "") -> list[str]:
    """Labels of a data set's timescales: the time in τ where known (``"2800"``), else BOTAN's ``"tcNN"``
    from the file name in ``source``, else ``"index k"``."""
    import re

    botan = re.search(r"_(tc\d+)", source)
    labels = []
    for k, t in enumerate(times):
        if math.isfinite(t):
            labels.append(f"{t:g}")
        elif botan and len(times) == 1:
            labels.append(botan.group(1))
        else:
            labels.append(f"index {k}")
    return labels
