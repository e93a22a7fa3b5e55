"""Active learning: grow a training set where a committee of potentials disagrees.

``run_active_learning(config)`` labels a seed set with a reference ASE calculator, trains a
committee, runs Langevin MD with it, labels the most uncertain and diverse frames, retrains,
and repeats until the MD stays below the uncertainty threshold or the label budget is spent.
Everything lives in an ase.db (:class:`ActiveStore`), so a killed run resumes where it stopped.
:class:`ExtrapolationGrade` is a single-model alternative to the committee (D-optimality, as in MTP).

The names below are imported on first use, so that ``import ase_mlmat.active.cli`` (the command
line's ``learn`` parser) does not load the training stack. ``explore`` is imported at once: it is
also the name of its module, which an import of that module would otherwise bind here.
"""

from __future__ import annotations

import importlib

from .explore import Exploration as Exploration
from .explore import Segment as Segment
from .explore import explore as explore

_EXPORTS = {
    "committee": ("Committee", "committee_errors", "train_committee"),
    "config": (
        "ActiveConfig",
        "CommitteeConfig",
        "ExplorationConfig",
        "SelectionConfig",
        "StoppingConfig",
    ),
    "extrapolation": ("ExtrapolationGrade", "last_layer_features", "maxvol", "select_d_optimal"),
    "labelling": ("LabelResult", "compute_label", "iter_labels", "label_structures", "resolve_reference"),
    "loop": ("ActiveLearner", "ActiveLearningError", "LearnResult", "run_active_learning"),
    "selection": (
        "SELECTION_RULES",
        "Candidate",
        "SelectionContext",
        "SelectionRule",
        "allocate_labels",
        "atomic_force_spread",
        "farthest_point_sampling",
        "frame_uncertainty",
        "rdf_descriptor",
        "select_diverse",
        "select_stratified",
    ),
    "store": ("ActiveStore", "LoopState", "structure_uid"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_WHERE, "Exploration", "Segment", "explore"])


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
