"""Where the shipped synthesizability models are: ``mlmat_synthesis/pretrained/<name>.pt``.

A model is an :class:`~ase_mlmat.models.ensemble.Ensemble` of one-output CGCNN
:class:`~ase_mlmat.models.property_model.PropertyModel` s (the bags, output ``synthesizability_logit``), stored
by :mod:`ase_mlmat.model_store` as a model of kind ``property`` (one file, ``torch.load(weights_only=True)``,
SHA-256 checked); its metadata hold the model card. Registered by name in the entry-point group
``ase_mlmat.pretrained``, so ``ase_mlmat.model_store.load_model("mp-binary-synthesizability")`` finds it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_MODEL = "mp-binary-synthesizability"


def shipped_path(name: str) -> Path:
    """File of the synthesizability model shipped as ``name``."""
    path = Path(str(resources.files("mlmat_synthesis") / "pretrained" / f"{name}.pt"))
    if not path.is_file():
        raise FileNotFoundError(f"no shipped synthesizability model {name!r}")
    return path
