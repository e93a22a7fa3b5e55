"""Command-line flags derived from a configuration dataclass: ``--field-name`` for each field.

The flags pass their values on as given (strings, or lists of strings); the configuration types them
with :func:`ase_mlmat.yaml_config.typed_fields`, so a flag and a YAML key accept the same values and
fail with the same one-line error. A field added to the dataclass gets its flag without an edit here.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import typing

_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+)$")


def add_config_flags(parser: argparse.ArgumentParser, cls: type, *, notes: dict[str, str] | None = None) -> list[str]:
    """Add a flag for each field of dataclass ``cls`` to ``parser``; returns the names of the fields added.

    A field ``max_minutes`` becomes ``--max-minutes VALUE``; a list field takes one or more values; a bool
    field becomes ``--name`` / ``--no-name``. Mapping fields (e.g. a model's options) are left to the YAML
    file, and so are fields whose flag the parser already has. Each flag's help is ``notes[name]`` or
    the field's trailing source comment, with the default where there is one.
    """
    hints = typing.get_type_hints(cls)
    comments = _field_comments(cls)
    added = []
    for field in dataclasses.fields(cls):
        kind = _base(hints[field.name])
        if kind is dict or typing.get_origin(kind) is dict:
            continue
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        text = (notes or {}).get(field.name) or comments.get(field.name, "")
        if default not in (None, "", []) and "default" not in text:
            text = f"{text} (default: {default})" if text else f"default: {default}"
        flag = "--" + field.name.replace("_", "-")
        options: dict = {"dest": field.name, "default": None, "help": text.replace("%", "%%")}
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is list:
            options.update(nargs="+", metavar="VALUE")
        else:
            options["metavar"] = {int: "N", float: "X"}.get(kind, "VALUE")
        try:
            parser.add_argument(flag, **options)
        except argparse.ArgumentError:  # the command defines this flag itself
            continue
        added.append(field.name)
    return added


def config_overrides(args: argparse.Namespace, names: list[str]) -> dict:
    """The values of the flags ``names`` that were given on the command line."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _base(annotation):
    """``X`` for ``X | None``; the annotation otherwise."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(annotation) if m is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _field_comments(cls: type) -> dict[str, str]:
    """Trailing comments of the field lines in the source of ``cls`` (units, allowed values)."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):  # no source (frozen or interactive): flags without comments
        return {}
    return {m.group(1): m.group(2).strip() for m in map(_COMMENT.match, lines) if m}
