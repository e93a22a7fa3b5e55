"""Active learning: grow a training set where a committee of potentials disagrees.

``run_active_learning(config)`` labels a seed set with a reference ASE calculator, trains a
committee, runs Langevin MD with it, labels the most uncertain and diverse frames, retrains,
and repeats until the MD stays below the uncertainty threshold or the label budget is spent.
Everything lives in an ase.db (:class:`ActiveStore`), so a killed run resumes where it stopped.
:class:`ExtrapolationGrade` is a single-model alternative to the committee (D-optimality, as in MTP).
"""

from .committee import Committee, committee_errors, train_committee
from .config import ActiveConfig
from .explore import Exploration, explore
from .extrapolation import ExtrapolationGrade, last_layer_features, maxvol, select_d_optimal
from .labelling import LabelResult, compute_label, iter_labels, label_structures, resolve_reference
from .loop import ActiveLearner, ActiveLearningError, LearnResult, run_active_learning
from .selection import (
    allocate_labels,
    atomic_force_spread,
    farthest_point_sampling,
    frame_uncertainty,
    rdf_descriptor,
    select_diverse,
    select_stratified,
)
from .store import ActiveStore, LoopState, structure_uid

__all__ = [
    "ActiveConfig",
    "ActiveLearner",
    "ActiveLearningError",
    "ActiveStore",
    "Committee",
    "Exploration",
    "ExtrapolationGrade",
    "LabelResult",
    "LearnResult",
    "LoopState",
    "allocate_labels",
    "atomic_force_spread",
    "committee_errors",
    "compute_label",
    "explore",
    "farthest_point_sampling",
    "frame_uncertainty",
    "iter_labels",
    "label_structures",
    "last_layer_features",
    "maxvol",
    "rdf_descriptor",
    "resolve_reference",
    "run_active_learning",
    "select_d_optimal",
    "select_diverse",
    "select_stratified",
    "structure_uid",
    "train_committee",
]
