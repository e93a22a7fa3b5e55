"""Known label defects of published data sets, corrected on reading.

The mlearn training files (Zuo et al. 2020) as shipped in ``../shared/data/mlearn`` carry the yz and
xz stress components exchanged in some frames — a Voigt-order slip when VASP's (xx, yy, zz, xy, yz, zx)
was converted to ASE's (xx, yy, zz, yz, xz, xy). Evidence: in the Cu, Ni and Mo "Elastic" frames a cell
sheared in yz carries its stress in xz and the reverse (the Si and Ge ones are right), and a
rotation-equivariant model's yz/xz error falls to its xy level once the two are exchanged in the
affected frames (``docs/properties/mlearn_stress_labels.md``). An equivariant model cannot fit such
labels; trained on them, its shear response is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from ase import Atoms

from .dataset import Labels

ALL_FRAMES = "*"

# config_type values whose yz/xz stress labels are exchanged, per mlearn training file.
MLEARN_SWAPPED_YZ_XZ: dict[str, list[str]] = {
    "Cu": [ALL_FRAMES],
    "Ni": [ALL_FRAMES],
    "Mo": [ALL_FRAMES],
    "Li": [],
    "Si": ["AIMD-NVT", "Vacancy", "Surface"],
    "Ge": ["AIMD-NVT", "Vacancy", "Surface"],
}


def swap_stress_yz_xz(
    structures: Sequence[Atoms], labels: Sequence[Labels], config_types: Sequence[str]
) -> list[Labels]:
    """``labels`` with σ_yz and σ_xz exchanged in frames whose ``info["config_type"]`` is listed.

    ``"*"`` in ``config_types`` selects every frame. Frames without stress are left as they are.
    """
    selected = set(config_types)
    fixed = []
    for atoms, label in zip(structures, labels, strict=True):
        chosen = ALL_FRAMES in selected or atoms.info.get("config_type") in selected
        if chosen and label.stress is not None:
            stress = label.stress.copy()
            stress[[3, 4]] = stress[[4, 3]]
            label = Labels(label.energy, label.forces, stress)
        fixed.append(label)
    return fixed
