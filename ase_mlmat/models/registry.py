"""Architecture registry: built-in representations plus the ``ase_mlmat.models`` entry-point group.

Strings become classes only here, at the configuration boundary (:func:`build_representation`).

The contract a representation satisfies (PaiNN and CGCNN do; a plugin's class registered under
``ase_mlmat.models`` must too):

- ``__init__(*, num_species, cutoff, **hyper_parameters)`` — keyword-only; ``num_species`` is the length of the
  model's element list (species index = position in it), ``cutoff`` in Å. It may accept ``elements`` (the
  chemical symbols), then it receives them too; if it then keeps a longer list (as CGCNN appends the rest of
  its element table) it exposes it as ``elements``.
- ``cutoff`` (float, Å) and ``num_features`` (int F) attributes.
- ``features(graph) -> (N, F)``: invariant per-atom features (unchanged by rotating, translating or permuting
  the structure). The graph holds ``EDGE_INDEX``, ``SPECIES``, ``BATCH`` and ``EDGE_VECTORS`` (Å; for a
  potential they depend on positions and strain, so forces and stress come from autograd through them).
- ``head_defaults`` (dict, optional): keyword arguments of the heads built on it (``hidden`` widths,
  ``activation``); the heads in :mod:`.heads` fall back to one hidden layer of F/2 with SiLU.
- ``embedding`` (optional): an ``nn.Embedding`` holding all per-species parameters, so
  :meth:`~ase_mlmat.models.potential.Potential.add_elements` can append rows for new elements.

No readout: the heads (:mod:`.heads`) turn features into energies, per-structure or per-atom outputs, so one
representation serves a potential and a property model. An older architecture whose ``forward(graph)``
returns per-atom outputs (N, num_outputs) and that has no ``features`` still works as a potential (its
single output becomes the per-atom energy before reference energies, scale and shift); it cannot be a
property model. A class that has ``features`` and also a readout of its own is used through ``features``;
its readout is left unused (drop it from such a class).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points

import torch
from torch import nn

GROUP = "ase_mlmat.models"


def _builtin() -> dict[str, type[nn.Module]]:
    from .cgcnn import CGCNN
    from .painn import PaiNN

    return {"cgcnn": CGCNN, "painn": PaiNN}


def available() -> list[str]:
    """Names of all registered architectures (built-in and from installed packages)."""
    return sorted(set(_builtin()) | {ep.name for ep in entry_points(group=GROUP)})


def get_architecture(name: str) -> type[nn.Module]:
    """The architecture class registered under ``name``."""
    builtin = _builtin()
    if name in builtin:
        return builtin[name]
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            return ep.load()
    raise KeyError(f"unknown model architecture {name!r}; registered: {available()}")


def is_representation(module: nn.Module) -> bool:
    """Whether ``module`` gives per-atom features (``features`` + ``num_features``) for the heads."""
    return callable(getattr(module, "features", None)) and isinstance(getattr(module, "num_features", None), int)


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Run the block with torch's CPU random state seeded by ``seed`` and restored afterwards (None: as is).

    ``nn.Module`` constructors draw their initial weights from torch's global generator; forking it makes a
    build reproducible without changing the caller's random stream.
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def build_representation(
    architecture: str,
    config: dict,
    num_species: int,
    *,
    elements: Sequence[str] | None = None,
    seed: int | None = None,
) -> nn.Module:
    """An untrained representation of ``architecture`` with the keyword arguments ``config``.

    Args:
        num_species: length of the element list.
        elements: its chemical symbols, passed on where the class takes ``elements`` (CGCNN then uses
            tabulated element features instead of a learned embedding).
        seed: seed of the initial weights (:func:`seeded`); None draws from torch's global generator.

    Raises:
        KeyError: the architecture is not registered.
        TypeError: ``config`` holds a keyword the architecture does not take.
    """
    cls = get_architecture(architecture)
    takes_elements = elements is not None and "elements" in inspect.signature(cls).parameters
    extra = {"elements": list(elements)} if takes_elements else {}
    with seeded(seed):
        return cls(num_species=num_species, **extra, **config)
