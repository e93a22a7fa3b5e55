"""Where the bound and Debye tiers get K and G (GPa) from, in order of precedence.

1. an explicit value: ``(K_GPa, G_GPa)``, a mapping with ``bulk_modulus_GPa`` / ``shear_modulus_GPa``,
   or a 6×6 Voigt stiffness tensor C (GPa, reduced by Voigt–Reuss–Hill);
2. ``atoms.info``: ``bulk_modulus_GPa`` and ``shear_modulus_GPa``, or ``elastic_tensor_GPa`` (6×6);
3. a provider ``provider(atoms, calculator)`` returning any of the above or a result object carrying them;
4. the ``elastic`` property plugin, if installed, through :func:`ase_mlmat.properties.create`
   (imported only when needed, never at import of this package).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from ase import Atoms

from ase_mlmat.properties import PropertyError
from ase_mlmat.properties.moduli import check_moduli, isotropic_moduli

ModuliProvider = Callable[[Atoms, Any], Any]

# (bulk, shear) attribute or key names understood on results and mappings, Hill averages first
_PAIR_NAMES = (
    ("bulk_modulus_GPa", "shear_modulus_GPa"),
    ("bulk_modulus_vrh_GPa", "shear_modulus_vrh_GPa"),
    ("K_VRH_GPa", "G_VRH_GPa"),
    ("K_GPa", "G_GPa"),
)
_TENSOR_NAMES = ("elastic_tensor_GPa", "C_GPa", "stiffness_GPa", "elastic_constants_GPa")


def _checked(K: Any, G: Any) -> tuple[float, float]:
    try:
        K, G = float(K), float(G)
    except (TypeError, ValueError):
        raise PropertyError(f"moduli must be numbers (GPa), got K={K!r}, G={G!r}") from None
    check_moduli(K, G)
    return K, G


def _from_tensor(C: Any) -> tuple[float, float]:
    m = isotropic_moduli(np.asarray(C, dtype=float))  # PropertyError if not 6×6, finite, positive definite
    return _checked(m.bulk_modulus_GPa, m.shear_modulus_GPa)


def moduli_from(value: Any) -> tuple[float, float]:
    """(K_GPa, G_GPa) from a pair, a 6×6 C tensor, a mapping, or an object (e.g. a result) carrying them.

    Raises:
        PropertyError: nothing recognisable, or moduli that are non-finite or not positive.
    """
    if isinstance(value, Mapping):
        for k_name, g_name in _PAIR_NAMES:
            if k_name in value and g_name in value:
                return _checked(value[k_name], value[g_name])
        for name in _TENSOR_NAMES:
            if name in value:
                return _from_tensor(value[name])
        raise PropertyError(f"no moduli among keys {sorted(value)}; expected bulk_modulus_GPa and shear_modulus_GPa")
    if isinstance(value, (tuple, list, np.ndarray)):
        array = np.asarray(value, dtype=float)
        if array.shape == (2,):
            return _checked(*array)
        if array.shape == (6, 6):
            return _from_tensor(array)
        raise PropertyError(f"moduli must be (K_GPa, G_GPa) or a 6×6 tensor in GPa, got shape {array.shape}")
    for k_name, g_name in _PAIR_NAMES:
        if hasattr(value, k_name) and hasattr(value, g_name):
            return _checked(getattr(value, k_name), getattr(value, g_name))
    for name in _TENSOR_NAMES:
        if hasattr(value, name):
            return _from_tensor(getattr(value, name))
    if dataclasses.is_dataclass(value):  # a composed result: look one level down (e.g. result.moduli)
        for field in dataclasses.fields(value):
            inner = getattr(value, field.name)
            if dataclasses.is_dataclass(inner):
                try:
                    return moduli_from(inner)
                except PropertyError:
                    continue
    raise PropertyError(f"cannot read bulk and shear moduli from {type(value).__name__}")


def moduli_from_info(atoms: Atoms) -> tuple[float, float] | None:
    """(K_GPa, G_GPa) from ``atoms.info`` or None when it holds none."""
    info = atoms.info
    if any(k in info and g in info for k, g in _PAIR_NAMES) or any(name in info for name in _TENSOR_NAMES):
        return moduli_from(info)
    return None


def elastic_plugin_provider(atoms: Atoms, calculator: Any) -> tuple[float, float]:
    """K, G from the installed ``elastic`` property plugin (finite strain with ``calculator``)."""
    from ase_mlmat.properties import available, create

    if "elastic" not in available():
        raise PropertyError(
            "no moduli for this structure: pass moduli=(K_GPa, G_GPa) or a 6×6 tensor, set "
            "atoms.info['bulk_modulus_GPa'] and ['shear_modulus_GPa'], give a moduli_provider, "
            "or install the elastic property plugin"
        )
    if calculator is None:
        raise PropertyError("the elastic plugin needs a calculator to compute moduli")
    return moduli_from(create("elastic").predict(atoms, calculator))


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
