"""Training potentials: configuration, trainer, k-fold cross-validation, metrics, plots."""

from .api import TrainResult, cross_validate, evaluate, fit, train
from .config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "cross_validate", "evaluate", "fit", "train"]
