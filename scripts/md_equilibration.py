"""How long Langevin MD from a relaxed cell takes to reach its temperature (EMT Cu32, the AL loop's MD settings).

Velocities are drawn at T on the perfect fcc lattice; equipartition moves half the kinetic energy into
potential energy within ~100 fs and the thermostat brings the rest back over several relaxation times.
Prints one JSON line: mean instantaneous temperature (K) and potential energy above the lattice minimum
(meV/atom) per window of MD steps, over ``--runs`` runs. This is why ``ActiveConfig.equilibration_steps``
exists. Usage: ``python scripts/md_equilibration.py`` (~1 CPU-minute).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary

WINDOWS = [(10, 50), (60, 100), (110, 200), (210, 400), (410, 600)]  # MD steps, both ends included


def trace(temperature_K: float, seed: int, steps: int, every: int = 10) -> np.ndarray:
    """(step, T_inst in K, E_pot - E_min in meV/atom) every ``every`` steps of one run."""
    atoms = bulk("Cu", cubic=True) * (2, 2, 2)
    atoms.calc = EMT()
    minimum = atoms.get_potential_energy()
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(units.kB * temperature_K * atoms.get_masses())[:, None]
    atoms.set_momenta(rng.normal(size=(len(atoms), 3)) * sigma)
    Stationary(atoms)
    dyn = Langevin(atoms, 2.0 * units.fs, temperature_K=temperature_K, friction=0.01 / units.fs, fixcm=False, rng=rng)
    rows = []
    for step in range(every, steps + 1, every):
        dyn.run(every)
        rows.append((step, atoms.get_temperature(), 1000 * (atoms.get_potential_energy() - minimum) / len(atoms)))
    return np.array(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[300.0, 1200.0])
    args = parser.parse_args(argv)
    report = {"system": "Cu32 fcc, EMT", "timestep_fs": 2.0, "friction_per_fs": 0.01, "runs": args.runs, "windows": {}}
    for temperature in args.temperatures:
        runs = np.stack([trace(temperature, seed, WINDOWS[-1][1]) for seed in range(args.runs)])
        rows = []
        for lo, hi in WINDOWS:
            inside = (runs[0, :, 0] >= lo) & (runs[0, :, 0] <= hi)
            rows.append(
                {
                    "steps": [lo, hi],
                    "temperature_K": round(float(runs[:, inside, 1].mean()), 1),
                    "epot_above_min_meV_per_atom": round(float(runs[:, inside, 2].mean()), 1),
                }
            )
        report["windows"][f"{temperature:g}"] = rows
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
