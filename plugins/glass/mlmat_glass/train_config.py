"""``mlmat train CONFIG`` for a glass network: a YAML file with ``kind: glass`` and :class:`GlassTrainConfig`'s keys.

    kind: glass
    data: [runs/glass/isoconfig_N4096T0.44_1_tc07.npz, runs/glass/isoconfig_N4096T0.44_2_tc07.npz]
    validation: [runs/glass/isoconfig_N4096T0.44_3_tc07.npz]
    descriptors: inherent_radial_cg_bo
    graph_positions: inherent
    width: 32
    n_steps: 3
    epochs: 12
    output: glass.pt

The core routes the file here through this plugin's model kind (entry point ``ase_mlmat.model_kinds``);
the network trains with the core's trainer (:func:`mlmat_glass.training.train_network`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ase_mlmat.yaml_config import ConfigError, config_from_mapping

from .timescales import DEFAULT_TARGET
from .training import DEFAULT_EMA_DECAY, target_scale, train_network


@dataclass
class GlassTrainConfig:
    """One glass network trained on iso-configurational data files (``mlmat glass convert`` / BOTAN ``.npz``)."""

    data: list[str] = field(default_factory=list)  # training configurations
    validation: list[str] = field(default_factory=list)  # configurations that choose the best epoch and are scored
    target: str = DEFAULT_TARGET  # "mean_abs_displacement" (σ) or "mean_squared_displacement" (σ²)
    time_index: int = -1  # which stored time of the data
    descriptors: str | None = None  # node descriptors (see mlmat_glass.descriptors); None: particle type only
    graph_positions: str = "thermal"  # "thermal" or "inherent" (edges from the inherent structure)
    inherent_cache: str | None = None  # folder for inherent structures, computed once per file
    width: int = 64
    n_steps: int = 7
    linear_readout: bool = False
    ridge: float = 0.03  # penalty of the linear readout's start
    epochs: int = 10
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-5
    weight_decay: float = 0.0
    ema_decay: float = DEFAULT_EMA_DECAY
    max_minutes: float | None = None  # wall-clock budget
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 1  # epochs between training states (<output stem>.state.pt); 0: only at the end
    output: str = "glass.pt"


# Settings a resumed run must share with the run that wrote the state: they fix the data, model and split.
RESUME_FIXED = (
    "data",
    "validation",
    "target",
    "time_index",
    "descriptors",
    "graph_positions",
    "width",
    "n_steps",
    "linear_readout",
    "ridge",
    "seed",
)


def train_from_config(mapping: dict, resume: bool = False) -> dict:
    """Train and save the network ``mapping`` describes; returns what the command prints (path, validation).

    The training state goes to ``<output stem>.state.pt`` every ``checkpoint_every`` epochs, at the end and on
    SIGINT/SIGTERM; ``resume=True`` continues from it (:data:`RESUME_FIXED` must be unchanged; more ``epochs``
    or another budget may be given).

    Raises:
        TrainingInterrupted: SIGINT or SIGTERM stopped training, after the best network so far and the
            training state are saved.
    """
    from dataclasses import asdict

    from ase_mlmat.train.resume import read_training_state
    from ase_mlmat.train.trainer import TrainingInterrupted, state_path

    from .build import load_items
    from .model_io import save_model

    config = config_from_mapping(GlassTrainConfig, mapping, "glass")
    if not config.data:
        raise ConfigError("a glass config needs training files under data:")
    cache = None if config.inherent_cache is None else Path(config.inherent_cache)
    inputs = dict(
        descriptors=config.descriptors,
        graph_positions=config.graph_positions,
        target=config.target,
        inherent_cache=cache,
    )
    items = load_items([Path(f) for f in config.data], **inputs)
    validation = load_items([Path(f) for f in config.validation], **inputs) if config.validation else []
    if config.time_index != -1:
        from .training import with_time

        items, validation = with_time(items, config.time_index), with_time(validation, config.time_index)
    options = {k: getattr(config, k) for k in ("width", "n_steps", "linear_readout", "ridge", "epochs")}
    options |= {k: getattr(config, k) for k in ("learning_rate", "final_learning_rate", "weight_decay", "ema_decay")}
    options |= {k: getattr(config, k) for k in ("max_minutes", "seed", "device")}
    state_file = state_path(config.output)
    state = read_training_state(state_file, config, len(items), fixed=RESUME_FIXED) if resume else None
    options |= dict(state_path=state_file, state=state, checkpoint_every=config.checkpoint_every)
    options["state_extra"] = {"config": asdict(config), "num_structures": len(items)}
    mean, std = target_scale(items)
    card = {"target": config.target, "train_files": [Path(f).name for f in config.data], "training": mapping}
    try:
        model, history = train_network(items, validation=validation, log=None, **options)
    except TrainingInterrupted as stop:
        model, history = stop.result
        save_model(model, config.output, target_mean=mean, target_std=std, card=card | {"stopped": stop.signal_name})
        raise TrainingInterrupted(
            f"{stop}: saved the best network so far to {config.output} and the training state to {state_file}",
            stop.signal_number,
        ) from None
    path = save_model(model, config.output, target_mean=mean, target_std=std, card=card)
    summary = {"output": str(path), "epochs": len(history)}
    if validation:
        from .training import GlassTask, training_graph

        summary |= GlassTask().metrics(model, [training_graph(it) for it in validation])
    return summary
