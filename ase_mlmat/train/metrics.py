"""Errors of a potential against labelled graphs, in the units people quote."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from ase.units import GPa

from .. import keys
from ..graph import collate, to_device
from ..models.potential import Potential
from .targets import HAS_FORCES, HAS_STRESS, TARGET_ENERGY, TARGET_FORCES, TARGET_STRESS


def predict_graphs(
    model: Potential, graphs: Sequence[dict], batch_size: int = 16, device="cpu", dtype=torch.float32
) -> dict[str, np.ndarray]:
    """Predictions and targets, concatenated over all graphs (numpy, eV / eV/Å / eV/Å³)."""
    out = {k: [] for k in ("energy", "energy_ref", "num_atoms", "forces", "forces_ref", "stress", "stress_ref")}
    model.eval()
    for start in range(0, len(graphs), batch_size):
        batch = to_device(collate(graphs[start : start + batch_size]), device, dtype)
        pred = model(batch, forces=True, stress=True)
        n = batch[keys.NUM_ATOMS].cpu().numpy()
        out["num_atoms"].append(n)
        out["energy"].append(pred[keys.ENERGY].detach().cpu().double().numpy())
        out["energy_ref"].append(batch[TARGET_ENERGY].cpu().double().numpy())
        has_f = batch[HAS_FORCES].cpu().numpy()
        atom_mask = np.repeat(has_f, n)
        out["forces"].append(pred[keys.FORCES].detach().cpu().double().numpy()[atom_mask])
        out["forces_ref"].append(batch[TARGET_FORCES].cpu().double().numpy()[atom_mask])
        has_s = batch[HAS_STRESS].cpu().numpy()
        out["stress"].append(pred[keys.STRESS].detach().cpu().double().numpy()[has_s])
        out["stress_ref"].append(batch[TARGET_STRESS].cpu().double().numpy()[has_s])
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def error_metrics(pred: dict[str, np.ndarray]) -> dict[str, float]:
    """MAE and RMSE: energy in meV/atom, forces in eV/Å (components), stress in GPa (components)."""
    metrics = {}
    de = (pred["energy"] - pred["energy_ref"]) / pred["num_atoms"] * 1000.0
    metrics["energy_mae_meV_per_atom"] = float(np.mean(np.abs(de)))
    metrics["energy_rmse_meV_per_atom"] = float(np.sqrt(np.mean(de**2)))
    if pred["forces"].size:
        df = pred["forces"] - pred["forces_ref"]
        metrics["forces_mae_eV_per_A"] = float(np.mean(np.abs(df)))
        metrics["forces_rmse_eV_per_A"] = float(np.sqrt(np.mean(df**2)))
    if pred["stress"].size:
        ds = (pred["stress"] - pred["stress_ref"]) / GPa
        metrics["stress_mae_GPa"] = float(np.mean(np.abs(ds)))
        metrics["stress_rmse_GPa"] = float(np.sqrt(np.mean(ds**2)))
    return metrics
