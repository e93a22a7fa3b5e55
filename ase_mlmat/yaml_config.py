"""Reading dataclass configurations from YAML: one mapping, keys = field names, unknown keys refused."""

from __future__ import annotations

import os
from dataclasses import fields

import yaml


def read_mapping(path: str | os.PathLike, what: str, overrides: dict | None = None) -> dict:
    """The YAML mapping in ``path``, updated with the non-None ``overrides``."""
    with open(path) as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: {what} config must be a YAML mapping")
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return raw


def check_known_keys(cls: type, raw: dict, what: str) -> None:
    """ValueError naming the keys of ``raw`` that are not fields of dataclass ``cls``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"unknown {what} option(s) {unknown}; known: {sorted(known)}")


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
        if not sep:
            raise ValueError(f"options are KEY=VALUE, got {pair!r}")
        options[key] = yaml.safe_load(value)
    return options
