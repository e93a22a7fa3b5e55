"""``mlmat screen --calc auto``: each promoted structure gets the shipped potential that covers its elements.

A potential covers a structure when its elements include every element of the structure. Among those that do,
the choice is, in order: the fewest elements the structure does not need (``mlearn-Si`` before
``distilled-Si-C`` for pure Si), a potential trained on DFT (``mlearn-*``) before one distilled from a universal
potential (``distilled-*``), the ``-accurate`` variant before the fast one (a tier runs few structures), then the
name. A structure no shipped potential covers is passed over, and the promotion says which element sets were;
with ``--distil`` (:class:`DistilOnDemand`) one is distilled for it from a teacher (CHGNet by default) instead,
into ``DIR/distilled-<elements>``, and used for every later structure it covers (a rerun finds it there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from ase import Atoms

AUTO = "auto"  # the --calc value


@cache
def shipped_potentials() -> dict[str, tuple[str, ...]]:
    """Name → elements of every shipped potential (property and plugin models are left out)."""
    from ...checkpoint import CheckpointError
    from ...model_store import load_model, shipped

    found = {}
    for name in shipped():
        try:
            model = load_model(name, kind="potential")
        except (CheckpointError, FileNotFoundError, ValueError):
            continue  # another kind of model, or a plugin's file that is not there
        found[name] = tuple(model.elements)
    return found


def _preference(name: str, elements: tuple[str, ...], needed: set[str]) -> tuple:
    return (len(set(elements) - needed), not name.startswith("mlearn-"), not name.endswith("-accurate"), name)


class DistilOnDemand:
    """Distils a potential for a structure no shipped one covers (:mod:`ase_mlmat.workflows.distill`).

    Args:
        root: folder of the runs; the run for elements B and N is ``root/distilled-B-N`` (rerun: resumed).
        teacher: reference spec ("chgnet", "sevenn", "module:Class", a checkpoint).
        options: :class:`~ase_mlmat.workflows.distill.DistillConfig` keys (budget, temperatures_K, active, refit ...).
    """

    def __init__(self, root: str | Path, teacher: str = "chgnet", options: Mapping | None = None):
        self.root = Path(root)
        self.teacher = teacher
        self.options = dict(options or {})

    @staticmethod
    def name_for(symbols: Iterable[str]) -> str:
        return "distilled-" + "-".join(sorted(set(symbols)))

    def done(self) -> dict[str, tuple[Path, tuple[str, ...]]]:
        """Name → (potential file, elements) of the runs in ``root`` that have finished."""
        from ...model_store import load_model

        found = {}
        for path in sorted(self.root.glob("distilled-*/potential.pt")):
            found[path.parent.name] = (path, tuple(load_model(path, kind="potential").elements))
        return found

    def __call__(self, atoms: Atoms) -> tuple[str, Path, tuple[str, ...]]:
        """Distil (or finish distilling) a potential for ``atoms``; (name, file, elements)."""
        from ..distill import config_from_options, distill

        name = self.name_for(atoms.get_chemical_symbols())
        config = config_from_options(self.teacher, str(self.root / name), self.options)
        result = distill([atoms], config)
        from ...model_store import load_model

        return name, result.potential, tuple(load_model(result.potential, kind="potential").elements)


class AutoCalculator:
    """Chooses and builds the calculator of a structure from the shipped potentials (module docstring: the rule).

    Args:
        potentials: name → elements to choose from; default: every shipped potential.
        device: where the chosen :class:`~ase_mlmat.calculator.MLCalculator` runs.
        distil: distils a potential where none covers a structure (its finished runs are choices too).
    """

    def __init__(
        self,
        potentials: Mapping[str, Iterable[str]] | None = None,
        device: str = "cpu",
        distil: DistilOnDemand | None = None,
    ):
        source = shipped_potentials() if potentials is None else potentials
        self.potentials = {name: tuple(elements) for name, elements in source.items()}
        self.device = device
        self.distil = distil
        self._files: dict[str, Path] = {}  # distilled here: name → file (shipped ones load by name)
        self._calculators: dict[str, object] = {}
        for name, (path, elements) in (distil.done() if distil else {}).items():
            self._add(name, path, elements)

    def _add(self, name: str, path: Path, elements: tuple[str, ...]) -> None:
        self.potentials[name] = elements
        self._files[name] = path
        self._calculators.pop(name, None)

    def choose(self, symbols: Iterable[str]) -> str | None:
        """Name of the potential for a structure of these chemical symbols, or None where none covers them."""
        needed = set(symbols)
        covering = [name for name, elements in self.potentials.items() if needed <= set(elements)]
        return min(covering, key=lambda n: _preference(n, self.potentials[n], needed), default=None)

    def source(self, name: str) -> str:
        """What loads potential ``name``: its file where it was distilled here, else the shipped name."""
        return str(self._files.get(name, name))

    def for_atoms(self, atoms: Atoms) -> tuple[str, object] | None:
        """(name, calculator) for ``atoms``, or None; one calculator per potential, reused.

        With ``distil``, a structure no potential covers gets one distilled for it (minutes to hours: the
        teacher's calls and the training).
        """
        name = self.choose(atoms.get_chemical_symbols())
        if name is None and self.distil is not None:
            name, path, elements = self.distil(atoms)
            self._add(name, path, elements)
        if name is None:
            return None
        if name not in self._calculators:
            from ...calculator import MLCalculator

            self._calculators[name] = MLCalculator(self.source(name), device=self.device)
        return name, self._calculators[name]
