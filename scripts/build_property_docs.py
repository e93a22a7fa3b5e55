"""Build the property-predictor evidence in ``docs/properties/``: structures, hardness, Ashby plot, α(T) of Si.

Run from the repository root (about 2 CPU-minutes on one thread; ``--qha-check`` and ``--stress-labels`` add
about 5 and 1 minutes)::

    OMP_NUM_THREADS=1 python scripts/build_property_docs.py all                  # everything, shipped models
    OMP_NUM_THREADS=1 python scripts/build_property_docs.py all --model Si=runs/si/model.pt --qha-check

or one step at a time::

    python scripts/build_property_docs.py structures OUT_DIR
    python scripts/build_property_docs.py ashby OUT.png RESULTS.json[:TAG]...  # results of `mlmat predict hardness`
    python scripts/build_property_docs.py alpha OUT_DIR [--model mlearn-Si]     # Debye–Grüneisen vs QHA: PNG, JSON, MD
    python scripts/build_property_docs.py qha-check OUT_DIR [--model mlearn-Si] # QHA set-up convergence, JSON + MD
    python scripts/build_property_docs.py stress-labels OUT_DIR [--model Si=...] # yz/xz labels of the training files

Every model argument is a shipped model name or a checkpoint path, so a retrained model drops in.
``docs/properties/README.md`` says what each output is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.io import write

SI_EXPERIMENT_300K = 2.6e-6  # 1/K, experiment (docs/physics.md, "Thermal expansion")
REPORT_T_K = (100.0, 300.0, 600.0)
TEMPERATURES_K = np.arange(0.0, 1001.0, 10.0)

# Experimental C11, C12, C44 (GPa), volume per atom (Å³) and elements of the worked hardness figures in
# docs/physics.md, "Hardness and fracture toughness"
# (the same numbers as plugins/hardness/tests/test_hardness_model.py; MgO rounded to 297/95/155 as there).
REFERENCE_MATERIALS = {
    "diamond (exp.)": ((1079.0, 124.0, 578.0), 3.567**3 / 8, ["C"]),
    "Si (exp.)": ((165.7, 63.9, 79.6), 5.431**3 / 8, ["Si"]),
    "MgO (exp.)": ((297.0, 95.0, 155.0), 4.212**3 / 8, ["Mg", "O"]),
}

# Structure files for `mlmat predict hardness`: name → builder (the calculator `all` uses in the comment)
STRUCTURES = {
    "Si_diamond": lambda: bulk("Si", "diamond", a=5.468, cubic=True),  # mlearn-Si
    "Ge_diamond": lambda: bulk("Ge", "diamond", a=5.76, cubic=True),  # mlearn-Ge
    "Mo_bcc": lambda: bulk("Mo", "bcc", a=3.17, cubic=True),  # mlearn-Mo
    "Cu_fcc": lambda: bulk("Cu", "fcc", a=3.6, cubic=True),  # EMT
    "Ni_fcc": lambda: bulk("Ni", "fcc", a=3.52, cubic=True),  # EMT
    "Al_fcc": lambda: bulk("Al", "fcc", a=4.05, cubic=True),  # EMT
}


def _threads() -> None:
    import torch

    torch.set_num_threads(1)


def _calculator(spec: str):
    from ase_mlmat.properties import calculator_from_spec

    return calculator_from_spec(spec, dtype="float64") if ":" not in spec else calculator_from_spec(spec)


def cmd_structures(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, build in STRUCTURES.items():
        atoms = build()
        atoms.info["label"] = name
        write(out / f"{name}.extxyz", atoms)
        print(out / f"{name}.extxyz")
    return 0


def _cubic(c11: float, c12: float, c44: float) -> np.ndarray:
    C = np.zeros((6, 6))
    C[:3, :3] = c12
    C[[0, 1, 2], [0, 1, 2]] = c11
    C[[3, 4, 5], [3, 4, 5]] = c44
    return C


def cmd_ashby(args: argparse.Namespace) -> int:
    from mlmat_elastic import ElasticResult
    from mlmat_hardness import HardnessPredictor

    from ase_mlmat.workflows.screening import ashby_from_results

    results, labels, rows = [], [], []
    for item in args.results:  # FILE.json or FILE.json:TAG (TAG, e.g. the calculator, goes into the labels)
        path, sep, calc = item.partition(".json:")
        path, calc = (path + ".json", calc) if sep else (item, Path(item).stem.removeprefix("hardness_"))
        for record in json.loads(Path(path).read_text()):
            if not record.get("ok"):
                print(f"skipped failed record {record.get('source')}", file=sys.stderr)
                continue
            result = HardnessPredictor.from_moduli(
                record["bulk_modulus_GPa"],
                record["shear_modulus_GPa"],
                record["volume_per_atom_A3"],
                label=record["label"],
                elements=_elements(record["formula"]),
            )
            results.append(result)
            labels.append(f"{record['label']} ({calc})")
    for name, (constants, volume, elements) in REFERENCE_MATERIALS.items():
        moduli = ElasticResult.from_tensor(_cubic(*constants)).moduli
        results.append(
            HardnessPredictor.from_moduli(
                moduli.bulk_modulus_GPa, moduli.shear_modulus_GPa, volume, label=name, elements=elements
            )
        )
        labels.append(name)
    for result, label in zip(results, labels):
        rows.append(
            {
                "label": label,
                "H_v_GPa": round(result.vickers_hardness_GPa, 3),
                "K_IC_MPa_m05": round(result.fracture_toughness_MPa_m05, 3),
                "K_GPa": round(result.bulk_modulus_GPa, 2),
                "G_GPa": round(result.shear_modulus_GPa, 2),
                "nu": round(result.poisson_ratio, 4),
                "reliable": result.reliable,
                "metallic": result.metallic,
            }
        )
        print(
            f"{label:28s} H_v {result.vickers_hardness_GPa:7.2f} GPa  K_IC {result.fracture_toughness_MPa_m05:6.2f} "
            f"MPa·m^½  reliable={result.reliable}"
        )
    path = ashby_from_results(results, args.out, labels=labels)
    Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"Ashby plot written to {path}")
    return 0


def _elements(formula: str) -> list[str]:
    from ase.symbols import string2symbols

    return string2symbols(formula)


def _at(T: np.ndarray, alpha: np.ndarray, t: float) -> float:
    return float(np.interp(t, T, alpha))


def cmd_alpha(args: argparse.Namespace) -> int:
    """Debye–Grüneisen (K, G of the model's relaxed-ion C) vs QHA α(T) of diamond Si, with the test's QHA set-up."""
    from mlmat_elastic import ElasticPredictor
    from mlmat_thermal import debye_gruneisen_expansion, plot_alpha, quasi_harmonic_expansion

    _threads()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    calculator = _calculator(args.model)
    start = time.perf_counter()
    elastic = ElasticPredictor().predict(bulk("Si", "diamond", a=5.468, cubic=True), calculator)
    relaxed = bulk("Si", "diamond", a=float(np.cbrt(abs(np.linalg.det(elastic.cell_A)))), cubic=True)
    debye = debye_gruneisen_expansion(
        relaxed, elastic.bulk_modulus_GPa, elastic.shear_modulus_GPa, temperatures_K=TEMPERATURES_K
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qha = quasi_harmonic_expansion(
            bulk("Si", "diamond", a=5.468),
            calculator,
            supercell=tuple(args.supercell),
            volume_strains=np.linspace(-0.03, 0.04, 8),
            temperatures_K=TEMPERATURES_K,
            mesh=(21, 21, 21),
            eos="vinet",
        )
    seconds = time.perf_counter() - start
    title = f"diamond Si, {Path(args.model).stem if args.model.endswith('.pt') else args.model}"
    png = plot_alpha(
        {
            "Debye–Grüneisen, γ(ν), K and G of the model": (debye.temperatures_K, debye.alpha_linear_per_K),
            "QHA (phonopy, 4×4×4 primitive supercell)": (qha.temperatures_K, qha.alpha_linear_per_K),
        },
        out / "alpha_Si.png",
        title=title,
        experiment={"experiment, 300 K": (300.0, SI_EXPERIMENT_300K)},
    )
    i_min = int(np.argmin(qha.alpha_linear_per_K))
    summary = {
        "model": args.model,
        "elastic_C11_C12_C44_GPa": [
            float(elastic.elastic_tensor_GPa[0, 0]),
            float(elastic.elastic_tensor_GPa[0, 1]),
            float(elastic.elastic_tensor_GPa[3, 3]),
        ],
        "K_VRH_GPa": elastic.bulk_modulus_GPa,
        "G_VRH_GPa": elastic.shear_modulus_GPa,
        "poisson_ratio": elastic.poisson_ratio,
        "debye_temperature_K": debye.solid.debye_temperature_K,
        "gruneisen_from_poisson": debye.gruneisen,
        "alpha_debye_per_K": {f"{t:.0f}": _at(debye.temperatures_K, debye.alpha_linear_per_K, t) for t in REPORT_T_K},
        "alpha_qha_per_K": {f"{t:.0f}": _at(qha.temperatures_K, qha.alpha_linear_per_K, t) for t in REPORT_T_K},
        "alpha_experiment_300K_per_K": SI_EXPERIMENT_300K,
        "qha_negative_alpha_range_K": qha.negative_alpha_range_K,
        "qha_min_alpha_per_K": float(qha.alpha_linear_per_K[i_min]),
        "qha_min_alpha_at_K": float(qha.temperatures_K[i_min]),
        "qha_has_imaginary_modes": qha.has_imaginary_modes,
        "qha_min_frequency_THz": qha.min_frequency_THz,
        "qha_volume_bracketed_up_to_K": qha.volume_bracketed_up_to_K,
        "qha_static_lattice_constant_A": (4 * qha.static_volume_A3) ** (1 / 3),
        "qha_bulk_modulus_0K_GPa": float(qha.bulk_modulus_GPa[0]),
        "qha_gruneisen_300K": _at(qha.temperatures_K, qha.gruneisen, 300.0),
        "qha_setup": {
            "supercell": list(qha.supercell),
            "mesh": list(qha.mesh),
            "eos": qha.eos,
            "volume_strains": np.linspace(-0.03, 0.04, 8).round(4).tolist(),
            "displacement_A": 0.01,
        },
        "warnings": [str(w.message) for w in caught],
        "seconds": round(seconds, 1),
        "temperatures_K": qha.temperatures_K.tolist(),
        "alpha_qha_curve_per_K": qha.alpha_linear_per_K.tolist(),
        "alpha_debye_curve_per_K": _resample(debye.temperatures_K, debye.alpha_linear_per_K, qha.temperatures_K),
    }
    (out / "alpha_Si.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    lines = [
        f"# α_L(T) of diamond Si with {args.model}",
        "",
        "Generated by `scripts/build_property_docs.py alpha`. Plot: `alpha_Si.png`. 1/K.",
        "",
        "| T (K) | Debye–Grüneisen | QHA | experiment |",
        "|---|---|---|---|",
    ]
    for t in REPORT_T_K:
        key = f"{t:.0f}"
        exp = f"{SI_EXPERIMENT_300K:.2e}" if t == 300 else ""
        debye_at, qha_at = summary["alpha_debye_per_K"][key], summary["alpha_qha_per_K"][key]
        lines.append(f"| {key} | {debye_at:.2e} | {qha_at:.2e} | {exp} |")
    neg = qha.negative_alpha_range_K
    if neg:
        sign = (
            f"QHA: α < 0 from {neg[0]:.0f} K to {neg[1]:.0f} K, minimum {summary['qha_min_alpha_per_K']:.2e} /K "
            f"at {summary['qha_min_alpha_at_K']:.0f} K (experiment: negative below ≈ 120 K)."
        )
    else:
        sign = "QHA: α ≥ 0 at all temperatures, no negative expansion at low T (experiment: negative below ≈ 120 K)."
    lines += [
        "",
        sign,
        f"Debye–Grüneisen: K {elastic.bulk_modulus_GPa:.1f} GPa, G {elastic.shear_modulus_GPa:.1f} GPa, "
        f"ν {elastic.poisson_ratio:.3f}, γ(ν) {debye.gruneisen:.2f}, θ_D {debye.solid.debye_temperature_K:.0f} K "
        "(α ≥ 0 by construction).",
        f"QHA set-up: primitive cell, supercell {qha.supercell}, mesh {qha.mesh}, {qha.eos} EOS, 8 volumes "
        f"V/V₀ − 1 ∈ [−3 %, +4 %], displacement 0.01 Å; a₀ = {summary['qha_static_lattice_constant_A']:.4f} Å, "
        f"B(0 K) {summary['qha_bulk_modulus_0K_GPa']:.1f} GPa, thermodynamic γ(300 K) "
        f"{summary['qha_gruneisen_300K']:.2f}, lowest frequency {qha.min_frequency_THz:.2f} THz; "
        f"{seconds:.0f} s.",
        "",
    ]
    (out / "alpha_Si.md").write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"plot written to {png}")
    return 0


def _resample(T: np.ndarray, alpha: np.ndarray, grid: np.ndarray) -> list[float]:
    return [float(x) for x in np.interp(grid, T, alpha)]


def _qha_variant(calculator, **options):
    from mlmat_thermal import quasi_harmonic_expansion

    base = {
        "supercell": (4, 4, 4),
        "volume_strains": np.linspace(-0.03, 0.04, 8),
        "temperatures_K": TEMPERATURES_K,
        "mesh": (21, 21, 21),
        "eos": "vinet",
    }
    base.update(options)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qha = quasi_harmonic_expansion(bulk("Si", "diamond", a=5.468), calculator, **base)
    T, a = qha.temperatures_K, qha.alpha_linear_per_K
    return {
        "alpha_100K": _at(T, a, 100.0),
        "alpha_300K": _at(T, a, 300.0),
        "alpha_600K": _at(T, a, 600.0),
        "min_alpha": float(a.min()),
        "negative_range_K": qha.negative_alpha_range_K,
        "B0_GPa": float(qha.bulk_modulus_GPa[0]),
        "gamma_300K": _at(T, qha.gruneisen, 300.0),
        "seconds": round(time.perf_counter() - start, 1),
    }


def mode_gruneisen(calculator, supercell=(4, 4, 4), strain: float = 0.01) -> dict:
    """γ_i = −d ln ω_i / d ln V at Γ, X and L from phonons at V₀(1 ± strain) (central difference)."""
    from ase_mlmat.workflows import make_phonopy, relax

    reference = bulk("Si", "diamond", a=5.468)
    reference.calc = calculator
    relax(reference, fmax_eV_per_A=1e-4, relax_cell=True)
    points = {"Gamma": [0, 0, 0], "X": [0.5, 0.0, 0.5], "L": [0.5, 0.5, 0.5]}
    freqs = []
    for s in (-strain, strain):
        scaled = reference.copy()
        scaled.set_cell(reference.cell.array * (1 + s) ** (1 / 3), scale_atoms=True)
        phonon = make_phonopy(scaled, calculator, supercell=supercell)
        phonon.run_qpoints(list(points.values()))
        freqs.append(np.array(phonon.qpoints.frequencies))
    lo, hi = freqs
    gamma = -(np.log(np.abs(hi) + 1e-12) - np.log(np.abs(lo) + 1e-12)) / (np.log(1 + strain) - np.log(1 - strain))
    omega = 0.5 * (lo + hi)
    result = {}
    for k, name in enumerate(points):
        bands = [(round(float(w), 3), round(float(g), 3)) for w, g in zip(omega[k], gamma[k]) if abs(w) > 0.5]
        result[name] = bands  # (frequency THz, mode Grüneisen)
    return result


def cmd_qha_check(args: argparse.Namespace) -> int:
    """How α of the QHA depends on its set-up: supercell, displacement, mesh, volume grid, EOS, dtype."""
    _threads()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    calculator = _calculator(args.model)
    variants = {
        "baseline (test set-up): 4×4×4, 8 volumes −3…+4 %, mesh 21, vinet, d = 0.01 Å": {},
        "supercell 3×3×3": {"supercell": (3, 3, 3)},
        "supercell 5×5×5": {"supercell": (5, 5, 5)},
        "displacement 0.03 Å": {"displacement_A": 0.03},
        "mesh 31": {"mesh": (31, 31, 31)},
        "13 volumes −4…+8 % (plugin default)": {"volume_strains": np.linspace(-0.04, 0.08, 13)},
        "7 volumes −1.5…+1.5 %": {"volume_strains": np.linspace(-0.015, 0.015, 7)},
        "Birch–Murnaghan EOS": {"eos": "birch_murnaghan"},
    }
    results = {}
    for name, options in variants.items():
        results[name] = _qha_variant(calculator, **options)
        print(name, results[name], flush=True)
    from ase_mlmat.properties import calculator_from_spec

    if ":" not in args.model:
        results["float32 calculator (MLCalculator default)"] = _qha_variant(calculator_from_spec(args.model))
        print("float32", results["float32 calculator (MLCalculator default)"], flush=True)
    gammas = mode_gruneisen(calculator)
    (out / "qha_check_Si.json").write_text(
        json.dumps({"model": args.model, "variants": results, "mode_gruneisen": gammas}, indent=1, default=float) + "\n"
    )
    lines = [
        f"# QHA set-up check, diamond Si, {args.model}",
        "",
        "Generated by `scripts/build_property_docs.py qha-check`: α_L (1/K) with one setting changed at a time.",
        "",
        "| variant | α(100 K) | α(300 K) | α(600 K) | min α | B(0 K) GPa | γ_th(300 K) | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['alpha_100K']:.2e} | {r['alpha_300K']:.2e} | {r['alpha_600K']:.2e} | "
            f"{r['min_alpha']:.2e} | {r['B0_GPa']:.1f} | {r['gamma_300K']:.2f} | {r['seconds']:.0f} |"
        )
    lines += ["", "Mode Grüneisen parameters γ_i = −d ln ω_i/d ln V (±1 % volume, 4×4×4): (frequency THz, γ)", ""]
    for point, bands in gammas.items():
        lines.append(f"- {point}: " + ", ".join(f"({w}, {g:+.2f})" for w, g in bands))
    lines.append("")
    (out / "qha_check_Si.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


def cmd_stress_labels(args: argparse.Namespace) -> int:
    """Are the yz and xz stress labels of the mlearn training files swapped? Each model (rotation-equivariant,
    so it cannot learn a swap) is compared with the labels as stored and with yz ↔ xz exchanged, per config type."""
    from ase.io import read
    from ase.units import GPa

    _threads()
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "mlearn"
    models = {el: f"mlearn-{el}" for el in ("Cu", "Ni", "Li", "Mo", "Si", "Ge")}
    for item in args.model:
        element, _, spec = item.partition("=")
        models[element] = spec
    rows = []
    for element, spec in models.items():
        calculator = _calculator(spec)
        frames = read(data / f"{element}_train.extxyz", ":")
        for config in sorted({a.info["config_type"] for a in frames}):
            labels, predicted = [], []
            for atoms in (a for a in frames if a.info["config_type"] == config):
                labels.append(atoms.get_stress() / GPa)
                copy = atoms.copy()
                copy.calc = calculator
                predicted.append(copy.get_stress() / GPa)
            labels, predicted = np.array(labels), np.array(predicted)
            swapped = labels.copy()
            swapped[:, [3, 4]] = swapped[:, [4, 3]]
            as_stored = np.abs(predicted - labels)[:, 3:5].sum(axis=1)
            exchanged = np.abs(predicted - swapped)[:, 3:5].sum(axis=1)
            telling = np.abs(labels[:, 3] - labels[:, 4]) > 0.3  # frames where a swap makes a difference
            rows.append(
                {
                    "element": element,
                    "model": spec,
                    "config_type": config,
                    "n": len(labels),
                    "mae_yz_xz_as_stored_GPa": float(np.abs(predicted - labels)[:, 3:5].mean()),
                    "mae_yz_xz_exchanged_GPa": float(np.abs(predicted - swapped)[:, 3:5].mean()),
                    "mae_xy_GPa": float(np.abs(predicted - labels)[:, 5].mean()),
                    "frames_better_exchanged": int((exchanged < as_stored)[telling].sum()),
                    "frames_telling": int(telling.sum()),
                }
            )
            print(rows[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mlearn_stress_labels.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "# yz / xz stress labels of the mlearn training files",
        "",
        "Generated by `scripts/build_property_docs.py stress-labels`. Each shipped model is rotation-equivariant: it "
        "cannot learn an exchange of two stress components, so where the labels are exchanged its yz/xz error "
        "collapses to its xy error once yz ↔ xz is undone. Frames counted only where |σ_yz − σ_xz| > 0.3 GPa.",
        "",
        "| element | config_type | n | yz/xz MAE as stored (GPa) | yz/xz MAE with yz ↔ xz (GPa) | xy MAE (GPa) "
        "| frames closer after the exchange |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['element']} | {r['config_type']} | {r['n']} | {r['mae_yz_xz_as_stored_GPa']:.3f} | "
            f"{r['mae_yz_xz_exchanged_GPa']:.3f} | {r['mae_xy_GPa']:.3f} | "
            f"{r['frames_better_exchanged']}/{r['frames_telling']} |"
        )
    lines.append("")
    (out / "mlearn_stress_labels.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


ROOT = Path(__file__).resolve().parents[1]
ELEMENTS = ("Si", "Ge", "Mo", "Cu", "Ni", "Li")
EMT = "ase.calculators.emt:EMT"
# `mlmat predict hardness` runs: (output file, structures, calculator: an element's model or EMT)
HARDNESS_RUNS = (
    ("hardness_Si.json", ("Si_diamond",), "Si"),
    ("hardness_Ge.json", ("Ge_diamond",), "Ge"),
    ("hardness_Mo.json", ("Mo_bcc",), "Mo"),
    ("hardness_EMT.json", ("Cu_fcc", "Ni_fcc", "Al_fcc"), EMT),
    ("hardness_Si.csv", ("Si_diamond",), "Si"),
    ("hardness_EMT.csv", ("Cu_fcc", "Ni_fcc", "Al_fcc"), EMT),
)


def _run(command: list[str]) -> None:
    """Run a command from the repository root on one thread; a failure stops the build."""
    print("+", " ".join(command), flush=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def _mlmat(*args: str) -> None:
    """The ``mlmat`` command as a user runs it, with this interpreter."""
    _run([sys.executable, "-m", "ase_mlmat.cli", *args])


def _models(items: list[str]) -> dict[str, str]:
    """ELEMENT=SPEC overrides on top of the shipped mlearn-<El> models."""
    models = {el: f"mlearn-{el}" for el in ELEMENTS}
    for item in items:
        element, sep, spec = item.partition("=")
        if not sep or element not in models:
            raise SystemExit(f"--model takes ELEMENT=SPEC with ELEMENT one of {', '.join(ELEMENTS)}; got {item!r}")
        models[element] = spec
    return models


def cmd_all(args: argparse.Namespace) -> int:
    """Every step in order, writing to ``args.out`` (relative to the repository root; default docs/properties)."""
    os.chdir(ROOT)  # relative paths, so the JSON records name repository paths, not this machine's
    out = Path(args.out)
    models = _models(args.model)
    structures = out / "structures"
    cmd_structures(argparse.Namespace(out=structures))
    for name, inputs, calc in HARDNESS_RUNS:
        spec = models.get(calc, calc)
        files = [str(structures / f"{label}.extxyz") for label in inputs]
        _mlmat("predict", "hardness", *files, "--calc", spec, "--output", str(out / name), "--no-progress")
    tagged = [f"{out / name}:{models.get(calc, 'EMT')}" for name, _, calc in HARDNESS_RUNS if name.endswith(".json")]
    cmd_ashby(argparse.Namespace(out=str(out / "ashby.png"), results=tagged))
    cmd_alpha(argparse.Namespace(out=str(out), model=models["Si"], supercell=[4, 4, 4]))
    _run(
        [sys.executable, "scripts/elastic_mlearn_table.py", "--out", str(out)]
        + [f"--model={el}={spec}" for el, spec in models.items()]
    )
    if args.qha_check:
        cmd_qha_check(argparse.Namespace(out=str(out), model=models["Si"]))
    if args.stress_labels:
        cmd_stress_labels(argparse.Namespace(out=str(out), model=[f"{el}={spec}" for el, spec in models.items()]))
    print(f"property docs written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("all", help="every step below, in order")
    p.add_argument("--out", default="docs/properties", help="output folder, relative to the repository root")
    p.add_argument("--model", action="append", default=[], help="ELEMENT=SPEC; default mlearn-<El>")
    p.add_argument("--qha-check", action="store_true", help="also the QHA set-up scan (about 5 CPU-minutes)")
    p.add_argument("--stress-labels", action="store_true", help="also the yz/xz stress-label check (about 1 minute)")
    p.set_defaults(func=cmd_all)
    p = sub.add_parser("structures")
    p.add_argument("out")
    p.set_defaults(func=cmd_structures)
    p = sub.add_parser("ashby")
    p.add_argument("out")
    p.add_argument("results", nargs="+")
    p.set_defaults(func=cmd_ashby)
    p = sub.add_parser("alpha")
    p.add_argument("out")
    p.add_argument("--model", default="mlearn-Si")
    p.add_argument("--supercell", type=int, nargs=3, default=[4, 4, 4])
    p.set_defaults(func=cmd_alpha)
    p = sub.add_parser("qha-check")
    p.add_argument("out")
    p.add_argument("--model", default="mlearn-Si")
    p.set_defaults(func=cmd_qha_check)
    p = sub.add_parser("stress-labels")
    p.add_argument("out")
    p.add_argument("--model", action="append", default=[], help="ELEMENT=SPEC; default mlearn-<El>")
    p.set_defaults(func=cmd_stress_labels)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped
    raise SystemExit(main())
