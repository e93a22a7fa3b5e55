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
