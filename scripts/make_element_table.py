"""Write ``ase_mlmat/models/element_properties.json``: raw elemental data for the CGCNN atom features.

Run once, offline, where pymatgen is installed (it is only a test dependency of ase-mlmat):

    python scripts/make_element_table.py

Columns per element (Z = 1..100): group, period, Pauling electronegativity, covalent radius (Å, ASE),
valence electrons, first ionisation energy (eV), electron affinity (eV), block, atomic volume (Å³/atom,
from the molar volume). Missing values are null; the one-hot encoder leaves their bits at zero. With
pymatgen 2024–2025 six values are missing: the electronegativity of He, Ne, Ar and the atomic volume of
At, Fr, Fm (documented in docs/screening/README.md and ase_mlmat/models/cgcnn.py).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from ase.data import covalent_radii

OUTPUT = Path(__file__).resolve().parents[1] / "ase_mlmat" / "models" / "element_properties.json"
AVOGADRO = 6.02214076e23


def valence_electrons(group: int, block: str) -> int:
    """Outer-shell electrons counted by group: s and d blocks = group, p block = group − 10, f block = 3."""
    if block == "f":
        return 3
    return group - 10 if group >= 13 else group


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def main() -> None:
    from pymatgen.core.periodic_table import Element

    table = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for z in range(1, 101):
            element = Element.from_Z(z)
            block = element.block
            group = 3 if block == "f" else int(element.group)
            molar_volume = _number(element.molar_volume)  # cm³/mol
            energies = element.ionization_energies
            table[element.symbol] = {
                "Z": z,
                "group": group,
                "period": int(element.row),
                "electronegativity": _number(element.X),
                "covalent_radius_A": float(covalent_radii[z]),
                "valence_electrons": valence_electrons(group, block),
                "ionization_energy_eV": _number(energies[0]) if energies else None,
                "electron_affinity_eV": _number(element.electron_affinity),
                "block": block,
                "atomic_volume_A3": None if molar_volume is None else molar_volume * 1e24 / AVOGADRO,
            }
    OUTPUT.write_text(json.dumps(table, indent=0))
    print(f"wrote {OUTPUT} ({len(table)} elements)")


if __name__ == "__main__":
    main()
