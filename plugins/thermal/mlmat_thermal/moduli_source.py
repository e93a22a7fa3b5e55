"""Where the bound and Debye tiers get K and G (GPa) from, in order of precedence.

1. an explicit value: ``(K_GPa, G_GPa)``, a 6×6 Voigt stiffness tensor C (GPa, reduced by
   Voigt–Reuss–Hill), or a moduli source (:class:`ase_mlmat.properties.ModuliSource`: any result with
   ``bulk_modulus_GPa`` and ``shear_modulus_GPa``, e.g. the elastic result or the ML moduli);
2. ``atoms.info``: ``bulk_modulus_GPa`` and ``shear_modulus_GPa``, or ``elastic_tensor_GPa`` (6×6);
3. a provider ``provider(atoms, calculator)`` returning any of the above;
4. the ``elastic`` property predictor, if installed, through the registry (:func:`ase_mlmat.properties.create`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from ase import Atoms

from ase_mlmat.properties import ModuliSource, PropertyError, moduli_of
from ase_mlmat.properties.moduli import isotropic_moduli

ModuliProvider = Callable[[Atoms, Any], Any]
PAIR = ("bulk_modulus_GPa", "shear_modulus_GPa")  # the moduli-source names, also the atoms.info keys
TENSOR = "elastic_tensor_GPa"  # atoms.info key of a 6×6 C in GPa


def _from_tensor(C: Any) -> tuple[float, float]:
    return moduli_of(isotropic_moduli(np.asarray(C, dtype=float)))  # PropertyError unless positive definite


def moduli_from(value: Any) -> tuple[float, float]:
    """(K_GPa, G_GPa) from a pair, a 6×6 C tensor, a mapping with the moduli-source keys, or a moduli source.

    Raises:
        PropertyError: nothing recognisable, or moduli that are non-finite or not positive.
    """
    if isinstance(value, Mapping):
        if all(name in value for name in PAIR):
            return moduli_of(_Pair(value[PAIR[0]], value[PAIR[1]]))
        if TENSOR in value:
            return _from_tensor(value[TENSOR])
        raise PropertyError(f"no moduli among keys {sorted(value)}; expected {PAIR[0]} and {PAIR[1]}, or {TENSOR}")
    if isinstance(value, (tuple, list, np.ndarray)):
        array = np.asarray(value, dtype=float)
        if array.shape == (2,):
            return moduli_of(_Pair(*array))
        if array.shape == (6, 6):
            return _from_tensor(array)
        raise PropertyError(f"moduli must be (K_GPa, G_GPa) or a 6×6 tensor in GPa, got shape {array.shape}")
    if isinstance(value, ModuliSource):
        return moduli_of(value)
    raise PropertyError(f"cannot read bulk and shear moduli from {type(value).__name__}")


class _Pair:
    """A bare (K, G) pair seen as a moduli source, so every path goes through one check."""

    def __init__(self, K: Any, G: Any) -> None:
        self.bulk_modulus_GPa, self.shear_modulus_GPa = K, G


def moduli_from_info(atoms: Atoms) -> tuple[float, float] | None:
    """(K_GPa, G_GPa) from ``atoms.info`` or None when it holds none."""
    if all(name in atoms.info for name in PAIR) or TENSOR in atoms.info:
        return moduli_from(atoms.info)
    return None


def elastic_plugin_provider(atoms: Atoms, calculator: Any) -> tuple[float, float]:
    """K, G from the registered ``elastic`` predictor (finite strain with ``calculator``)."""
    from ase_mlmat.properties import available, create

    if "elastic" not in available():
        raise PropertyError(
            "no moduli for this structure: pass moduli=(K_GPa, G_GPa) or a 6×6 tensor, set "
            "atoms.info['bulk_modulus_GPa'] and ['shear_modulus_GPa'], give a moduli_provider, "
            "or install the elastic property plugin"
        )
    if calculator is None:
        raise PropertyError("the elastic plugin needs a calculator to compute moduli")
    return moduli_of(create("elastic").predict(atoms, calculator))


def resolve_moduli(
    atoms: Atoms,
    calculator: Any = None,
    *,
    moduli: Any = None,
    provider: ModuliProvider | None = None,
    use_elastic_plugin: bool = True,
) -> tuple[float, float, str] | None:
    """(K_GPa, G_GPa, source) by the precedence in the module docstring.

    ``source`` is "given", "atoms.info", "provider" or "elastic plugin". Without ``use_elastic_plugin``
    the answer is None when steps 1–3 find nothing; with it, PropertyError says how to supply moduli.
    """
    if moduli is not None:
        return (*moduli_from(moduli), "given")
    from_info = moduli_from_info(atoms)
    if from_info is not None:
        return (*from_info, "atoms.info")
    if provider is not None:
        return (*moduli_from(provider(atoms, calculator)), "provider")
    if not use_elastic_plugin:
        return None
    return (*elastic_plugin_provider(atoms, calculator), "elastic plugin")
