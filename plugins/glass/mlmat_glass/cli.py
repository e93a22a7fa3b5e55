"""``mlmat glass``: generate Kob–Andersen data, convert BOTAN/Bapst files, predict propensity.

Registered with the ``mlmat`` command through the ``ase_mlmat.commands`` entry-point group
(see :mod:`ase_mlmat.commands`); ``mlmat`` calls :func:`add_parser` only when ``mlmat glass`` runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``glass`` with its subcommands ``generate``, ``convert`` and ``predict``; returns its parser."""
    from .generate import add_arguments

    glass = subparsers.add_parser(
        "glass",
        help="Kob–Andersen glass data and propensity",
        description="Kob–Andersen iso-configurational data, BOTAN/Bapst conversion, glassy propensity prediction.",
    )
    sub = glass.add_subparsers(dest="glass_command", required=True, metavar="COMMAND")
    generate = sub.add_parser("generate", help="equilibrate, iso-configurational ensembles, propensity, F_s")
    add_arguments(generate)
    generate.set_defaults(func=_generate)
    convert = sub.add_parser("convert", help="BOTAN npz / Bapst pickle -> mlmat-glass/1 npz")
    predict = sub.add_parser("predict", help="predicted propensity with a trained model")
    for p in (convert, predict):
        p.add_argument("files", nargs="+", type=Path)
        p.add_argument("--box", type=float, default=None, help="box length (σ) if the file lacks it")
        p.add_argument("--temperature", type=float, default=None)
    convert.add_argument("--time", type=float, default=None, help="time of the stored positions (τ), if known")
    convert.add_argument("--out", type=Path, required=True)
    convert.set_defaults(func=_convert)
    predict.add_argument("--model", default="ka-T0.44-botan")
    predict.add_argument(
        "--time", default=None, help="the model's timescale: a label (e.g. tc07) or a time in tau (default: its only)"
    )
    predict.add_argument("--symmetrize", action="store_true", help="average over the 48 cube symmetries")
    predict.add_argument("--device", default="auto", help="where the network runs: auto, cpu, cuda or cuda:N")
    predict.add_argument("--save", action="store_true", help="write <file stem>.propensity.npy")
    predict.add_argument(
        "--out-dir", type=Path, default=None, help="folder for --save (default: beside each input file)"
    )
    predict.set_defaults(func=_predict)
    return glass


def _generate(args: argparse.Namespace) -> int:
    from .generate import run_from_args

    run_from_args(args)
    return 0


def _convert(args: argparse.Namespace) -> int:
    from .storage import load_sample, save_sample

    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        sample = load_sample(path, box=args.box, temperature=args.temperature, time=args.time)
        target = save_sample(sample, args.out / (Path(path).stem + ".npz"))
        fs = sample.fs_a.round(3).tolist()
        print(f"{path} -> {target}  N={sample.n_particles} T={sample.temperature} F_s(A)={fs}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import numpy as np

    from .predictor import GlassMobilityPredictor
    from .storage import load_sample

    predictor = GlassMobilityPredictor(args.model, symmetrize=args.symmetrize, device=args.device, time=args.time)
    for path in args.files:
        if str(path).endswith((".npz", ".pickle", ".pkl")):
            atoms = load_sample(path, box=args.box, temperature=args.temperature).to_atoms()
        else:
            from ase.io import read

            atoms = read(path)
        result = predictor.predict(atoms)
        out = None
        if args.save:
            folder = args.out_dir if args.out_dir is not None else Path(path).parent
            folder.mkdir(parents=True, exist_ok=True)
            out = folder / (Path(path).stem + ".propensity.npy")
            np.save(out, result.propensity_sigma)
        print(
            f"{path}: N={result.n_particles}  mean predicted propensity (A) {result.mean_propensity_A_sigma:.3f} σ"
            + (f"  -> {out}" if out else "")
        )
    return 0
