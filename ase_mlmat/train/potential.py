"""A potential's start: a fresh model normalised on its training data, or a checkpoint prepared for fine-tuning."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from dataclasses import replace

import torch
from ase import Atoms

from .. import keys
from ..calculator import load_model
from ..data import Labels
from ..graph import collate, to_device
from ..models.potential import Potential
from ..models.registry import get_architecture
from ..yaml_config import ConfigError
from .config import DEFAULT_MODEL, TrainConfig
from .targets import fit_reference_energies, force_rms, labelled_graphs


def elements_of(structures: Sequence[Atoms]) -> list[str]:
    """The chemical symbols in ``structures``, in order of atomic number."""
    return by_atomic_number({s for atoms in structures for s in atoms.get_chemical_symbols()})


def by_atomic_number(symbols) -> list[str]:
    from ase.data import atomic_numbers

    return sorted(set(symbols), key=lambda s: atomic_numbers[s])


def build_model(config: TrainConfig, structures: Sequence[Atoms], labels: Sequence[Labels]) -> Potential:
    """A fresh model normalised on the training set, or the ``init_from`` model prepared for fine-tuning.

    Element order: a fresh model takes ``config.elements``, else those of the data by atomic number. A
    fine-tuned model keeps the checkpoint's elements in their order and appends new ones (from
    ``config.elements``, else the data) by atomic number.
    """
    if config.init_from:
        return _finetune_start(config, structures, labels)
    elements = config.elements or elements_of(structures)
    missing = sorted(set(elements_of(structures)) - set(elements))
    if missing:
        raise ValueError(f"data holds elements {missing} that are not in the configured elements {elements}")
    reference = fit_reference_energies(structures, labels, elements)
    options = {**DEFAULT_MODEL, **config.model}
    with torch.random.fork_rng(devices=[]):  # the initial weights follow the seed; the caller's generator is kept
        torch.manual_seed(config.seed)
        return Potential(config.architecture, options, elements, reference, scale=force_rms(labels))


def _check_unchangeable(config: TrainConfig, model: Potential) -> None:
    """ConfigError naming each architecture or ``model:`` option of ``config`` that differs from the checkpoint's."""
    differ = []
    if config.architecture != model.architecture:
        differ.append(f"architecture: checkpoint {model.architecture!r}, given {config.architecture!r}")
    else:
        defaults = {
            name: p.default
            for name, p in inspect.signature(get_architecture(model.architecture).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        for key, given in config.model.items():
            held = model.config.get(key, defaults.get(key))
            if given != held:
                differ.append(f"model.{key}: checkpoint {held!r}, given {given!r}")
    if differ:
        raise ConfigError(
            f"init_from {config.init_from!r} fixes the architecture; cannot change {'; '.join(differ)} "
            "(leave these keys out to inherit the checkpoint's)"
        )


def refit_reference_energies(model: Potential, structures: Sequence[Atoms], labels: Sequence[Labels]) -> None:
    """Set ``model``'s reference energies to the least-squares fit of the energy labels minus the network's part.

    The network part (Σ_i shift + scale · net_i, eV per structure) is what the model predicts besides the
    reference energies; fitting the rest per element leaves the network a zero-mean residual on these labels.
    The per-atom ``shift`` is collinear with the reference energies and is kept; ``scale`` is kept. In place.
    """
    graphs = labelled_graphs(structures, labels, model.elements, model.cutoff)
    reference = model.reference_energies
    exact = copy.deepcopy(model).to(device="cpu", dtype=torch.float64).eval()  # float32 sums would bias the fit
    predicted = []
    with torch.no_grad():
        for start in range(0, len(graphs), 16):
            batch = to_device(collate(graphs[start : start + 16]), "cpu", torch.float64)
            predicted.append(exact(batch, forces=False, stress=False)[keys.ENERGY])  # (B,) eV
    index = {symbol: k for k, symbol in enumerate(model.elements)}
    old = reference.double().cpu().numpy()
    offsets = torch.cat(predicted).numpy() - [sum(old[index[s]] for s in a.get_chemical_symbols()) for a in structures]
    residual = [replace(label, energy=label.energy - offset) for label, offset in zip(labels, offsets)]
    fitted = fit_reference_energies(structures, residual, model.elements)
    model.reference_energies = torch.as_tensor(fitted, dtype=reference.dtype, device=reference.device)


def _finetune_start(config: TrainConfig, structures: Sequence[Atoms], labels: Sequence[Labels]) -> Potential:
    """The ``init_from`` model with the new elements appended and its reference energies refitted on the data."""
    model = copy.deepcopy(load_model(config.init_from))  # a Potential given by the caller is left untouched
    _check_unchangeable(config, model)
    wanted = config.elements or elements_of(structures)
    added = [s for s in by_atomic_number(wanted) if s not in model.elements]
    missing = sorted(set(elements_of(structures)) - set(model.elements) - set(added))
    if missing:
        raise ValueError(f"data holds elements {missing} that are not in the configured elements {wanted}")
    model.add_elements(added)
    before = model.reference_energies.clone()
    refit_reference_energies(model, structures, labels)
    if config.progress:
        shifts = ", ".join(
            f"{s} {b:+.3f} → {a:+.3f}" if s not in added else f"{s} (new) {a:+.3f}"
            for s, b, a in zip(model.elements, before.tolist(), model.reference_energies.tolist())
        )
        print(
            f"fine-tuning {config.init_from}: reference energies refitted (eV/atom): {shifts}; "
            f"learning rate {config.learning_rate:g}",
            flush=True,
        )
    return model
