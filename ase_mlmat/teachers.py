"""Universal potentials as reference calculators ("teachers"): CHGNet and SevenNet, by name.

Both ship their weights inside their wheels and run offline, so they can label structures where no DFT is at
hand — the job of a teacher that active learning distils into a fast, specific ase-mlmat potential. They come with
the optional extra ``pip install "ase-mlmat[teachers]"``; wherever a reference calculator is named (``mlmat learn``'s
``reference:``, ``--calc``), ``"chgnet"`` and ``"sevenn"`` are accepted, with their options as keyword arguments.

- ``chgnet``: CHGNet (Deng et al., Nat. Mach. Intell. 5, 1031 (2023)), the chgnet 0.4.2 package with its default
  weights (model 0.3.0), trained on the Materials Project
  trajectory data set (PBE / PBE+U); :class:`chgnet.model.dynamics.CHGNetCalculator`.
- ``sevenn``: SevenNet-0 (Park et al., J. Chem. Theory Comput. 20, 4857 (2024)), ``model="7net-0"`` by default;
  :class:`sevenn.calculator.SevenNetCalculator`.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field

from ase.calculators.calculator import Calculator


@dataclass(frozen=True)
class Teacher:
    """Where a teacher's ASE calculator lives and the options it gets unless the caller gives others."""

    module: str  # the package that must be importable
    factory: str  # "module:attribute" of the ASE calculator class
    defaults: dict = field(default_factory=dict)
    device_option: str = "device"  # the keyword that takes "cpu" / "cuda"


TEACHERS = {
    "chgnet": Teacher("chgnet", "chgnet.model.dynamics:CHGNetCalculator", device_option="use_device"),
    "sevenn": Teacher("sevenn", "sevenn.calculator:SevenNetCalculator", {"model": "7net-0"}),
}


class TeacherMissingError(ImportError):
    """The package of a named teacher is not installed."""


def is_teacher(spec: str) -> bool:
    return spec.lower() in TEACHERS


def teacher_calculator(name: str, *, device: str | None = None, **options) -> Calculator:
    """The ASE calculator of teacher ``name`` ("chgnet" or "sevenn"), built with ``options`` over its defaults.

    Args:
        name: a key of :data:`TEACHERS` (any case).
        device: "cpu" or "cuda" (the teacher's own default when None).
        options: keyword arguments of the teacher's calculator class.

    Raises:
        KeyError: an unknown name.
        TeacherMissingError: its package is not installed (the message says how to install it).
    """
    key = name.lower()
    if key not in TEACHERS:
        raise KeyError(f"unknown teacher {name!r}; known: {sorted(TEACHERS)}")
    teacher = TEACHERS[key]
    if importlib.util.find_spec(teacher.module) is None:
        raise TeacherMissingError(
            f"reference {name!r} needs the {teacher.module} package, which is not installed: "
            f'pip install "ase-mlmat[teachers]" (or pip install {teacher.module})'
        )
    module_name, _, attribute = teacher.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    kwargs = {**teacher.defaults, **options}
    if device is not None:
        kwargs[teacher.device_option] = device
    return factory(**kwargs)


__all__ = ["TEACHERS", "Teacher", "TeacherMissingError", "is_teacher", "teacher_calculator"]
