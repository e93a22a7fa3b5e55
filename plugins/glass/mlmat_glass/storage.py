"""Glass data on disk: this package's npz format, and converters from the BOTAN and Bapst releases.

Format ``mlmat-glass/1`` — one uncompressed ``.npz`` per configuration, LJ units:

=====================  ===============  =======================================================
key                    shape, dtype     meaning
=====================  ===============  =======================================================
``format``             () str           ``"mlmat-glass/1"``
``initial_positions``  (N, 3) float64   configuration at t = 0, wrapped into [0, L) (σ)
``types``              (N,) int8        0 = A, 1 = B
``box``                (3,) float64     edge lengths of the periodic orthorhombic box (σ)
``temperature``        () float64       equilibration / velocity temperature (ε/k_B)
``times``              (T,) float64     times after t = 0 (τ); NaN where unknown
``propensity``         (T, N) float32   mean over runs of |r_i(t) − r_i(0)| (σ)
``fs_a``               (T,) float64     F_s(k, t) of A particles, averaged over runs
``wavenumber``         () float64       k of ``fs_a`` (1/σ)
``n_runs``             () int64         iso-configurational runs per configuration
``source``             () str           provenance (generator settings or converted file)
``positions``          (T, R, N, 3)     optional: unwrapped positions of each run (σ), float32
``squared_displacement`` (T, N) float32 optional: mean over runs of |r_i(t) − r_i(0)|² (σ²)
=====================  ===============  =======================================================

``propensity`` is the default training target; ``squared_displacement`` (written by the converters and the
generator's conversions from run positions) is the alternative one, see :meth:`GlassSample.target`.

Other people's data: :func:`from_botan` reads the BOTAN files (``types``, ``initial_positions``,
``positions`` of shape (R, N, 3) at one time; box from N and ρ = 1.2 unless given);
:func:`from_bapst` reads a Bapst et al. (2020) pickle (``positions``, ``types``, ``box``, ``time``,
``time_indices``, ``is_values``, ``trajectory_target_positions``, ``metadata``) with an unpickler that
accepts only numpy arrays and builtin containers. :func:`load_sample` picks the reader.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from .kob_andersen import NUMBER_DENSITY
from .observables import WAVENUMBER, mean_squared_displacement, propensity, self_intermediate_scattering

FORMAT = "mlmat-glass/1"


@dataclasses.dataclass
class GlassSample:
    """One configuration with its dynamical targets (fields as in the module table)."""

    initial_positions: np.ndarray
    types: np.ndarray
    box: np.ndarray
    temperature: float
    times: np.ndarray
    propensity: np.ndarray
    fs_a: np.ndarray
    wavenumber: float = WAVENUMBER
    n_runs: int = 0
    source: str = ""
    positions: np.ndarray | None = None
    squared_displacement: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.initial_positions = np.asarray(self.initial_positions, dtype=float)
        self.types = np.asarray(self.types, dtype=np.int8)
        self.box = np.broadcast_to(np.asarray(self.box, dtype=float), (3,)).copy()
        self.times = np.atleast_1d(np.asarray(self.times, dtype=float))
        self.propensity = np.atleast_2d(np.asarray(self.propensity, dtype=np.float32))
        self.fs_a = np.atleast_1d(np.asarray(self.fs_a, dtype=float))
        n = len(self.types)
        if self.initial_positions.shape != (n, 3):
            raise ValueError(f"initial_positions {self.initial_positions.shape} do not match {n} types")
        if self.propensity.shape != (len(self.times), n):
            raise ValueError(f"propensity {self.propensity.shape} is not (n_times={len(self.times)}, N={n})")
        if not set(np.unique(self.types).tolist()) <= {0, 1}:
            raise ValueError("types must be 0 (A) or 1 (B)")
        if self.squared_displacement is None and self.positions is not None:
            runs = np.asarray(self.positions, dtype=float)  # (T, R, N, 3)
            self.squared_displacement = np.stack([mean_squared_displacement(r, self.initial_positions) for r in runs])
        if self.squared_displacement is not None:
            self.squared_displacement = np.atleast_2d(np.asarray(self.squared_displacement, dtype=np.float32))
            if self.squared_displacement.shape != self.propensity.shape:
                raise ValueError(
                    f"squared_displacement {self.squared_displacement.shape} is not {self.propensity.shape}"
                )

    def target(self, name: str = "mean_abs_displacement") -> np.ndarray:
        """Training target (T, N): ``"mean_abs_displacement"`` (σ, the propensity) or
        ``"mean_squared_displacement"`` (σ²; needs ``squared_displacement`` or ``positions``)."""
        if name == "mean_abs_displacement":
            return self.propensity
        if name == "mean_squared_displacement":
            if self.squared_displacement is None:
                raise ValueError(
                    f"{self.source or 'this sample'} has no mean squared displacements: convert it again from a "
                    "file with the runs' positions (BOTAN npz, Bapst pickle)"
                )
            return self.squared_displacement
        raise ValueError(f"unknown target {name!r}; choose mean_abs_displacement or mean_squared_displacement")

    @property
    def n_particles(self) -> int:
        return len(self.types)

    def to_atoms(self):
        """ASE Atoms of the t = 0 configuration: A as atomic number 1, B as 2, a ``types`` array, info with T."""
        from .species import glass_atoms

        atoms = glass_atoms(self.initial_positions, self.types, self.box)
        atoms.info["temperature"] = self.temperature
        return atoms


def save_sample(sample: GlassSample, path: str | Path, *, with_positions: bool = False) -> Path:
    """Write ``sample`` in format ``mlmat-glass/1`` (uncompressed npz); run positions only if asked."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "format": np.array(FORMAT),
        "initial_positions": np.mod(sample.initial_positions, sample.box),
        "types": sample.types,
        "box": sample.box,
        "temperature": np.float64(sample.temperature),
        "times": sample.times,
        "propensity": sample.propensity,
        "fs_a": sample.fs_a,
        "wavenumber": np.float64(sample.wavenumber),
        "n_runs": np.int64(sample.n_runs),
        "source": np.array(sample.source),
    }
    if with_positions and sample.positions is not None:
        arrays["positions"] = np.asarray(sample.positions, dtype=np.float32)
    if sample.squared_displacement is not None:
        arrays["squared_displacement"] = sample.squared_displacement
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def load_sample(
    path: str | Path, *, box: float | None = None, temperature: float | None = None, time: float | None = None
) -> GlassSample:
    """Read a configuration from this package's npz, a BOTAN npz or a Bapst pickle (chosen by content).

    ``box``, ``temperature`` and ``time`` fill in what the foreign formats do not store.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no glass data file {str(path)!r}")
    if path.suffix in (".pickle", ".pkl"):
        return from_bapst(path, temperature=temperature)
    data = _read_npz(path)
    if "format" in data and str(data["format"]) == FORMAT:
        return GlassSample(
            data["initial_positions"],
            data["types"],
            data["box"],
            float(data["temperature"]),
            data["times"],
            data["propensity"],
            data["fs_a"],
            float(data["wavenumber"]),
            int(data["n_runs"]),
            str(data["source"]),
            data.get("positions"),
            data.get("squared_displacement"),
        )
    if {"types", "initial_positions", "positions"} <= set(data):
        return from_botan(path, box=box, temperature=temperature, time=time, data=data)
    raise ValueError(f"{str(path)!r} is neither {FORMAT} nor a BOTAN file (keys {sorted(data)})")


def _temperature_from_name(path: Path) -> float | None:
    match = re.search(r"T(\d+(?:\.\d+)?)", path.name)
    return float(match.group(1)) if match else None


def from_botan(
    path: str | Path,
    *,
    box: float | None = None,
    temperature: float | None = None,
    time: float | None = None,
    data: dict | None = None,
) -> GlassSample:
    """Convert a BOTAN iso-configurational file (Shiba et al. 2023) to a :class:`GlassSample`.

    Propensity = mean over the R runs of |positions[r, i] − initial_positions[i]|; F_s of A particles is
    computed from the same displacements. Box defaults to (N/1.2)^(1/3) (BOTAN keeps L = 15.05658 for
    N = 4096), temperature to the ``T<value>`` in the file name, time to NaN (the files do not store it).
    """
    path = Path(path)
    data = data if data is not None else _read_npz(path)
    types = np.asarray(data["types"], dtype=np.int8)
    initial = np.asarray(data["initial_positions"], dtype=float)
    runs = np.asarray(data["positions"], dtype=float)
    length = box if box is not None else (len(types) / NUMBER_DENSITY) ** (1.0 / 3.0)
    temperature = temperature if temperature is not None else _temperature_from_name(path)
    if temperature is None:
        raise ValueError(f"temperature of {str(path)!r} unknown: pass temperature=")
    is_a = types == 0
    fs = self_intermediate_scattering(runs[:, is_a] - initial[is_a])
    return GlassSample(
        initial,
        types,
        length,
        temperature,
        [np.nan if time is None else time],
        propensity(runs, initial)[None],
        [fs],
        WAVENUMBER,
        runs.shape[0],
        f"BOTAN {path.name}",
        squared_displacement=mean_squared_displacement(runs, initial)[None],
    )


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds numpy arrays and builtin containers and refuses every other global."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("collections", "OrderedDict"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a glass data pickle")


def from_bapst(path: str | Path, *, temperature: float | None = None) -> GlassSample:
    """Convert one file of the Bapst et al. (2020) release (a pickle of numpy arrays) to a :class:`GlassSample`.

    Propensity at each stored time index = mean over trajectories of |r(t) − r(0)|; F_s of A particles
    from the same displacements; times = ``time[time_indices]``.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        data = _ArraysOnlyUnpickler(handle).load()
    initial = np.asarray(data["positions"], dtype=float)
    types = np.asarray(data["types"], dtype=np.int8)
    targets = [np.asarray(t, dtype=float) for t in data["trajectory_target_positions"]]  # each (R, N, 3)
    all_times = np.asarray(data.get("time", []), dtype=float)
    indices = np.asarray(data.get("time_indices", []), dtype=np.int64)
    times = all_times[indices] if len(indices) == len(targets) and len(all_times) else np.full(len(targets), np.nan)
    metadata = data.get("metadata", {}) or {}
    temperature = temperature if temperature is not None else metadata.get("temperature")
    if temperature is None:
        raise ValueError(f"temperature of {str(path)!r} unknown: pass temperature=")
    is_a = types == 0
    fs = [self_intermediate_scattering(t[:, is_a] - initial[is_a]) for t in targets]
    return GlassSample(
        initial,
        types,
        np.asarray(data["box"], dtype=float),
        float(temperature),
        times,
        np.stack([propensity(t, initial) for t in targets]),
        fs,
        WAVENUMBER,
        targets[0].shape[0],
        f"Bapst {path.name}",
        squared_displacement=np.stack([mean_squared_displacement(t, initial) for t in targets]),
    )
