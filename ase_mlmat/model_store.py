"""The model store: save and load models of every kind, and resolve a model from a path, a name or an instance.

One file format (``ase-mlmat-model/2``), read with ``torch.load(weights_only=True)`` and checked by its
SHA-256 (:mod:`ase_mlmat.checkpoint`)::

    {"format": "ase-mlmat-model/2", "kind": "potential" | "property" | <a plugin's kind>, "version": ...,
     "spec": {plain data that builds one untrained member: architecture, config, elements, ...},
     "members": [state_dict, ...],   # one: the model itself; several: an Ensemble of them
     "metadata": {plain data: training record, model card, output scaling ...}}

A kind (:class:`ModelKind`) says how to take a model apart into ``spec`` + state dict and build it again.
The core has ``potential`` (:class:`~ase_mlmat.models.potential.Potential`) and ``property``
(:class:`~ase_mlmat.models.property_model.PropertyModel`); a plugin adds its own through the entry-point
group ``ase_mlmat.model_kinds`` (an object with the attributes of :class:`ModelKind`). Files written before
this format (``ase-mlmat-potential/1``, ``ase-mlmat-property/1``, a kind's ``legacy_format``) still load.

Shipped models are found by name: the core's in :mod:`ase_mlmat.pretrained`, a plugin's through the
entry-point group ``ase_mlmat.pretrained`` (name → a callable ``(name) -> path`` of the file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from torch import nn

from . import pretrained
from ._version import __version__
from .checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from .models.ensemble import Ensemble
from .models.potential import Potential
from .models.property_model import PropertyModel

FORMAT = "ase-mlmat-model/2"
KINDS_GROUP = "ase_mlmat.model_kinds"
PRETRAINED_GROUP = "ase_mlmat.pretrained"
# entries of a payload that are not part of a legacy file's spec
_ENVELOPE = ("format", "version", "state_dict", "members", "metadata", "sha256")

ModelSpec = str | os.PathLike | nn.Module


@dataclass(frozen=True)
class ModelKind:
    """How models of one kind are stored.

    Attributes:
        name: the payload's ``kind``.
        label: what error messages call such a file ("ase-mlmat potential").
        types: classes whose instances are of this kind.
        spec: model → plain data that :attr:`build` turns back into an untrained model of the same shape.
        build: spec → untrained model.
        legacy_format: format tag of this kind's files from before ``ase-mlmat-model/2``, if any.
        from_legacy: such a payload → (spec, member state dicts, metadata); default: every entry but the
            envelope is the spec, ``state_dict`` or ``members`` the weights.
        train: a plugin kind's training from a config mapping (``mlmat train CONFIG`` with ``kind: <name>``,
            the other keys passed on) and ``resume`` (``--resume``: continue from the training state beside the
            output): trains, saves, returns plain data to print (the saved path under ``output``, validation
            metrics); on SIGINT/SIGTERM saves the best model so far and the state, then raises
            :class:`~ase_mlmat.train.trainer.TrainingInterrupted`. None: not trainable by ``mlmat train``.
    """

    name: str
    label: str
    types: tuple[type, ...]
    spec: Callable[[nn.Module], dict]
    build: Callable[[dict], nn.Module]
    legacy_format: str | None = None
    from_legacy: Callable[[dict], tuple[dict, list[dict], dict]] | None = field(default=None)
    train: Callable[[dict, bool], dict] | None = None


def _legacy(payload: dict) -> tuple[dict, list[dict], dict]:
    spec = {k: v for k, v in payload.items() if k not in _ENVELOPE}
    members = payload["members"] if "members" in payload else [payload["state_dict"]]
    return spec, members, payload.get("metadata", {})


POTENTIAL = ModelKind(
    name="potential",
    label="ase-mlmat potential",
    types=(Potential,),
    spec=lambda m: {"architecture": m.architecture, "config": m.config, "elements": m.elements},
    build=lambda s: Potential(s["architecture"], s["config"], s["elements"]),
    legacy_format="ase-mlmat-potential/1",
)
PROPERTY = ModelKind(
    name="property",
    label="ase-mlmat property-model",
    types=(PropertyModel,),
    spec=lambda m: {
        "architecture": m.architecture,
        "config": m.config,
        "elements": m.elements,
        "targets": m.targets,
        "max_neighbors": m.max_neighbors,
    },
    build=lambda s: PropertyModel(
        s["architecture"], s["config"], s["elements"], s["targets"], max_neighbors=s["max_neighbors"]
    ),
    legacy_format="ase-mlmat-property/1",
)


CORE_KINDS = {kind.name: kind for kind in (POTENTIAL, PROPERTY)}


@cache
def _plugin_kinds() -> tuple[ModelKind, ...]:
    return tuple(ep.load() for ep in entry_points(group=KINDS_GROUP))


def kinds() -> dict[str, ModelKind]:
    """Every known kind by name: the core's, then the plugins' (importing them)."""
    return {**CORE_KINDS, **{k.name: k for k in _plugin_kinds()}}


def _find(match: Callable[[ModelKind], bool]) -> ModelKind | None:
    """The first kind that ``match``es, trying the core's before importing any plugin."""
    for kind in CORE_KINDS.values():
        if match(kind):
            return kind
    return next((kind for kind in _plugin_kinds() if match(kind)), None)


def kind_of(model: nn.Module) -> ModelKind:
    """The kind of a model or of an ensemble's members.

    Raises:
        TypeError: no known kind stores this class.
    """
    member = model.first if isinstance(model, Ensemble) else model
    found = _find(lambda kind: isinstance(member, kind.types))
    if found is None:
        raise TypeError(f"no model kind stores a {type(member).__name__} (known kinds: {sorted(kinds())})")
    return found


def _label(kind: str | None) -> str:
    found = None if kind is None else _find(lambda k: k.name == kind)
    return found.label if found else "ase-mlmat model"


class _Formats(Collection):
    """Format tags a read of ``kind`` accepts; a plugin is imported only for a tag the core does not know."""

    def __init__(self, kind: str | None):
        self.kind = kind

    def _kind_for(self, tag: object) -> ModelKind | None:
        return _find(lambda k: k.legacy_format == tag and self.kind in (None, k.name))

    def __contains__(self, tag: object) -> bool:
        return tag == FORMAT or self._kind_for(tag) is not None

    def __iter__(self) -> Iterator[str]:
        yield FORMAT
        yield from (k.legacy_format for k in kinds().values() if k.legacy_format and self.kind in (None, k.name))

    def __len__(self) -> int:
        return len(list(iter(self)))


def save_model(model: nn.Module, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write ``model`` (or an :class:`Ensemble`, one state dict per member) to one file; ``metadata`` as plain data.

    Raises:
        TypeError: the model is of no known kind, or ``metadata`` holds something other than plain data.
    """
    kind = kind_of(model)
    members = list(model.members) if isinstance(model, Ensemble) else [model]
    payload = {
        "format": FORMAT,
        "kind": kind.name,
        "version": __version__,
        "spec": kind.spec(members[0]),
        "members": [{k: v.detach().cpu().clone() for k, v in m.state_dict().items()} for m in members],
        "metadata": metadata or {},
    }
    return write_checkpoint(payload, path)


def _read(path: Path, kind: str | None) -> nn.Module:
    if kind is not None and _find(lambda k: k.name == kind) is None:
        raise ValueError(f"unknown model kind {kind!r} (known: {sorted(kinds())})")
    formats = _Formats(kind)
    payload = read_checkpoint(path, formats, _label(kind))
    if payload["format"] == FORMAT:
        found = _find(lambda k: k.name == payload.get("kind"))
        if found is None:
            raise CheckpointError(
                f"{str(path)!r} holds a model of kind {payload.get('kind')!r}, which no installed package provides "
                f"(known: {sorted(kinds())})"
            )
        spec, states, metadata = payload["spec"], payload["members"], payload.get("metadata", {})
    else:
        found = formats._kind_for(payload["format"])
        spec, states, metadata = (found.from_legacy or _legacy)(payload)
    if kind is not None and found.name != kind:
        raise CheckpointError(f"{str(path)!r} is not an {_label(kind)} checkpoint: it holds an {found.label}")
    try:
        members = []
        for state in states:
            member = found.build(spec)
            member.load_state_dict(state)
            members.append(member)
        model = members[0] if len(members) == 1 else Ensemble(members)
    except (KeyError, RuntimeError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} does not match its architecture: {err}") from None
    model.metadata = metadata
    return model.eval()


def shipped() -> list[str]:
    """Names of the shipped models: the core's and the plugins' (entry-point names only: no plugin is imported)."""
    return sorted(set(pretrained.available()) | {ep.name for ep in entry_points(group=PRETRAINED_GROUP)})


def shipped_path(name: str) -> Path:
    """File of the shipped model ``name``.

    Raises:
        FileNotFoundError: no core file and no plugin entry point of that name.
    """
    if name in pretrained.available():
        return pretrained.path_of(name)
    for ep in entry_points(group=PRETRAINED_GROUP):
        if ep.name == name:
            return Path(ep.load()(name))
    raise FileNotFoundError(f"no shipped model named {name!r}; shipped: {shipped()}")


def load_model(spec: ModelSpec, *, kind: str | None = None) -> nn.Module:
    """The model a path, a shipped name or an instance stands for, in eval mode on the CPU (instances as given).

    Args:
        spec: a checkpoint path, a shipped model name ("mlearn-Si", "mp-binary-kg", a plugin's) or a model.
        kind: require this kind ("potential", "property", a plugin's); None accepts any.

    Returns:
        The model, or an :class:`Ensemble` where the file holds several members. Its ``metadata`` attribute
        holds the file's metadata.

    Raises:
        FileNotFoundError: neither a file nor a shipped name.
        CheckpointError: the file is not a model checkpoint (of ``kind``), is corrupt or was edited.
        TypeError: an instance of another kind, or something that is no model at all.
    """
    if isinstance(spec, nn.Module):
        if kind is not None and kind_of(spec).name != kind:
            raise TypeError(f"a {_label(kind)} was expected, got a {type(spec).__name__}")
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"cannot make a model from {type(spec).__name__}")
    return _read(model_path(spec), kind)


def model_path(spec: str | os.PathLike) -> Path:
    """The file ``spec`` names: an existing path as given, else the file of the shipped model of that name.

    Raises:
        FileNotFoundError: neither a file nor a shipped name.
    """
    path = Path(spec)
    if path.exists():
        return path
    try:
        return shipped_path(str(spec))
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{str(spec)!r} is neither a checkpoint file nor a shipped model: {err}") from None


def load_potential(path: ModelSpec) -> Potential:
    """A potential (or an ensemble of them) from a checkpoint path or a shipped name."""
    return load_model(path, kind="potential")


def save_potential(model: Potential, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write a potential to ``path`` (see :func:`save_model`)."""
    return save_model(model, path, metadata)


__all__: Sequence[str] = [
    "CORE_KINDS",
    "FORMAT",
    "ModelKind",
    "kind_of",
    "kinds",
    "load_model",
    "load_potential",
    "model_path",
    "save_model",
    "save_potential",
    "shipped",
    "shipped_path",
]
