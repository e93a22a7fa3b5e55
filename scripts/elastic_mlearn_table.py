"""C_ij of the mlearn potentials next to the PBE elastic constants of their own training data.

For each element (Cu, Ni: fcc; Li, Mo: bcc; Si, Ge: diamond) this script

1. derives the DFT (PBE) reference from the ``config_type == "Elastic"`` frames of
   ``../shared/data/mlearn/<El>_train.extxyz``: the strain of every frame relative to the
   "Ground state crystal" frame (polar decomposition F = R U, Biot strain U − 1; the stress is rotated
   back by R, so the lower-triangular cells of the shear frames are handled), the ground-state stress
   subtracted, and a straight line through the origin fitted per Voigt strain component within
   ``--max-strain`` (tensor strain, default 3 %); C11, C12, C44 are the cubic averages. A quadratic
   fit over ±5 % and linear fits over ±2 % are kept as a linearity check;
2. computes the relaxed-ion (and clamped-ion) tensor of each model with the ``elastic`` plugin on the
   conventional cubic cell;
3. writes ``elastic_mlearn.json`` and ``elastic_mlearn.md`` (table with relative errors, Born stability).

Data quirks this handles and reports (see the Markdown notes): in the Cu, Ni and Mo sets the yz and xz
stress components of the yz/xz shear frames are swapped with respect to the cell deformation (detected
per frame and put back); the Si and Ge shear frames keep the ions at the homogeneously strained
positions (forces up to 2 eV/Å), so their C44 is the clamped-ion one; the relaxed-ion DFT C44 is then
estimated with the internal-strain (Kleinman) correction C44 = C44⁰ − Λ²/(Ω k), Λ from the DFT forces
of the clamped shear frames, k (the Γ optical force constant) from the model under test; the Mo frames
carry rattled positions (forces ≈ 0.4 eV/Å at zero strain); the Li shear stresses (≤ 0.1 GPa) do not
scale with strain, so no DFT C44 is derived for Li.

Usage (repository root, about one CPU minute)::

    OMP_NUM_THREADS=1 python scripts/elastic_mlearn_table.py
    OMP_NUM_THREADS=1 python scripts/elastic_mlearn_table.py --model Si=runs/si-retrained/model.pt
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg
from ase import Atoms
from ase.build import bulk
from ase.io import read
from ase.units import GPa

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mlearn"
ELEMENTS = {"Cu": "fcc", "Ni": "fcc", "Li": "bcc", "Mo": "bcc", "Si": "diamond", "Ge": "diamond"}
ATOMS_PER_CUBIC_CELL = {"fcc": 4, "bcc": 2, "diamond": 8}
PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))  # Voigt order of ASE
SHEAR_NOISE_GPa = 0.5  # a DFT shear stress that stays below this at 2 % shear is noise, not C44 γ


def _tensor(voigt: np.ndarray) -> np.ndarray:
    t = np.zeros((3, 3))
    for k, (i, j) in enumerate(PAIRS):
        t[i, j] = t[j, i] = voigt[k]
    return t


def _voigt(t: np.ndarray, engineering: bool) -> np.ndarray:
    return np.array([t[i, j] * (2.0 if engineering and i != j else 1.0) for i, j in PAIRS])


# --------------------------------------------------------------------------------------------- DFT
def dft_states(element: str) -> dict:
    """Strain (Voigt, engineering shear) and stress (GPa, reference frame) of every Elastic frame."""
    frames = [a for a in read(DATA / f"{element}_train.extxyz", ":") if a.info.get("config_type") == "Elastic"]
    ground = [a for a in frames if a.info.get("description") == "Ground state crystal"]
    if len(ground) != 1:
        raise RuntimeError(f"{element}: expected one 'Ground state crystal' Elastic frame, found {len(ground)}")
    ground = ground[0]
    reference_stress = ground.get_stress() / GPa
    states, swapped = [], 0
    for atoms in frames:
        if atoms is ground or len(atoms) != len(ground):
            continue
        F = np.linalg.solve(ground.cell.array, atoms.cell.array).T  # cell = ref_cell @ F^T
        R, U = scipy.linalg.polar(F)  # F = R U
        strain = _voigt(U - np.eye(3), engineering=True)
        stress = _voigt(R.T @ _tensor(atoms.get_stress() / GPa) @ R, engineering=False)
        j = int(np.argmax(np.abs(strain)))
        if j >= 3:  # shear: is the stress response in the strained component?
            shear = np.abs(stress[3:])
            k = 3 + int(np.argmax(shear))
            if k != j and shear.max() > SHEAR_NOISE_GPa * abs(strain[j]) / 0.04:
                stress[[j, k]] = stress[[k, j]]  # the yz/xz labels of this frame are swapped
                swapped += 1
        states.append(
            {
                "component": j,
                "strain": float(strain[j]),
                "stress": stress,
                "max_force": float(np.abs(atoms.get_forces()).max()),
                "n_atoms": len(atoms),
            }
        )
    return {"ground": ground, "reference_stress": reference_stress, "states": states, "swapped": swapped}


def _fit(states: list, reference_stress: np.ndarray, max_strain: float, degree: int = 1) -> np.ndarray:
    """(6, 6) slopes dσ_i/dε_j (GPa), NaN where a component has no state within max_strain (tensor strain)."""
    C = np.full((6, 6), np.nan)
    for j in range(6):
        rows = [
            s
            for s in states
            if s["component"] == j and abs(s["strain"]) * (0.5 if j >= 3 else 1.0) <= max_strain + 1e-4
        ]
        if len(rows) < degree:
            continue
        x = np.array([s["strain"] for s in rows])
        y = np.array([s["stress"] for s in rows]) - reference_stress
        A = np.column_stack([x**p for p in range(1, degree + 1)])  # through the origin: σ(0) = σ_ref
        C[:, j] = np.linalg.lstsq(A, y, rcond=None)[0][0]
    return C


def _cubic(C: np.ndarray) -> dict:
    normal = [C[i, j] for i in range(3) for j in range(3) if i != j]
    return {
        "C11": float(np.nanmean(np.diag(C)[:3])) if np.isfinite(np.diag(C)[:3]).any() else math.nan,
        "C12": float(np.nanmean(normal)) if np.isfinite(normal).any() else math.nan,
        "C44": float(np.nanmean(np.diag(C)[3:])) if np.isfinite(np.diag(C)[3:]).any() else math.nan,
    }


def dft_reference(element: str, max_strain: float) -> dict:
    data = dft_states(element)
    states, sigma0 = data["states"], data["reference_stress"]
    main = _cubic(_fit(states, sigma0, max_strain))
    checks = {f"linear_pm{round(100 * e)}pct": _cubic(_fit(states, sigma0, e)) for e in (0.02, 0.03)}
    checks["quadratic_pm5pct"] = _cubic(_fit(states, sigma0, 0.05, degree=2))
    spread = {
        k: float(np.nanmax([c[k] for c in checks.values()]) - np.nanmin([c[k] for c in checks.values()]))
        for k in ("C11", "C12", "C44")
    }
    shear = [s for s in states if s["component"] >= 3]
    normal = [s for s in states if s["component"] < 3]
    shear_forces = max((s["max_force"] for s in shear), default=0.0)
    notes = []
    if data["swapped"]:
        notes.append(
            f"{data['swapped']} shear frames had the yz and xz stress components swapped relative to the "
            "cell deformation; swapped back"
        )
    clamped = shear_forces > 0.05 and max((s["max_force"] for s in normal), default=0.0) < 0.05
    if clamped:
        notes.append(f"shear frames are clamped-ion (forces up to {shear_forces:.2f} eV/Å): DFT C44 is C44⁰")
    rattled = float(np.abs(data["ground"].get_forces()).max())
    if rattled > 0.05:
        notes.append(
            f"all frames, the zero-strain one included, carry forces up to {rattled:.2f} eV/Å "
            "(displaced ions); the zero-strain stress is subtracted"
        )
    result = {
        "n_frames": len(states) + 1,
        "n_atoms": data["ground"].get_global_number_of_atoms(),
        "zero_strain_stress_GPa": sigma0.round(4).tolist(),
        "max_tensor_strain": max_strain,
        **main,
        "linearity_checks": checks,
        "spread_of_checks_GPa": spread,
        "swapped_shear_frames": data["swapped"],
        "clamped_ion_shear": clamped,
        "notes": notes,
    }
    if clamped:
        result["C44_clamped"] = main["C44"]
        result["internal_strain_Lambda_eV_per_A"] = _lambda_dft(element, data, max_strain)
    if element == "Li":
        slopes = [s["stress"][s["component"]] / s["strain"] for s in shear]
        result["C44"] = math.nan
        notes.append(
            "shear stresses are ≤ 0.1 GPa and do not scale with strain (slopes "
            f"{min(slopes):.1f} to {max(slopes):.1f} GPa): no DFT C44, hence no G_VRH"
        )
    return result


def _lambda_dft(element: str, data: dict, max_strain: float) -> float:
    """Internal-strain coefficient Λ (eV/Å per unit engineering shear): |force on an atom| = Λ |γ| at clamped shear."""
    frames = [a for a in read(DATA / f"{element}_train.extxyz", ":") if a.info.get("config_type") == "Elastic"]
    ground = data["ground"]
    values = []
    for atoms in frames:
        if len(atoms) != len(ground) or atoms.info.get("description") == "Ground state crystal":
            continue
        F = np.linalg.solve(ground.cell.array, atoms.cell.array).T
        _, U = scipy.linalg.polar(F)
        strain = _voigt(U - np.eye(3), engineering=True)
        j = int(np.argmax(np.abs(strain)))
        if j < 3 or abs(strain[j]) / 2 > max_strain + 1e-4:
            continue
        values.append(float(np.abs(atoms.get_forces()).max() / abs(strain[j])))
    return float(np.mean(values))


# ------------------------------------------------------------------------------------------- model
def ground_state_cell(element: str) -> Atoms:
    """Conventional cubic cell with the DFT ground-state lattice constant."""
    ground = next(
        a
        for a in read(DATA / f"{element}_train.extxyz", ":")
        if a.info.get("config_type") == "Elastic" and a.info.get("description") == "Ground state crystal"
    )
    structure = ELEMENTS[element]
    a = (ground.get_volume() / len(ground) * ATOMS_PER_CUBIC_CELL[structure]) ** (1.0 / 3.0)
    return bulk(element, structure, a=a, cubic=True)


def optical_force_constant(atoms: Atoms, calculator, d: float = 0.01) -> float:
    """k (eV/Å²) of the diamond Γ optical mode: force on the moved sublattice = −k d (d along z)."""
    displaced = atoms.copy()
    quarter = np.rint(4 * displaced.get_scaled_positions()).sum(axis=1)
    sublattice = quarter % 2 == 0  # the fcc sublattice at (0, 0, 0); the other sits at (¼, ¼, ¼)
    displaced.positions[sublattice, 2] += d
    displaced.calc = calculator
    forces = displaced.get_forces()
    return float(-forces[sublattice, 2].mean() / d)


def internal_strain_coefficient(atoms: Atoms, calculator, gamma: float = 0.01) -> float:
    """Λ (eV/Å per unit engineering shear): largest force at clamped xy shear γ, divided by γ."""
    sheared = atoms.copy()
    eps = np.eye(3)
    eps[0, 1] = eps[1, 0] = 1.0 + gamma / 2 - 1.0
    sheared.set_cell(atoms.cell.array @ eps.T, scale_atoms=True)
    sheared.calc = calculator
    return float(np.abs(sheared.get_forces()).max() / gamma)


def model_elastic(element: str, spec: str) -> dict:
    import torch
    from mlmat_elastic import ElasticPredictor

    from ase_mlmat.properties import calculator_from_spec

    torch.set_num_threads(1)
    calculator = calculator_from_spec(spec, dtype="float64")
    atoms = ground_state_cell(element)
    out = {"model": spec}
    for relaxed in (True, False):
        start = time.perf_counter()
        result = ElasticPredictor(relax_ions=relaxed).predict(atoms, calculator)
        C = result.elastic_tensor_GPa
        key = "relaxed_ion" if relaxed else "clamped_ion"
        out[key] = {
            "C_GPa": C.round(3).tolist(),
            **_cubic(C),
            "K_VRH": result.bulk_modulus_GPa,
            "G_VRH": result.shear_modulus_GPa,
            "born_stable": result.born_stable,
            "born_eigenvalues_GPa": result.born_eigenvalues_GPa.round(3).tolist(),
            "a_A": float(np.cbrt(abs(np.linalg.det(result.cell_A)))),
            "fit_residual_GPa": result.fit_residual_GPa,
            "warnings": result.warnings,
            "seconds": round(time.perf_counter() - start, 1),
        }
        if ELEMENTS[element] != "diamond":
            break  # Bravais lattice: clamped-ion = relaxed-ion
    if ELEMENTS[element] == "diamond":
        relaxed_cell = atoms.copy()
        relaxed_cell.set_cell(np.eye(3) * out["relaxed_ion"]["a_A"], scale_atoms=True)
        k = optical_force_constant(relaxed_cell, calculator)
        lam = internal_strain_coefficient(relaxed_cell, calculator)
        out["optical_force_constant_eV_per_A2"] = k
        out["internal_strain_Lambda_eV_per_A"] = lam
        # check of the Kleinman correction on the model itself: C44⁰ − Λ²/(Ωk) should equal its relaxed-ion C44
        omega = out["relaxed_ion"]["a_A"] ** 3 / 4
        out["C44_kleinman_check_GPa"] = out["clamped_ion"]["C44"] - lam**2 / (omega * k) / GPa
    return out


def vrh_cubic(C11: float, C12: float, C44: float) -> tuple[float, float]:
    """Hill K, G of a cubic tensor (NaN G when C44 is unknown)."""
    K = (C11 + 2 * C12) / 3
    if not math.isfinite(C44):
        return K, math.nan
    G_V = (C11 - C12 + 3 * C44) / 5
    G_R = 5 * (C11 - C12) * C44 / (4 * C44 + 3 * (C11 - C12))
    return K, (G_V + G_R) / 2


# ------------------------------------------------------------------------------------------ report
def _rel(model: float, ref: float) -> str:
    if not (math.isfinite(model) and math.isfinite(ref)) or ref == 0:
        return "n/a"
    return f"{100 * (model - ref) / ref:+.0f} %"


def _num(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.1f}"


def build_rows(reference: dict, models: dict) -> list[dict]:
    rows = []
    for element, dft in reference.items():
        model = models[element]
        m = model["relaxed_ion"]
        C44_dft = dft["C44"]
        C44_note = ""
        if dft.get("clamped_ion_shear"):
            Omega = (m["a_A"] ** 3) / 4  # primitive cell of diamond: 2 atoms
            k = model["optical_force_constant_eV_per_A2"]
            correction = dft["internal_strain_Lambda_eV_per_A"] ** 2 / (Omega * k) / GPa
            C44_dft = dft["C44_clamped"] - correction
            dft["C44_relaxed_estimate"] = C44_dft
            dft["kleinman_correction_GPa"] = correction
            C44_note = "est."
        K_dft, G_dft = vrh_cubic(dft["C11"], dft["C12"], C44_dft)
        dft["K_VRH"], dft["G_VRH"] = K_dft, G_dft
        row = {
            "element": element,
            "structure": ELEMENTS[element],
            "model": model["model"],
            "a_model_A": m["a_A"],
            "born_stable": m["born_stable"],
            "min_eigenvalue_GPa": m["born_eigenvalues_GPa"][0],
        }
        for name, mv, dv in (
            ("C11", m["C11"], dft["C11"]),
            ("C12", m["C12"], dft["C12"]),
            ("C44", m["C44"], C44_dft),
            ("K_VRH", m["K_VRH"], K_dft),
            ("G_VRH", m["G_VRH"], G_dft),
        ):
            row[name] = {"model": mv, "dft": dv, "relative_error": (mv - dv) / dv if math.isfinite(dv) and dv else None}
        row["C44_dft_note"] = C44_note
        if "clamped_ion" in model:
            clamped_model, clamped_dft = model["clamped_ion"]["C44"], dft["C44_clamped"]
            row["C44_clamped"] = {
                "model": clamped_model,
                "dft": clamped_dft,
                "relative_error": (clamped_model - clamped_dft) / clamped_dft,
            }
        rows.append(row)
    return rows


def markdown(rows: list[dict], reference: dict, max_strain: float) -> str:
    head = (
        "| element | model | C11 model / DFT (err) | C12 model / DFT (err) | C44 model / DFT (err) "
        "| K_VRH model / DFT (err) | G_VRH model / DFT (err) | Born-stable (min eig., GPa) |"
    )
    lines = [
        "# Elastic constants of the shipped mlearn potentials vs their PBE training data",
        "",
        "Generated by `scripts/elastic_mlearn_table.py` (relaxed-ion C from the `elastic` plugin, ±0.5 % and ±1 % "
        "strains, float64, conventional cubic cell). GPa; error = (model − DFT)/DFT.",
        f"DFT = PBE stresses of the `Elastic` frames of `../shared/data/mlearn/<El>_train.extxyz` (the data the models "
        f"were trained on), linear fit through the zero-strain state within ±{100 * max_strain:g} % tensor strain, "
        "zero-strain stress subtracted, cubic averages.",
        "",
        head,
        "|" + "---|" * 8,
    ]
    for r in rows:
        cells = []
        for name in ("C11", "C12", "C44", "K_VRH", "G_VRH"):
            v = r[name]
            note = f" {r['C44_dft_note']}" if name in ("C44", "G_VRH") and r["C44_dft_note"] else ""
            cells.append(f"{_num(v['model'])} / {_num(v['dft'])}{note} ({_rel(v['model'], v['dft'])})")
        stable = "yes" if r["born_stable"] else "**no**"
        lines.append(
            f"| {r['element']} ({r['structure']}) | {r['model']} | "
            + " | ".join(cells)
            + f" | {stable} ({r['min_eigenvalue_GPa']:.1f}) |"
        )
    clamped = [r for r in rows if "C44_clamped" in r]
    if clamped:
        lines += [
            "",
            "Clamped-ion C44 (ions kept at the homogeneously strained positions), the quantity the DFT "
            "shear frames of Si and Ge measure directly:",
            "",
            "| element | C44⁰ model | C44⁰ DFT | error | Kleinman correction Λ²/(Ωk) (GPa) |",
            "|---|---|---|---|---|",
        ]
        for r in clamped:
            v = r["C44_clamped"]
            lines.append(
                f"| {r['element']} | {_num(v['model'])} | {_num(v['dft'])} | {_rel(v['model'], v['dft'])} | "
                f"{reference[r['element']]['kleinman_correction_GPa']:.1f} |"
            )
    lines += [
        "",
        "Linearity of the DFT fit (C11 / C12 / C44, GPa):",
        "",
        "| element | linear ±2 % | linear ±3 % | quadratic ±5 % | zero-strain stress (GPa, xx yy zz) |",
        "|---|---|---|---|---|",
    ]
    for element, dft in reference.items():
        checks = dft["linearity_checks"]
        cells = [
            " / ".join(_num(checks[k][c]) for c in ("C11", "C12", "C44"))
            for k in ("linear_pm2pct", "linear_pm3pct", "quadratic_pm5pct")
        ]
        s0 = " ".join(f"{x:+.2f}" for x in dft["zero_strain_stress_GPa"][:3])
        lines.append(f"| {element} | " + " | ".join(cells) + f" | {s0} |")
    lines += ["", "Notes on the DFT data:", ""]
    for element, dft in reference.items():
        for note in dft["notes"]:
            lines.append(f"- {element}: {note}.")
    lines += [
        "- The yz ↔ xz exchange is not limited to the Elastic frames: every frame of the Cu, Ni and Mo files and "
        "the AIMD and Vacancy frames of Si and Ge carry it (the Si, Ge Elastic frames and all Li frames do "
        "not); see `mlearn_stress_labels.md`. mlearn-Si, Ge, Mo and Li are trained with the exchange undone on "
        "reading (`swap_stress_yz_xz` in their configs, `ase_mlmat.data.corrections`) and stress weight 300; "
        "mlearn-Cu and Ni on the labels as stored with stress weight 10 (their stresses disagree with their "
        "energies by 0.4–2.3 GPa depending on the frame type, so a larger weight would fit an inconsistency).",
        '- Si, Ge: "est." marks the relaxed-ion DFT C44 = C44⁰ − Λ²/(Ωk): Λ from the DFT forces of the '
        "clamped shear frames, Ω the primitive-cell volume, k the Γ-optical force constant of the model under "
        "test (no DFT phonon data in the set). G_VRH of Si, Ge uses that estimate.",
        "- No Materials Project or Zuo et al. (2020) column: not added without a verified source at hand.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="ELEMENT=SPEC (shipped name or checkpoint path); default mlearn-<El>",
    )
    parser.add_argument("--elements", nargs="+", default=list(ELEMENTS), choices=list(ELEMENTS))
    parser.add_argument("--max-strain", type=float, default=0.03, help="largest tensor strain of the DFT fit")
    parser.add_argument("--out", default=str(ROOT / "docs" / "properties"))
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    specs = {el: f"mlearn-{el}" for el in ELEMENTS}
    for item in args.model:
        element, _, spec = item.partition("=")
        if element not in ELEMENTS or not spec:
            parser.error(f"--model expects ELEMENT=SPEC with ELEMENT in {list(ELEMENTS)}, got {item!r}")
        specs[element] = spec
    reference, models = {}, {}
    for element in args.elements:
        reference[element] = dft_reference(element, args.max_strain)
        models[element] = model_elastic(element, specs[element])
        print(f"{element}: done ({models[element]['relaxed_ion']['seconds']} s)", file=sys.stderr)
    rows = build_rows(reference, models)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "elastic_mlearn.json").write_text(
        json.dumps({"rows": rows, "dft_reference": reference, "models": models}, indent=1, default=float) + "\n"
    )
    text = markdown(rows, reference, args.max_strain)
    (out / "elastic_mlearn.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
