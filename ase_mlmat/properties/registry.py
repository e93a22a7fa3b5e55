"""Registry of property predictors: the ``ase_mlmat.properties`` entry-point group.

Listing reads entry-point metadata only; a plugin's code is imported when it is asked for
by name, so ``import ase_mlmat`` stays cheap however many plugins are installed.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from .base import PropertyPredictor

GROUP = "ase_mlmat.properties"


def _entry_points():
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> dict[str, str]:
    """Installed predictors: name → "distribution version"."""
    out = {}
    for name, ep in sorted(_entry_points().items()):
        dist = ep.dist
        out[name] = f"{dist.name} {dist.version}" if dist is not None else "?"
    return out


def get_predictor(name: str) -> type[PropertyPredictor]:
    """The predictor class registered as ``name``."""
    eps = _entry_points()
    if name not in eps:
        raise KeyError(f"no property predictor named {name!r}; installed: {sorted(eps)}")
    cls = eps[name].load()
    if not (isinstance(cls, type) and issubclass(cls, PropertyPredictor)):
        raise TypeError(f"entry point {name!r} does not name a PropertyPredictor subclass: {cls!r}")
    return cls


def create(name: str, **options) -> PropertyPredictor:
    """An instance of predictor ``name`` built with ``options``."""
    return get_predictor(name)(**options)


def _instances(wanted, options_by_name) -> dict[str, PropertyPredictor]:
    import warnings

    out = {}
    for name in sorted(_entry_points()):
        try:
            cls = get_predictor(name)
        except Exception as err:  # a broken plugin is reported, not fatal
            warnings.warn(f"property plugin {name!r} could not be loaded: {err}", RuntimeWarning, stacklevel=3)
            continue
        if wanted(cls):
            out[name] = cls(**options_by_name.get(name, {}))
    return out


def moduli_consumers(**options_by_name) -> dict[str, PropertyPredictor]:
    """An instance of every installed predictor that derives its property from moduli, by name.

    ``options_by_name`` maps a predictor name to its constructor options. A plugin that fails to load
    is skipped with a warning: one broken plugin does not stop a screening run.
    """
    return _instances(lambda cls: cls.consumes_moduli, options_by_name)


def fast_tier_predictors(**options_by_name) -> dict[str, PropertyPredictor]:
    """An instance of every installed predictor that runs on the structure alone in the fast tier, by name.

    Those that set ``runs_in_fast_tier`` and need no calculator; options and broken plugins as in
    :func:`moduli_consumers`.
    """
    return _instances(lambda cls: cls.runs_in_fast_tier and not cls.needs_calculator, options_by_name)
