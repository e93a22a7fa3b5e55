"""Print the model cards of the shipped potentials as a Markdown table (from checkpoint metadata).

python scripts/model_cards.py
"""

from __future__ import annotations

from ase_mlmat import pretrained
from ase_mlmat.checkpoint import CheckpointError
from ase_mlmat.model_store import load_potential


def main() -> None:
    print(
        "| model | architecture | cutoff (Å) | parameters | train / val structures | stress weight | epochs "
        "| budget (min) | val energy MAE (meV/atom) | val force MAE (eV/Å) | val stress MAE (GPa) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in pretrained.available():
        try:
            model = load_potential(pretrained.path_of(name))
        except CheckpointError:  # a shipped property model, not a potential
            continue
        meta = model.metadata
        val = meta.get("val_metrics", {})
        n_params = sum(p.numel() for p in model.parameters())
        cfg = model.config
        train_cfg = meta.get("config", {})
        # older checkpoints record stress_weight; newer ones the loss terms
        stress_weight = train_cfg.get("stress_weight") or train_cfg.get("losses", {}).get("stress", {}).get("weight")
        print(
            f"| {name} | {model.architecture} F={cfg.get('num_features')} L={cfg.get('num_interactions')} "
            f"| {model.cutoff} | {n_params} | {meta.get('num_train')} / {meta.get('num_val')} "
            f"| {stress_weight} | {meta.get('epochs_run')} "
            f"| {train_cfg.get('max_minutes'):g} {train_cfg.get('budget_clock', 'wall')} "
            f"| {val.get('energy_mae_meV_per_atom', float('nan')):.2f} "
            f"| {val.get('forces_mae_eV_per_A', float('nan')):.3f} | {val.get('stress_mae_GPa', float('nan')):.2f} |"
        )


if __name__ == "__main__":
    main()
