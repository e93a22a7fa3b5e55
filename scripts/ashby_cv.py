"""Ashby diagrams of the MP binaries from cross-validated CGCNN moduli and from the DFT moduli; one JSON line.

Reads the report of ``scripts/cv_cgcnn.py`` (out-of-fold log10 K, G of every structure), derives
Mazhnik–Oganov H_v and K_IC for each, and writes ``docs/screening/ashby_cv.png`` (predicted) and
``docs/screening/ashby_dft.png`` (same structures, DFT moduli), with B–N, Si–C, W–C, B–C and Ti–N marked.

    python scripts/ashby_cv.py --report runs/cv_cgcnn.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "elastic" / "mp-binary-pbe-elasticity-2025.1.json.gz"


def hardness_columns(structures, log_moduli: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H_v (GPa), K_IC (MPa·m^½) and the metallic flag from log10 K, G (GPa) of each structure."""
    from mlmat_hardness import hardness_from_moduli

    hardness, toughness, metallic = [], [], []
    for atoms, (log_k, log_g) in zip(structures, log_moduli):
        result = hardness_from_moduli(
            10**log_k, 10**log_g, atoms.get_volume() / len(atoms), elements=atoms.get_chemical_symbols()
        )
        hardness.append(result.vickers_hardness_GPa)
        toughness.append(result.fracture_toughness_MPa_m05)
        metallic.append(bool(result.metallic))
    return np.array(hardness), np.array(toughness), np.array(metallic)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", default="runs/cv_cgcnn.json")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--outdir", default=str(ROOT / "docs" / "screening"))
    args = parser.parse_args()

    from ase_mlmat.data.elastic import load_moduli_dataset
    from ase_mlmat.workflows.screening import KNOWN_HARD_PAIRS, ashby_diagram

    report = json.loads(Path(args.report).read_text())
    data = load_moduli_dataset(args.data)
    if report["ids"] != data.ids:
        raise SystemExit("the CV report does not belong to this data file (structure ids differ)")
    predicted = np.asarray(report["oof_mean"], dtype=float)
    if np.isnan(predicted).any():
        raise SystemExit("the CV report lacks out-of-fold predictions for some structures (run all folds)")
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    elements = [frozenset(a.get_chemical_symbols()) for a in data.structures]
    h_ml, k_ml, metallic = hardness_columns(data.structures, predicted)
    h_dft, k_dft, _ = hardness_columns(data.structures, data.targets)
    ashby_diagram(
        k_ml,
        h_ml,
        elements,
        outdir / "ashby_cv.png",
        metallic=metallic,
        title=f"CGCNN {report['k']}-fold CV predictions",
    )
    ashby_diagram(k_dft, h_dft, elements, outdir / "ashby_dft.png", metallic=metallic, title="DFT (MP) moduli")
    marked = {}
    for pair in KNOWN_HARD_PAIRS:
        idx = [i for i, s in enumerate(elements) if s == frozenset(pair)]
        marked["-".join(pair)] = [
            {
                "id": data.ids[i],
                "formula": data.structures[i].get_chemical_formula(),
                "Hv_cv_GPa": round(float(h_ml[i]), 1),
                "Hv_dft_GPa": round(float(h_dft[i]), 1),
            }
            for i in idx
        ]
    line = {
        "structures": len(data),
        "superhard_cv": int((h_ml >= 40).sum()),
        "superhard_dft": int((h_dft >= 40).sum()),
        "mae_Hv_GPa": float(np.abs(h_ml - h_dft).mean()),
        "mae_KIC_MPa_m05": float(np.abs(k_ml - k_dft).mean()),
        "known_hard_binaries": marked,
        "figures": [str(outdir / "ashby_cv.png"), str(outdir / "ashby_dft.png")],
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
