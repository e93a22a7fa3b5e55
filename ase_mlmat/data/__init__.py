"""Labelled data: reading structures with energy/forces/stress, splits and k-fold partitions."""

from .dataset import DatasetError, LabelCounts, Labels, get_labels, load_labelled, read_structures
from .splits import kfold_indices, train_val_split

__all__ = [
    "DatasetError",
    "LabelCounts",
    "Labels",
    "get_labels",
    "kfold_indices",
    "load_labelled",
    "read_structures",
    "train_val_split",
]
