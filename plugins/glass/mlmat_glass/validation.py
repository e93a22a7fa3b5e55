"""Leave-one-configuration-out validation of propensity models and ensembles with validated weights.

Configurations, not particles, are the unit of validation: particles of one configuration share its
structure and its iso-configurational noise, so a particle-level split would leak. For each member (a
function that trains a model on a list of items) every configuration is predicted by the member trained on
all the others (:func:`out_of_fold`); the ensemble weights are fitted on these out-of-fold predictions
(:func:`mlmat_glass.ensemble.fit_weights`), and the members are then trained on all configurations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from torch import nn

from .ensemble import PropensityEnsemble, fit_weights, mean_pearson
from .metrics import pearson
from .training import TrainingItem, fit_linear, predict_z

MemberFit = Callable[[Sequence[TrainingItem]], nn.Module]


def out_of_fold(fit: MemberFit, items: Sequence[TrainingItem], n_folds: int | None = None) -> list[np.ndarray]:
    """Per item k, the standardised prediction (N_k,) of ``fit`` trained without item k.

    ``n_folds``: None (or the number of items) leaves one configuration out at a time; fewer folds (for
    members that are expensive to train) hold out consecutive groups of configurations.
    """
    n = len(items)
    n_folds = n if n_folds is None else n_folds
    if not 2 <= n_folds <= n:
        raise ValueError(f"need 2 <= n_folds <= {n} configurations, got {n_folds}")
    predictions: list[np.ndarray] = [np.empty(0)] * n
    for fold in np.array_split(np.arange(n), n_folds):
        model = fit([it for k, it in enumerate(items) if k not in fold])
        for j in fold:
            predictions[j] = predict_z(model, items[j].graph)
    return predictions


def choose_ridge(items: Sequence[TrainingItem], ridges: Sequence[float]) -> tuple[float, dict[float, float]]:
    """The ridge penalty (per sample) of ``ridges`` with the best leave-one-configuration-out mean Pearson,
    and every penalty's score."""
    scores = {}
    for ridge in ridges:
        predictions = out_of_fold(lambda train, r=ridge: fit_linear(train, ridge=r), items)
        scores[float(ridge)] = _mean_score(predictions, items)
    return max(scores, key=scores.get), scores


def _a(items: Sequence[TrainingItem]) -> list[np.ndarray]:
    return [it.mask.numpy() for it in items]


def _mean_score(predictions: Sequence[np.ndarray], items: Sequence[TrainingItem]) -> float:
    masks = _a(items)
    return mean_pearson([p[a] for p, a in zip(predictions, masks)], [it.propensity[a] for it, a in zip(items, masks)])


def validated_ensemble(
    fits: Mapping[str, MemberFit],
    items: Sequence[TrainingItem],
    *,
    n_folds: Mapping[str, int] | None = None,
    log: Callable[[str], None] | None = print,
) -> tuple[PropensityEnsemble, dict]:
    """Ensemble of the members ``fits`` with weights fitted on their out-of-fold predictions over ``items``.

    Returns the ensemble (members with non-zero weight, trained on all items) and a report: per member and
    for the equal-weight and the validated ensemble, the leave-one-configuration-out Pearson on A particles
    of each configuration and their mean. The validated ensemble's score is nested — configuration j is
    scored with weights fitted on the other configurations' out-of-fold predictions — and the weights fitted
    on all of them (the ones stored) are scored on the same predictions under ``"validated_fitted"``.
    ``n_folds``: per member name, fewer folds than configurations (see :func:`out_of_fold`).
    """
    n_folds = dict(n_folds or {})
    names = list(fits)
    masks = _a(items)
    targets = [it.propensity[a] for it, a in zip(items, masks)]
    oof = {}
    for name in names:
        oof[name] = out_of_fold(fits[name], items, n_folds.get(name))
        if log is not None:
            log(f"  {name}: leave-one-configuration-out mean Pearson {_mean_score(oof[name], items):.3f}")
    blocks = [np.stack([oof[name][k][a] for name in names]) for k, a in enumerate(masks)]  # each [M, n_A]
    weights = fit_weights(blocks, targets)

    def per_config(predictions: Sequence[np.ndarray]) -> dict:
        values = [pearson(p, t) for p, t in zip(predictions, targets)]
        return {"mean": float(np.mean(values)), "per_configuration": [float(v) for v in values]}

    report = {name: per_config([b[m] for b in blocks]) for m, name in enumerate(names)}
    report["equal_weights"] = per_config([b.mean(0) for b in blocks])
    nested = []
    for j in range(len(items)):
        w = fit_weights([b for k, b in enumerate(blocks) if k != j], [t for k, t in enumerate(targets) if k != j])
        nested.append(w @ blocks[j])
    report["validated"] = per_config(nested)
    report["validated_fitted"] = per_config([weights @ b for b in blocks])
    report["weights"] = dict(zip(names, (float(w) for w in weights)))
    report["folds"] = {name: n_folds.get(name, len(items)) for name in names}
    kept = [m for m in range(len(names)) if weights[m] > 0]  # a member with weight 0 is not trained or stored
    report["members"] = [names[m] for m in kept]
    members = [fits[names[m]](items) for m in kept]
    return PropensityEnsemble(members, weights[kept] / weights[kept].sum()).eval(), report
