"""``mlmat md``: molecular dynamics (NVE or Langevin NVT) with a potential."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``md`` subcommand; returns its parser."""
    p = subparsers.add_parser("md", help="molecular dynamics (NVE or Langevin NVT) with a potential")
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
    p.add_argument(
        "--compile",
        action="store_true",
        help="run the model compiled by AOTInductor (2-5x faster on CPU; the first run compiles, about a minute)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run MD, printing samples and a summary (energy drift under NVE, T and E_pot under NVT)."""
    import numpy as np

    from ..calculator import MLCalculator
    from ..workflows.md import run_md
    from ..workflows.structures import load_structure

    calc = MLCalculator(args.model, device=args.device, dtype=args.dtype, compile=args.compile)
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
    print(summary(result))
    return 0


def summary(result) -> str:
    """One line: the total-energy drift under NVE; mean T (± standard deviation) and mean E_pot under NVT."""
    temperature = result.temperature_K
    if result.drift_meV_per_atom_per_ps is not None:
        return (
            f"total-energy drift {result.drift_meV_per_atom_per_ps:.4f} meV/atom/ps, mean T {temperature.mean():.1f} K"
        )
    return (
        f"mean T {temperature.mean():.1f} ± {temperature.std():.1f} K, "
        f"mean potential energy {result.potential_eV_per_atom.mean():.6f} eV/atom"
    )
