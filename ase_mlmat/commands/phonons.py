"""``mlmat phonons``: phonopy phonons with a potential."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``phonons`` subcommand; returns its parser."""
    p = subparsers.add_parser("phonons", help="phonopy phonons with a potential")
    p.add_argument("model", help="checkpoint path or shipped model name")
    p.add_argument("--structure", help="FILE or FILE@INDEX (default: primitive bulk of the model's element)")
    p.add_argument(
        "--supercell",
        type=int,
        nargs=3,
        help="diagonal supercell (default: the smallest at least twice the model's cutoff wide)",
    )
    p.add_argument("--mesh", type=int, default=12, help="q-points per direction of the Γ-centred mesh")
    p.add_argument("--plot", help="PNG file for the band structure")
    p.add_argument("--no-relax", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="float64")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print Γ and mesh frequencies (THz); optionally plot the band structure. Returns the exit code."""
    import numpy as np

    from ..calculator import MLCalculator
    from ..workflows.phonons import make_phonopy, mesh_frequencies, minimal_supercell, plot_band_structure
    from ..workflows.relax import relax
    from ..workflows.structures import load_structure

    calc = MLCalculator(args.model, device=args.device, dtype=args.dtype)
    if args.structure is None:
        from ase.build import bulk

        atoms = bulk(calc.elements[0])  # primitive cell for phonons
    else:
        atoms = load_structure(args.structure, calc.elements[0])
    atoms.calc = calc
    if not args.no_relax:
        relax(atoms, fmax_eV_per_A=1e-4)
    supercell = tuple(args.supercell) if args.supercell else minimal_supercell(atoms, 2 * calc.cutoff)
    size = "×".join(map(str, supercell))
    phonon = make_phonopy(atoms, calc, supercell=supercell)
    qpoints, freqs = mesh_frequencies(phonon, (args.mesh,) * 3)
    away = np.linalg.norm(qpoints, axis=1) > 1e-6
    phonon.run_qpoints([[0, 0, 0]])
    gamma = phonon.qpoints.frequencies[0]
    formula = atoms.get_chemical_formula()
    print(f"{formula}: lattice volume {atoms.get_volume() / len(atoms):.3f} Å³/atom, {size} supercell")
    print("Γ frequencies (THz):", " ".join(f"{f:.3f}" for f in gamma))
    if away.any():
        print(f"lowest frequency away from Γ: {freqs[away].min():.3f} THz; highest: {freqs.max():.3f} THz")
    if args.plot:
        title = f"Phonon band structure of {formula} ({args.model}, {size} supercell)"
        plot_band_structure(phonon, args.plot, title=title)
        print(f"band structure written to {args.plot}")
    return 0
