"""Training potentials and property models: one configuration, one trainer, k-fold cross-validation, metrics, plots."""

from .api import cross_validate, evaluate, fit, train
from .config import TrainConfig
from .losses import LossTerm, PotentialTask, PropertyTask, Task
from .property import leave_element_out
from .trainer import TrainResult

__all__ = [
    "LossTerm",
    "PotentialTask",
    "PropertyTask",
    "Task",
    "TrainConfig",
    "TrainResult",
    "cross_validate",
    "evaluate",
    "fit",
    "leave_element_out",
    "train",
]
