"""Turning a calculator spec (shipped model, checkpoint, import path) into an ASE calculator."""

from __future__ import annotations

import importlib
import os


def calculator_from_spec(spec: str, **kwargs):
    """An ASE calculator from ``spec``.

    * a shipped model name (``"mlearn-Si"``) or a checkpoint path → :class:`MLCalculator`;
    * ``"chgnet"`` or ``"sevenn"`` → that universal potential (:mod:`ase_mlmat.teachers`; the ``teachers`` extra);
    * ``"package.module:ClassName"`` (e.g. ``"ase.calculators.emt:EMT"``) → that class,
      constructed with ``kwargs``.
    """
    from ..teachers import is_teacher, teacher_calculator

    if is_teacher(spec) and not os.path.exists(spec):
        return teacher_calculator(spec, **kwargs)
    if ":" in spec and not os.path.exists(spec):
        module_name, _, attribute = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ValueError(f"cannot import calculator module {module_name!r}: {err}") from None
        try:
            factory = getattr(module, attribute)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r}") from None
        return factory(**kwargs)
    from ..calculator import MLCalculator

    return MLCalculator(spec, **kwargs)
