"""Where K and G come from: one protocol shared by every result that carries isotropic moduli.

A *moduli source* is any object with ``bulk_modulus_GPa`` and ``shear_modulus_GPa`` (Hill averages,
GPa): the elastic tensor's result, the ML moduli of :mod:`.ml_moduli`, :class:`.moduli.IsotropicModuli`,
or :class:`GivenModuli` for known values. Predictors that derive a property from K and G (hardness,
thermal expansion) take a moduli source through :meth:`.base.PropertyPredictor.predict_from_moduli`,
so they compose with whichever predictor produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .base import PropertyError, PropertyResult
from .moduli import check_moduli


@runtime_checkable
class ModuliSource(Protocol):
    """Anything exposing Hill bulk and shear moduli in GPa (None when unknown, e.g. an unstable tensor)."""

    @property
    def bulk_modulus_GPa(self) -> float | None: ...

    @property
    def shear_modulus_GPa(self) -> float | None: ...


@dataclass(frozen=True)
class GivenModuli(PropertyResult):
    """Known isotropic moduli (GPa), e.g. from experiment or a table."""

    bulk_modulus_GPa: float
    shear_modulus_GPa: float


def moduli_of(source: ModuliSource) -> tuple[float, float]:
    """(K_GPa, G_GPa) of a moduli source, checked finite and positive.

    Raises:
        PropertyError: ``source`` has no moduli (not a moduli source, or K/G None for an unstable
            tensor), or they are not finite and positive.
    """
    if not isinstance(source, ModuliSource):
        raise PropertyError(f"{type(source).__name__} has no bulk_modulus_GPa and shear_modulus_GPa")
    K, G = source.bulk_modulus_GPa, source.shear_modulus_GPa
    if K is None or G is None:
        warnings = getattr(source, "warnings", "")
        raise PropertyError(f"{type(source).__name__} carries no moduli" + (f": {warnings}" if warnings else ""))
    try:
        K, G = float(K), float(G)
    except (TypeError, ValueError):
        raise PropertyError(f"moduli must be numbers (GPa), got K={K!r}, G={G!r}") from None
    check_moduli(K, G)
    return K, G
