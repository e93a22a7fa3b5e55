"""``mlmat-glass``: generate Kob–Andersen data, convert BOTAN/Bapst files, predict propensity."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def _convert(args: argparse.Namespace) -> None:
    from .storage import load_sample, save_sample

    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        sample = load_sample(path, box=args.box, temperature=args.temperature, time=args.time)
        target = save_sample(sample, args.out / (Path(path).stem + ".npz"))
        fs = sample.fs_a.round(3).tolist()
        print(f"{path} -> {target}  N={sample.n_particles} T={sample.temperature} F_s(A)={fs}")


def _predict(args: argparse.Namespace) -> None:
    from .predictor import GlassMobilityPredictor
    from .storage import load_sample

    predictor = GlassMobilityPredictor(args.model, symmetrize=args.symmetrize, device=args.device)
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


def main(argv: list[str] | None = None) -> None:
    from .generate import add_arguments, run_from_args

    parser = argparse.ArgumentParser(prog="mlmat-glass", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_arguments(sub.add_parser("generate", help="equilibrate, iso-configurational ensembles, propensity, F_s"))
    convert = sub.add_parser("convert", help="BOTAN npz / Bapst pickle -> mlmat-glass/1 npz")
    predict = sub.add_parser("predict", help="predicted propensity with a trained model")
    for p in (convert, predict):
        p.add_argument("files", nargs="+", type=Path)
        p.add_argument("--box", type=float, default=None, help="box length (σ) if the file lacks it")
        p.add_argument("--temperature", type=float, default=None)
    convert.add_argument("--time", type=float, default=None, help="time of the stored positions (τ), if known")
    convert.add_argument("--out", type=Path, required=True)
    predict.add_argument("--model", default="ka-T0.44-botan")
    predict.add_argument("--symmetrize", action="store_true", help="average over the 48 cube symmetries")
    predict.add_argument("--device", default="auto", help="where the network runs: auto, cpu, cuda or cuda:N")
    predict.add_argument("--save", action="store_true", help="write <file stem>.propensity.npy")
    predict.add_argument(
        "--out-dir", type=Path, default=None, help="folder for --save (default: beside each input file)"
    )
    args = parser.parse_args(argv)
    if args.command == "generate":
        run_from_args(args)
    elif args.command == "convert":
        _convert(args)
    else:
        _predict(args)


if __name__ == "__main__":
    main()
