"""``hardness``: Vickers hardness and fracture toughness of a structure, from its elastic moduli."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from ase import Atoms

from ase_mlmat.properties import ModuliSource, PropertyError, PropertyPredictor, PropertyResult, create, moduli_of

from .result import HardnessResult, hardness_from_moduli

ModuliModel = Callable[[Atoms], tuple[float, float]]  # atoms → (K_GPa, G_GPa)
SOURCE_NAMES = {"ElasticResult": "elastic", "ModuliPrediction": "fast_ml", "GivenModuli": "given"}


def _load_model(model: ModuliModel | str | None) -> ModuliModel | None:
    """A callable, or one named by an import path "package.module:function" (usable from the CLI)."""
    if model is None or callable(model):
        return model
    if isinstance(model, str) and ":" in model:
        module, _, name = model.partition(":")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"cannot load moduli_model {model!r}: {err}") from None
    raise ValueError(f"moduli_model must be a callable (atoms) -> (K_GPa, G_GPa) or 'module:function', got {model!r}")


def _label(atoms: Atoms) -> str:
    return str(atoms.info.get("label") or atoms.get_chemical_formula())


class HardnessPredictor(PropertyPredictor):
    """Mazhnik–Oganov hardness and fracture toughness, with the Chen and Tian hardness for comparison.

    A property of the isotropic moduli K and G (:meth:`predict_from_moduli` takes any moduli source).
    :meth:`predict` finds them: from ``moduli_model(atoms)`` if one is given; else, with a calculator,
    from the ``elastic`` predictor of the registry (finite-strain tensor); else from the shipped
    structure → property model ``fast_model`` (``moduli_source="fast_ml"``). Results of metals and
    intermetallics, and of Poisson ratios outside the trusted range, are returned with
    ``reliable=False`` and the reason in ``warnings``; see :class:`~mlmat_hardness.result.HardnessResult`.

    Args:
        elastic_options: options of the registered ``elastic`` predictor (checked here when given).
        moduli_model: callable ``(atoms) -> (K_GPa, G_GPa)``, e.g. a machine-learned property model,
            or its import path ``"package.module:function"``; replaces the elastic calculation.
        fast_model: shipped name or checkpoint of the ase-mlmat K/G model used when neither a calculator
            nor a moduli_model is given; None makes a calculator or moduli_model compulsory.
    """

    name: ClassVar[str] = "hardness"
    needs_calculator: ClassVar[bool] = True  # unless a moduli_model or the fast model is used
    consumes_moduli: ClassVar[bool] = True

    def __init__(
        self,
        *,
        elastic_options: Mapping[str, Any] | None = None,
        moduli_model: ModuliModel | str | None = None,
        fast_model: str | None = "mp-binary-kg",
    ) -> None:
        self.elastic_options = dict(elastic_options or {})
        # built now when configured, so that bad options fail here; else on first use with a calculator
        self._elastic: PropertyPredictor | None = create("elastic", **self.elastic_options) if elastic_options else None
        self.moduli_model = _load_model(moduli_model)
        self.fast_model = fast_model
        self._fast_moduli = None  # MLModuli, loaded on first use

    @property
    def elastic(self) -> PropertyPredictor:
        """The registered ``elastic`` predictor with ``elastic_options``."""
        if self._elastic is None:
            try:
                self._elastic = create("elastic", **self.elastic_options)
            except KeyError as err:
                raise PropertyError(f"hardness with a calculator needs the elastic predictor: {err}") from None
        return self._elastic

    @staticmethod
    def from_moduli(
        K_GPa: float,
        G_GPa: float,
        volume_per_atom_A3: float,
        *,
        label: str = "",
        elements: Iterable[str] | None = None,
    ) -> HardnessResult:
        """Hardness of known moduli: K, G in GPa, volume per atom in Å³, chemical symbols for the metal flag.

        Raises:
            PropertyError: non-finite or non-positive K, G or volume (ν outside (−1, 0.5)).
        """
        return hardness_from_moduli(K_GPa, G_GPa, volume_per_atom_A3, label=label, elements=elements)

    def predict_from_moduli(self, atoms: Atoms, moduli: ModuliSource, source: str | None = None) -> HardnessResult:
        """Hardness of ``atoms`` from a moduli source (an elastic result, ML moduli, given values).

        The toughness takes the source's ``volume_per_atom_A3`` when it has one (the relaxed structure
        an elastic tensor belongs to), else that of ``atoms``.

        Raises:
            PropertyError: the source has no moduli (an unstable tensor) or they are unphysical.
        """
        K, G = moduli_of(moduli)
        name = type(moduli).__name__
        volume = getattr(moduli, "volume_per_atom_A3", None)
        return hardness_from_moduli(
            K,
            G,
            atoms.get_volume() / len(atoms) if volume is None else volume,
            label=_label(atoms),
            elements=atoms.get_chemical_symbols(),
            moduli_source=source or SOURCE_NAMES.get(name, name),
            moduli_result=moduli if isinstance(moduli, PropertyResult) else None,
        )

    def predict(self, atoms: Atoms, calculator=None) -> HardnessResult:
        """Hardness of ``atoms`` (not modified).

        Raises:
            PropertyError: neither a calculator nor a moduli model, an unstable elastic tensor,
                a failing calculator or model, or unphysical moduli.
        """
        label = _label(atoms)
        if self.moduli_model is not None:
            K, G = self._model_moduli(atoms, label)
            return hardness_from_moduli(
                K,
                G,
                atoms.get_volume() / len(atoms),
                label=label,
                elements=atoms.get_chemical_symbols(),
                moduli_source="moduli_model",
            )
        if calculator is None and self.fast_model is not None:
            return self.predict_from_moduli(atoms, self._fast_ml_moduli(atoms, label), "fast_ml")
        if calculator is None:
            raise PropertyError(
                f"hardness of {label} needs a calculator (for the elastic tensor) or a property model "
                "(HardnessPredictor(moduli_model=callable(atoms) -> (K_GPa, G_GPa)))"
            )
        elastic = self.elastic.predict(atoms, calculator)
        if not elastic.born_stable:
            raise PropertyError(f"no hardness for {label}: {elastic.warnings}")
        return self.predict_from_moduli(atoms, elastic, "elastic")

    def _fast_ml_moduli(self, atoms: Atoms, label: str):
        if self._fast_moduli is None:
            from ase_mlmat.properties.ml_moduli import MLModuli

            try:
                self._fast_moduli = MLModuli(self.fast_model)
            except (FileNotFoundError, ValueError) as err:
                raise PropertyError(f"no calculator given and the fast ML model is unavailable: {err}") from None
        try:
            return self._fast_moduli.predict(atoms.copy())
        except Exception as err:
            raise PropertyError(f"fast ML moduli failed on {label}: {type(err).__name__}: {err}") from err

    def _model_moduli(self, atoms: Atoms, label: str) -> tuple[float, float]:
        try:
            K, G = self.moduli_model(atoms.copy())
        except PropertyError:
            raise
        except Exception as err:
            raise PropertyError(f"moduli_model failed on {label}: {type(err).__name__}: {err}") from err
        return K, G
