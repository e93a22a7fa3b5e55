"""Dynamical observables from iso-configurational displacements: propensity, F_s(k, t), τ_α and F_s levels.

Displacements are Δr_i(t) = r_i(t) − r_i(0) from unwrapped coordinates (σ).
"""

from __future__ import annotations

import numpy as np

WAVENUMBER = 7.25  # k (1/σ) near the first peak of S(k) of A particles at ρ = 1.2
FS_LEVELS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)


def propensity(final_positions: np.ndarray, initial_positions: np.ndarray) -> np.ndarray:
    """Propensity of each particle: mean over runs of |r_i(t) − r_i(0)|.

    Args:
        final_positions: (R, N, 3) unwrapped positions of R iso-configurational runs at time t (σ).
        initial_positions: (N, 3) common starting positions (σ), same coordinate frame.

    Returns:
        (N,) mean displacement magnitude (σ).
    """
    final = np.asarray(final_positions, dtype=float)
    initial = np.asarray(initial_positions, dtype=float)
    if final.ndim != 3 or final.shape[1:] != initial.shape or initial.shape[-1] != 3:
        raise ValueError(f"expected final (R, N, 3) and initial (N, 3) positions; got {final.shape}, {initial.shape}")
    return np.linalg.norm(final - initial[None], axis=-1).mean(axis=0)


def mean_squared_displacement(final_positions: np.ndarray, initial_positions: np.ndarray) -> np.ndarray:
    """Mean over runs of |r_i(t) − r_i(0)|² (N,) σ²; arguments as in :func:`propensity`."""
    final = np.asarray(final_positions, dtype=float)
    initial = np.asarray(initial_positions, dtype=float)
    if final.ndim != 3 or final.shape[1:] != initial.shape or initial.shape[-1] != 3:
        raise ValueError(f"expected final (R, N, 3) and initial (N, 3) positions; got {final.shape}, {initial.shape}")
    return ((final - initial[None]) ** 2).sum(axis=-1).mean(axis=0)


def self_intermediate_scattering(displacements: np.ndarray, k: float = WAVENUMBER) -> float:
    """Isotropic F_s(k) = ⟨sin(k|Δr|) / (k|Δr|)⟩ averaged over all given displacements (…, 3) σ."""
    distance = np.linalg.norm(np.asarray(displacements, dtype=float).reshape(-1, 3), axis=1)
    return float(np.mean(np.sinc(k * distance / np.pi)))  # np.sinc(x) = sin(πx)/(πx)


def crossing_time(times: np.ndarray, fs: np.ndarray, level: float) -> float:
    """First time where F_s falls to ``level``, interpolated linearly in log t; NaN if it never does.

    Args:
        times: (T,) increasing positive times (τ).
        fs: (T,) F_s at those times.
    """
    times = np.asarray(times, dtype=float)
    fs = np.asarray(fs, dtype=float)
    below = np.nonzero(fs <= level)[0]
    if len(below) == 0:
        return float("nan")
    k = int(below[0])
    if k == 0:
        return float(times[0])
    log_t0, log_t1 = np.log(times[k - 1]), np.log(times[k])
    fraction = (fs[k - 1] - level) / (fs[k - 1] - fs[k])
    return float(np.exp(log_t0 + fraction * (log_t1 - log_t0)))


def relaxation_times(times: np.ndarray, fs: np.ndarray, levels=FS_LEVELS) -> dict[str, float]:
    """τ_α (F_s = 1/e) and the times where F_s = each level, keyed ``"tau_alpha"`` and ``"t_fs_0.9"`` etc."""
    out = {"tau_alpha": crossing_time(times, fs, float(np.exp(-1.0)))}
    for level in levels:
        out[f"t_fs_{level:.1f}"] = crossing_time(times, fs, level)
    return out


def log_spaced_times(t_min: float, t_max: float, n_times: int, dt: float) -> np.ndarray:
    """``n_times`` roughly log-spaced times in [t_min, t_max] (τ), rounded to whole steps of ``dt``, unique."""
    if not (0 < t_min <= t_max) or n_times < 1:
        raise ValueError(f"need 0 < t_min <= t_max and n_times >= 1, got {t_min}, {t_max}, {n_times}")
    steps = np.unique(np.maximum(1, np.round(np.geomspace(t_min, t_max, n_times) / dt).astype(np.int64)))
    return steps * dt
