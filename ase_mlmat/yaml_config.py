"""Reading dataclass configurations from YAML: one mapping, keys = field names, values typed by the fields.

YAML 1.1 (PyYAML) reads ``1e-3`` as a string, so a user's ``learning_rate: 1e-3`` would reach the
trainer as ``"1e-3"``. Every value is therefore checked against its field's annotation here, at the
configuration boundary: numeric strings become numbers, anything else that does not fit raises
:class:`ConfigError` naming the key, the value and the type expected.
"""

from __future__ import annotations

import inspect
import os
import types
import typing
from dataclasses import fields

import yaml


class ConfigError(ValueError):
    """A configuration key or value that cannot be used; the message names key, value and what was expected."""


def read_mapping(path: str | os.PathLike, what: str, overrides: dict | None = None) -> dict:
    """The YAML mapping in ``path``, updated with the non-None ``overrides``."""
    with open(path) as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {what} config must be a YAML mapping, got {type(raw).__name__}")
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return raw


def check_known_keys(cls: type, raw: dict, what: str) -> None:
    """ConfigError naming the keys of ``raw`` that are not fields of dataclass ``cls``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown {what} option(s) {unknown}; known: {sorted(known)}")


def typed_fields(cls: type, raw: dict, what: str) -> dict:
    """``raw`` with each value converted to the type annotated on the field of dataclass ``cls`` it names.

    Unknown keys, and values that do not fit (``epochs: 1.5``, ``learning_rate: fast``), raise
    :class:`ConfigError`; numeric strings (``"1e-3"``) become numbers.
    """
    check_known_keys(cls, raw, what)
    hints = typing.get_type_hints(cls)
    return {key: coerce(value, hints[key], f"{what} option {key!r}") for key, value in raw.items()}


def config_from_mapping(cls: type, raw: dict, what: str):
    """``cls(**typed_fields(cls, raw, what))``: a dataclass built from a YAML mapping with typed values."""
    return cls(**typed_fields(cls, raw, what))


def coerce(value, annotation, where: str):
    """``value`` as ``annotation`` (float, int, bool, str, dict, list[...], unions of them, ``None``)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        if value is None and type(None) in members:
            return None
        errors = []
        for member in (m for m in members if m is not type(None)):
            try:
                return coerce(value, member, where)
            except ConfigError as err:
                errors.append(err)
        expected = " or ".join(_describe(m) for m in members)
        raise ConfigError(f"{where} = {value!r}: expected {expected}")
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} = {value!r}: expected {_describe(annotation)}")
        (item,) = typing.get_args(annotation) or (typing.Any,)
        return [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} = {value!r}: expected a mapping of keys to values")
        return dict(value)
    if annotation is typing.Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} = {value!r}: expected true or false")
    if annotation is float:
        number = _number(value)
        if number is None:
            raise ConfigError(f"{where} = {value!r}: expected a number")
        return float(number)
    if annotation is int:
        number = _number(value)
        if number is None or float(number) != int(number):
            raise ConfigError(f"{where} = {value!r}: expected a whole number")
        return int(number)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where} = {value!r}: expected a string")
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise ConfigError(f"{where} = {value!r}: expected {_describe(annotation)}")
    return value


def _number(value) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None


def _describe(annotation) -> str:
    if annotation is type(None):
        return "null"
    if annotation is float:
        return "a number"
    if annotation is int:
        return "a whole number"
    if annotation is bool:
        return "true or false"
    if annotation is str:
        return "a string"
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (typing.Any,)
        return f"a list of {_describe(item).removeprefix('a ').removeprefix('an ')}s"
    return getattr(annotation, "__name__", str(annotation))


def typed_builder_options(builder, options: dict, what: str, fixed: tuple[str, ...] = ()) -> dict:
    """``options`` checked against the keyword parameters of ``builder`` (a class or function) and typed by them.

    Keys ``builder`` does not take (a misspelt ``num_feature``), values that do not fit the parameter's
    annotation, and keys in ``fixed`` (parameters the caller sets itself, e.g. ``num_species``) raise
    :class:`ConfigError`.
    """
    function = builder.__init__ if isinstance(builder, type) else builder
    parameters = inspect.signature(function).parameters
    known = sorted(set(parameters) - {"self", *fixed})
    unknown = sorted(set(options) - set(known))
    if unknown and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        raise ConfigError(f"unknown {what} option(s) {unknown}; known: {known}")
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError):  # annotations that do not resolve: leave the values as given
        hints = {}
    return {key: coerce(value, hints.get(key, typing.Any), f"{what} option {key!r}") for key, value in options.items()}


def config_from_cli(cls: type, path: str | os.PathLike | None, overrides: dict):
    """``cls`` from the YAML file ``path`` with the non-None command-line ``overrides``, or from those alone."""
    if path:
        return cls.from_yaml(path, **overrides)
    return cls.from_dict({k: v for k, v in overrides.items() if v is not None})


def parse_key_value_options(pairs: list[str] | None) -> dict:
    """``["a=1", "b=[1, 2]"]`` → ``{"a": 1, "b": [1, 2]}``; values are read as YAML."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"options are KEY=VALUE, got {pair!r}")
        options[key] = yaml.safe_load(value)
    return options
