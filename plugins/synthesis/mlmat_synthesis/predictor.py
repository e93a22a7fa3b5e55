"""The ``synthesizability`` property predictor: how much a crystal looks like the known (synthesised) ones.

The score is the mean over the bags of a positive-unlabelled classifier (:mod:`.bagging`) of σ(logit), in
[0, 1]: near 1 for structures like the known Materials Project binaries, near 0 for hypothetical ones unlike
any of them. The structure's cell is first scaled to a reference volume from covalent radii
(:mod:`.volume`), so the score does not depend on its volume: an unrelaxed candidate and its relaxed form
with the same cell shape score alike. Trained on binaries; for other structures it is an extrapolation.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

import numpy as np
import torch
from ase import Atoms

from ase_mlmat.graph import collate
from ase_mlmat.graph.nearest import crystal_graph
from ase_mlmat.model_store import load_model
from ase_mlmat.models.ensemble import Ensemble
from ase_mlmat.properties import PredictionFailure, PropertyPredictor, PropertyResult

from .bagging import TARGET
from .model_io import DEFAULT_MODEL
from .volume import volume_normalized


@dataclasses.dataclass(frozen=True)
class SynthesizabilityResult(PropertyResult):
    """Synthesizability of one structure.

    Attributes:
        synthesizability_score: mean over the bags of P(synthesisable), in [0, 1]; ≥ 0.5 reads "synthesisable".
        synthesizability_std: population standard deviation of the bags' probabilities.
        num_bags: how many classifiers were averaged.
        model: the model's name or path.
    """

    synthesizability_score: float
    synthesizability_std: float
    num_bags: int
    model: str

    def summary_row(self) -> dict:
        """The screening columns: the score and the bags' spread."""
        return {
            "synthesizability_score": self.synthesizability_score,
            "synthesizability_std": self.synthesizability_std,
        }


def as_bags(model: torch.nn.Module) -> Ensemble:
    """The classifier(s) of a synthesizability model as an ensemble (ValueError for any other property model)."""
    bags = model if isinstance(model, Ensemble) else Ensemble([model])
    if list(bags.targets) != [TARGET]:
        raise ValueError(f"a synthesizability model has the one output {TARGET!r}, this one {list(bags.targets)}")
    return bags


class SynthesizabilityPredictor(PropertyPredictor):
    """Positive-unlabelled synthesizability score of a crystal (no calculator needed).

    Args:
        model: a shipped model name, a checkpoint path, or a loaded model / ensemble of bags.
        batch_size: structures per forward pass in :meth:`predict_many`.
    """

    name: ClassVar[str] = "synthesizability"
    runs_in_fast_tier: ClassVar[bool] = True  # structure only, batched: a column of every screening row

    def __init__(self, model: str | os.PathLike | torch.nn.Module = DEFAULT_MODEL, *, batch_size: int = 256):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        loaded = load_model(model, kind="property")
        if isinstance(model, torch.nn.Module):
            loaded = copy.deepcopy(loaded)  # the caller's model is not put in eval mode under them
        self.bags = as_bags(loaded).cpu().eval()
        self.model_name = model if isinstance(model, str) else type(model).__name__
        self.batch_size = int(batch_size)

    def graph(self, atoms: Atoms) -> dict[str, torch.Tensor]:
        """The crystal graph the bags read: of ``atoms`` scaled to its reference volume."""
        return crystal_graph(
            volume_normalized(atoms), self.bags.cutoff, self.bags.elements, max_neighbors=self.bags.max_neighbors
        )

    @torch.no_grad()
    def bag_probabilities(self, graphs: Sequence[dict]) -> np.ndarray:
        """σ(logit) of every bag on every graph, (bags, n)."""
        rows = []
        for start in range(0, len(graphs), self.batch_size):
            batch = collate(graphs[start : start + self.batch_size])
            logits = torch.stack([bag(batch)[:, 0] for bag in self.bags.members])  # (bags, B)
            rows.append(torch.sigmoid(logits.double()).numpy())
        return np.concatenate(rows, axis=1) if rows else np.zeros((len(self.bags), 0))

    def _result(self, probabilities: np.ndarray) -> SynthesizabilityResult:
        return SynthesizabilityResult(
            synthesizability_score=float(np.mean(probabilities)),
            synthesizability_std=float(np.std(probabilities)),
            num_bags=len(probabilities),
            model=str(self.model_name),
        )

    def predict(self, atoms: Atoms, calculator=None) -> SynthesizabilityResult:
        return self._result(self.bag_probabilities([self.graph(atoms)])[:, 0])

    def iter_predictions(
        self, structures: Iterable[Atoms], calculator=None, *, allow_errors: bool = True, progress: bool = True
    ) -> Iterator[SynthesizabilityResult | PredictionFailure]:
        """Results in input order, the structures batched; a structure whose graph fails gets a failure record."""
        structures = list(structures)
        graphs, where, failures = [], [], {}
        for index, atoms in enumerate(structures):
            try:
                graphs.append(self.graph(atoms))
                where.append(index)
            except Exception as err:  # reported per structure
                if not allow_errors:
                    raise
                label = str(atoms.info.get("label", atoms.get_chemical_formula()))
                failures[index] = PredictionFailure.from_exception(err, index=index, label=label)
        probabilities = self.bag_probabilities(graphs)
        column = dict(zip(where, range(len(where))))
        for index in range(len(structures)):
            yield failures[index] if index in failures else self._result(probabilities[:, column[index]])
