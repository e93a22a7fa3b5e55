"""``mlmat`` command line: thin wrappers around the Python API."""

from __future__ import annotations

import argparse
import json
import sys


def _train(args: argparse.Namespace) -> int:
    from .train import TrainConfig, cross_validate, train
    from .yaml_config import config_from_cli

    overrides = {
        "data": args.data,
        "output": args.output,
        "epochs": args.epochs,
        "init_from": args.init_from,
        "device": args.device,
        "seed": args.seed,
        "max_minutes": args.max_minutes,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "energy_weight": args.energy_weight,
        "forces_weight": args.forces_weight,
        "stress_weight": args.stress_weight,
        "budget_clock": args.budget_clock,
    }
    if args.no_progress:
        overrides["progress"] = False
    config = config_from_cli(TrainConfig, args.config, overrides)
    if not config.data:
        raise SystemExit("mlmat train: give training data with --data or in the config")
    if args.kfold:
        report = cross_validate(config, args.kfold)
        for name, stat in report["summary"].items():
            print(f"{name:28s} {stat['mean']:.4g} ± {stat['std']:.2g}")
        if args.report:
            with open(args.report, "w") as handle:
                json.dump(report, handle, indent=1)
        return 0
    result = train(config)
    print(f"saved {config.output} (best epoch {result.history.best_epoch}, {result.history.seconds:.0f} s)")
    for name, value in result.val_metrics.items():
        print(f"validation {name:28s} {value:.4g}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .train import evaluate

    metrics = evaluate(args.model, args.data, swap_stress_yz_xz=args.swap_stress_yz_xz or ())
    print(f"structures               {metrics['num_structures']}")
    print(f"energy MAE               {metrics['energy_mae_meV_per_atom']:.3f} meV/atom")
    if "forces_mae_eV_per_A" in metrics:
        print(f"force MAE                {metrics['forces_mae_eV_per_A']:.4f} eV/Å")
    if "stress_mae_GPa" in metrics:
        print(f"stress MAE               {metrics['stress_mae_GPa']:.3f} GPa")
    if args.json:
        print(json.dumps(metrics))
    return 0


def _calculator(args: argparse.Namespace):
    from .calculator import MLCalculator

    return MLCalculator(args.model, device=args.device, dtype=args.dtype)


def _md(args: argparse.Namespace) -> int:
    import numpy as np

    from .workflows import run_md
    from .workflows.structures import load_structure

    calc = _calculator(args)
    atoms = load_structure(args.structure, calc.elements[0], args.supercell)
    atoms.calc = calc
    print(
        f"{args.ensemble.upper()} MD of {atoms.get_chemical_formula()} ({len(atoms)} atoms) with {args.model}, "
        f"{args.temperature} K, {args.timestep} fs x {args.steps} steps"
    )
    print(f"{'step':>8} {'time/ps':>8} {'Epot/eV/atom':>14} {'Etot/eV/atom':>14} {'T/K':>8}")

    def show(step, atoms):
        n = len(atoms)
        epot = atoms.get_potential_energy() / n
        etot = epot + atoms.get_kinetic_energy() / n
        print(f"{step:8d} {step * args.timestep / 1000:8.3f} {epot:14.6f} {etot:14.6f} {atoms.get_temperature():8.1f}")

    result = run_md(
        atoms,
        ensemble=args.ensemble,
        temperature_K=args.temperature,
        timestep_fs=args.timestep,
        steps=args.steps,
        interval=args.interval,
        trajectory=args.trajectory,
        rng=np.random.default_rng(args.seed),
        callback=show,
    )
    print(
        f"total-energy drift {result.drift_meV_per_atom_per_ps:.4f} meV/atom/ps, "
        f"mean T {result.temperature_K.mean():.1f} K"
    )
    return 0


def _phonons(args: argparse.Namespace) -> int:
    import numpy as np

    from .workflows import make_phonopy, mesh_frequencies, relax
    from .workflows.phonons import plot_band_structure
    from .workflows.structures import load_structure

    calc = _calculator(args)
    atoms = load_structure(args.structure, calc.elements[0])
    if args.structure is None:
        from ase.build import bulk

        atoms = bulk(calc.elements[0])  # primitive cell for phonons
    atoms.calc = calc
    if not args.no_relax:
        relax(atoms, fmax_eV_per_A=1e-4)
    phonon = make_phonopy(atoms, calc, supercell=tuple(args.supercell))
    qpoints, freqs = mesh_frequencies(phonon, (args.mesh,) * 3)
    away = np.linalg.norm(qpoints, axis=1) > 1e-6
    phonon.run_qpoints([[0, 0, 0]])
    gamma = phonon.get_qpoints_dict()["frequencies"][0]
    print(f"{atoms.get_chemical_formula()}: lattice volume {atoms.get_volume() / len(atoms):.3f} Å³/atom")
    print("Γ frequencies (THz):", " ".join(f"{f:.3f}" for f in gamma))
    print(f"lowest frequency away from Γ: {freqs[away].min():.3f} THz; highest: {freqs.max():.3f} THz")
    if args.plot:
        plot_band_structure(phonon, args.plot)
        print(f"band structure written to {args.plot}")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from .properties import available

    plugins = available()
    if not plugins:
        print("no property plugins installed")
    for name, version in plugins.items():
        print(f"{name:20s} {version}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .data import read_structures
    from .properties import PredictionFailure, calculator_from_spec, create
    from .properties.output import write_csv, write_db, write_json
    from .yaml_config import parse_key_value_options

    predictor = create(args.name, **parse_key_value_options(args.option))
    structures, sources = [], []
    for path in args.structures:
        frames = read_structures(path)
        structures.extend(frames)
        sources.extend(f"{path}@{k}" if len(frames) > 1 else path for k in range(len(frames)))
    for atoms in structures:
        atoms.calc = None
    calculator = calculator_from_spec(args.calc) if args.calc else None
    results = predictor.predict_many(structures, calculator, progress=not args.no_progress)
    failed = 0
    for atoms, result, source in zip(structures, results, sources):
        if isinstance(result, PredictionFailure):
            failed += 1
            print(f"{source} ({atoms.get_chemical_formula()}): FAILED {result.error_type}: {result.message}")
        else:
            summary = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.as_row().items()
            )
            print(f"{source} ({atoms.get_chemical_formula()}): {summary}")
    output = args.output or f"{args.name}_results.json"
    (write_csv if output.endswith(".csv") else write_json)(output, structures, results, sources)
    print(f"results written to {output}")
    if args.db:
        write_db(args.db, structures, results, sources, args.name)
        print(f"rows appended to {args.db}")
    return 1 if failed == len(structures) else 0


def _models(args: argparse.Namespace) -> int:
    from . import pretrained
    from .models import available

    print("architectures:", ", ".join(available()))
    print("shipped models:", ", ".join(pretrained.available()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlmat", description="ase-mlmat: ML potentials and properties for ASE")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a potential (or k-fold cross-validate)")
    p.add_argument("--config", help="YAML file; keys are TrainConfig fields")
    p.add_argument(
        "--data",
        nargs="+",
        help="labelled structures (extxyz, ase.db, any ase.io format; FILE@INDEX or "
        "DB@SELECTION picks some; an mlmat learn database gives its labels)",
    )
    p.add_argument("--output", help="checkpoint path (default model.pt)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--max-minutes", type=float, help="time budget (wall clock unless --budget-clock cpu)")
    p.add_argument("--budget-clock", choices=["wall", "cpu"], help="count --max-minutes in wall or process CPU time")
    p.add_argument("--energy-weight", type=float, help="loss weight of MSE(ΔE/N), (eV/atom)^-2")
    p.add_argument("--forces-weight", type=float, help="loss weight of MSE(ΔF), (eV/Å)^-2")
    p.add_argument("--stress-weight", type=float, help="loss weight of MSE(Δσ), (eV/Å³)^-2")
    p.add_argument("--init-from", help="fine-tune from this checkpoint or shipped model")
    p.add_argument("--kfold", type=int, help="k-fold cross-validation instead of one training run")
    p.add_argument("--report", help="JSON file for the k-fold report")
    p.add_argument("--device")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="errors of a model on labelled data")
    p.add_argument("model", help="checkpoint path or shipped model name")
    p.add_argument("data", nargs="+")
    p.add_argument("--json", action="store_true", help="also print the metrics as one JSON line")
    p.add_argument(
        "--swap-stress-yz-xz",
        nargs="+",
        metavar="CONFIG_TYPE",
        help="exchange σ_yz and σ_xz labels of these config_types ('*': all); ase_mlmat.data.corrections",
    )
    p.set_defaults(func=_eval)

    p = sub.add_parser("md", help="molecular dynamics (NVE or Langevin NVT) with a potential")
    p.add_argument("model", help="checkpoint path or shipped model name")
    p.add_argument("--structure", help="FILE or FILE@INDEX (default: bulk of the model's first element)")
    p.add_argument("--supercell", type=int, nargs=3)
    p.add_argument("--ensemble", choices=["nve", "nvt"], default="nve")
    p.add_argument("--temperature", type=float, default=300.0, help="K")
    p.add_argument("--timestep", type=float, default=1.0, help="fs")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--interval", type=int, default=100)
    p.add_argument("--trajectory", help="ASE .traj file to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="float32")
    p.set_defaults(func=_md)

    p = sub.add_parser("phonons", help="phonopy phonons with a potential")
    p.add_argument("model", help="checkpoint path or shipped model name")
    p.add_argument("--structure", help="FILE or FILE@INDEX (default: primitive bulk of the model's element)")
    p.add_argument("--supercell", type=int, nargs=3, default=[3, 3, 3])
    p.add_argument("--mesh", type=int, default=12)
    p.add_argument("--plot", help="PNG file for the band structure")
    p.add_argument("--no-relax", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="float64")
    p.set_defaults(func=_phonons)

    p = sub.add_parser("plugins", help="list installed property predictors and their versions")
    p.set_defaults(func=_plugins)

    p = sub.add_parser("predict", help="run a property predictor on structure files")
    p.add_argument("name", help="predictor name (see mlmat plugins)")
    p.add_argument("structures", nargs="+", help="structure files: any ase.io format, several files or an ase.db")
    p.add_argument("--calc", help="shipped model name, checkpoint path, or module:Class (e.g. ase.calculators.emt:EMT)")
    p.add_argument("--option", action="append", help="predictor option KEY=VALUE (repeatable)")
    p.add_argument("--output", help="results file, .json (default) or .csv")
    p.add_argument("--db", help="also append rows to this ase.db (file or URL)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_predict)

    from .active.cli import add_parser as add_learn_parser  # light: imports only argparse

    add_learn_parser(sub)

    from .train.property_cli import add_parser as add_train_property_parser
    from .workflows.screening.cli import add_parser as add_screen_parser

    add_train_property_parser(sub)
    add_screen_parser(sub)

    p = sub.add_parser("models", help="list architectures and shipped models")
    p.set_defaults(func=_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"mlmat {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
