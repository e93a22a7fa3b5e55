"""``hardness``: Vickers hardness and fracture toughness of a structure, from its elastic moduli."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from ase import Atoms
from mlmat_elastic import ElasticPredictor

from ase_mlmat.properties import PropertyError, PropertyPredictor

from .result import HardnessResult, hardness_from_moduli

ModuliModel = Callable[[Atoms], tuple[float, float]]  # atoms → (K_GPa, G_GPa)


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


class HardnessPredictor(PropertyPredictor):
    """Mazhnik–Oganov hardness and fracture toughness, with the Chen and Tian hardness for comparison.

    The moduli come from ``moduli_model(atoms)`` if one is given (no calculator needed), else from the
    elastic tensor computed with the calculator by :class:`mlmat_elastic.ElasticPredictor`; with neither,
    from the shipped structure → property model ``fast_model`` (the "fast ML estimate" tier,
    ``moduli_source="fast_ml"``). Results of
    metals and intermetallics, and of Poisson ratios outside the trusted range, are returned with
    ``reliable=False`` and the reason in ``warnings``; see :class:`~mlmat_hardness.result.HardnessResult`.

    Args:
        elastic_options: keyword arguments of :class:`~mlmat_elastic.ElasticPredictor`.
        moduli_model: callable ``(atoms) -> (K_GPa, G_GPa)``, e.g. a machine-learned property model,
            or its import path ``"package.module:function"``; replaces the elastic calculation.
        fast_model: shipped name or checkpoint of the ase-mlmat K/G model used when neither a calculator
            nor a moduli_model is given; None makes a calculator or moduli_model compulsory.
    """

    name: ClassVar[str] = "hardness"
    needs_calculator: ClassVar[bool] = True  # unless a moduli_model is given

    def __init__(
        self,
        *,
        elastic_options: Mapping[str, Any] | None = None,
        moduli_model: ModuliModel | str | None = None,
        fast_model: str | None = "mp-binary-kg",
    ) -> None:
        self.elastic = ElasticPredictor(**dict(elastic_options or {}))
        self.moduli_model = _load_model(moduli_model)
        self.fast_model = fast_model
        self._fast_moduli: ModuliModel | None = None  # loaded on first use

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

    def predict(self, atoms: Atoms, calculator=None) -> HardnessResult:
        """Hardness of ``atoms`` (not modified).

        Raises:
            PropertyError: neither a calculator nor a moduli model, an unstable elastic tensor,
                a failing calculator or model, or unphysical moduli.
        """
        label = str(atoms.info.get("label") or atoms.get_chemical_formula())
        elements = atoms.get_chemical_symbols()
        if self.moduli_model is not None:
            K, G = self._model_moduli(atoms, label)
            return hardness_from_moduli(
                K, G, atoms.get_volume() / len(atoms), label=label, elements=elements, moduli_source="moduli_model"
            )
        if calculator is None and self.fast_model is not None:
            K, G = self._fast_ml_moduli(atoms, label)
            return hardness_from_moduli(
                K, G, atoms.get_volume() / len(atoms), label=label, elements=elements, moduli_source="fast_ml"
            )
        if calculator is None:
            raise PropertyError(
                f"hardness of {label} needs a calculator (for the elastic tensor) or a property model "
                "(HardnessPredictor(moduli_model=callable(atoms) -> (K_GPa, G_GPa)))"
            )
        elastic = self.elastic.predict(atoms, calculator)
        if not elastic.born_stable:
            raise PropertyError(f"no hardness for {label}: {elastic.warnings}")
        return hardness_from_moduli(
            elastic.bulk_modulus_GPa,
            elastic.shear_modulus_GPa,
            elastic.volume_per_atom_A3,
            label=label,
            elements=elements,
            moduli_source="elastic",
            elastic=elastic,
        )

    def _fast_ml_moduli(self, atoms: Atoms, label: str) -> tuple[float, float]:
        if self._fast_moduli is None:
            from ase_mlmat.properties.ml_moduli import MLModuli

            try:
                self._fast_moduli = MLModuli(self.fast_model)
            except (FileNotFoundError, ValueError) as err:
                raise PropertyError(f"no calculator given and the fast ML model is unavailable: {err}") from None
        try:
            return self._fast_moduli(atoms.copy())
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
