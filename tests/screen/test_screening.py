"""``mlmat screen``: serial = Dask, resumable without duplicates, failures flagged per row, promotion tiers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import write

from ase_mlmat.cli import main as mlmat
from ase_mlmat.workflows import screening
from ase_mlmat.workflows.screening import KEY, connect, promote, screen

NUM_GOOD = 36


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, moduli_slice, trained_small):
    """36 structures in three formats, plus an unknown element, an isolated atom and an unreadable file."""
    from pymatgen.io.ase import AseAtomsAdaptor

    root = tmp_path_factory.mktemp("inputs")
    structures = moduli_slice.structures[-NUM_GOOD:]  # the training split saw some; fine for plumbing
    write(root / "many.extxyz", structures[:20])
    folder = root / "folder"
    folder.mkdir()
    for k, atoms in enumerate(structures[20:30]):
        write(folder / f"s{k:02d}.vasp", atoms, format="vasp")
    (folder / "broken.cif").write_text("this is not a CIF file\n")
    records = [
        {"mp_id": f"x-{k}", "structure": AseAtomsAdaptor.get_structure(a).as_dict()}
        for k, a in enumerate(structures[30:])
    ]
    (root / "list.json").write_text(json.dumps(records))
    model = trained_small[0].model
    element = model.elements[0]
    unknown = next(e for e in ("Og", "Lr", "No", "Es", "Fm") if e not in model.elements)
    bad = [
        Atoms(f"{unknown}2", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[5, 5, 5], pbc=True),
        Atoms(f"{element}2", positions=[[0, 0, 0], [0, 0, 20.0]], cell=[30, 30, 30], pbc=True),
    ]
    write(root / "bad.extxyz", bad)
    return [str(root / "many.extxyz"), str(folder), str(root / "list.json"), str(root / "bad.extxyz")]


def _rows(path):
    """key → (key-value pairs without timestamps, positions) of every row."""
    out = {}
    for row in connect(str(path)).select():
        out[row[KEY]] = (dict(row.key_value_pairs), row.positions.round(12).tolist())
    return out


def test_unknown_device_is_refused_before_any_work(inputs, trained_small, tmp_path):
    with pytest.raises(ValueError, match="device must be"):
        screen(inputs, str(tmp_path / "d.db"), model=trained_small[1], progress=False, device="gpu")
    assert not (tmp_path / "d.db").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_screening_on_cuda_gives_the_cpu_moduli(inputs, trained_small, tmp_path):
    screen(inputs, str(tmp_path / "cpu.db"), model=trained_small[1], batch_size=8, progress=False)
    screen(inputs, str(tmp_path / "gpu.db"), model=trained_small[1], batch_size=8, progress=False, device="cuda")
    cpu, gpu = _rows(tmp_path / "cpu.db"), _rows(tmp_path / "gpu.db")
    assert sorted(cpu) == sorted(gpu)
    for key, (row, _) in cpu.items():
        if row["ok"]:
            assert gpu[key][0]["bulk_modulus_GPa"] == pytest.approx(row["bulk_modulus_GPa"], rel=1e-4)


def test_failures_are_flagged_per_row(inputs, trained_small, tmp_path):
    from ase_mlmat.properties import available

    summary = screen(inputs, str(tmp_path / "s.db"), model=trained_small[1], batch_size=8, progress=False)
    assert summary.found == NUM_GOOD + 3 and summary.screened == NUM_GOOD + 3 and summary.failed == 3
    rows = _rows(tmp_path / "s.db")
    failed = {key: kvp for key, (kvp, _) in rows.items() if not kvp["ok"]}
    assert sorted(failed) == sorted([inputs[1] + "/broken.cif@0", inputs[3] + "@0", inputs[3] + "@1"])
    assert (
        failed[inputs[3] + "@0"]["error_type"] == "StructureError"
        and "not in the model" in failed[inputs[3] + "@0"]["error"]
    )
    assert "isolated" in failed[inputs[3] + "@1"]["error"] and failed[inputs[3] + "@1"]["failed_stage"] == "ml"
    assert failed[inputs[1] + "/broken.cif@0"]["failed_stage"] == "read"
    assert [rows[f"{inputs[2]}@{k}"][0]["mp_id"] for k in range(6)] == [f"x-{k}" for k in range(6)]
    good = [kvp for kvp, _ in rows.values() if kvp["ok"]]
    for kvp in good:
        assert kvp["bulk_modulus_GPa"] > 0 and kvp["shear_modulus_std_GPa"] >= 0
        E = (
            9
            * kvp["bulk_modulus_GPa"]
            * kvp["shear_modulus_GPa"]
            / (3 * kvp["bulk_modulus_GPa"] + kvp["shear_modulus_GPa"])
        )
        assert kvp["youngs_modulus_GPa"] == pytest.approx(E)
        assert kvp["vickers_hardness_GPa"] > 0 and kvp["fracture_toughness_MPa_m05"] > 0
        assert kvp["debye_temperature_K"] > 0 and kvp["alpha_bound_per_K"] > kvp["alpha_300K_per_K"] > 0
        if "synthesizability" in available():  # a structure-only predictor of the fast tier
            assert 0 <= kvp["synthesizability_score"] <= 1


def test_structure_only_predictors_add_columns_and_fail_per_row(inputs, trained_small, tmp_path, monkeypatch):
    """A ``runs_in_fast_tier`` predictor's columns land in every good row; its failure is a column, not a failed row."""
    import dataclasses

    from ase_mlmat.properties import PropertyPredictor, PropertyResult
    from ase_mlmat.workflows.screening import fast_tier

    @dataclasses.dataclass(frozen=True)
    class AtomCount(PropertyResult):
        atom_count: int

    class CountAtoms(PropertyPredictor):
        name = "count_atoms"
        runs_in_fast_tier = True

        def predict(self, atoms, calculator=None):
            if len(atoms) == 2:
                raise ValueError("two atoms refused")
            return AtomCount(len(atoms))

    monkeypatch.setattr(fast_tier, "_structure_predictors", lambda: {"count_atoms": CountAtoms()})
    screen(inputs, str(tmp_path / "s.db"), model=trained_small[1], batch_size=8, progress=False)
    sizes = [(kvp, len(positions)) for kvp, positions in _rows(tmp_path / "s.db").values() if kvp["ok"]]
    assert any(n == 2 for _, n in sizes) and any(n != 2 for _, n in sizes), "both branches need a structure"
    for kvp, n in sizes:
        if n == 2:
            assert kvp["count_atoms_error"] == "ValueError: two atoms refused" and "atom_count" not in kvp
        else:
            assert kvp["atom_count"] == n


def test_serial_and_dask_give_identical_rows(inputs, trained_small, tmp_path):
    from distributed import Client, LocalCluster

    screen(inputs, str(tmp_path / "serial.db"), model=trained_small[1], batch_size=8, progress=False)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        summary = screen(
            inputs, str(tmp_path / "dask.db"), model=trained_small[1], batch_size=8, client=client, progress=False
        )
    assert summary.screened == NUM_GOOD + 3
    serial, dask = _rows(tmp_path / "serial.db"), _rows(tmp_path / "dask.db")
    assert list(serial) == list(dask)  # same keys, same order
    assert serial == dask


def test_interrupt_and_resume_leave_no_duplicates(inputs, trained_small, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = screening.run.screen_batch

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    db = str(tmp_path / "r.db")
    monkeypatch.setattr(screening.run, "screen_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        screen(inputs, db, model=trained_small[1], batch_size=8, progress=False)
    assert connect(db).count() == 16  # two whole batches
    monkeypatch.setattr(screening.run, "screen_batch", real)
    summary = screen(inputs, db, model=trained_small[1], batch_size=8, progress=False)
    assert summary.skipped == 16 and summary.screened == NUM_GOOD + 3 - 16
    keys = [row[KEY] for row in connect(db).select()]
    assert len(keys) == len(set(keys)) == NUM_GOOD + 3
    again = screen(inputs, db, model=trained_small[1], batch_size=8, progress=False)
    assert again.screened == 0 and connect(db).count() == NUM_GOOD + 3
    screen(inputs, str(tmp_path / "fresh.db"), model=trained_small[1], batch_size=8, progress=False)
    resumed, fresh = _rows(db), _rows(tmp_path / "fresh.db")
    assert resumed == fresh


def test_promotion_to_elastic_and_qha_tiers(tmp_path):
    """Promotion reads the fast-tier ranking from the rows; EMT metals make both tiers cheap."""
    from ase_mlmat.workflows.screening.store import write_records

    db = connect(str(tmp_path / "p.db"))
    candidates = [
        ("Cu", bulk("Cu", a=3.6), 3.0),
        ("Al", bulk("Al", a=4.05), 1.0),
        ("Ni", bulk("Ni", a=3.52), 2.0),
        ("Au", bulk("Au", a=4.08), 0.5),
    ]
    write_records(
        db, [(name, atoms, {"ok": True, "tier": "ml", "vickers_hardness_GPa": h}) for name, atoms, h in candidates]
    )
    write_records(db, [("bad", None, {"ok": False, "error": "unreadable"})])
    fast = {"normal_strains": (-0.005, 0.005), "shear_strains": (-0.005, 0.005)}
    qha = {
        "supercell": (2, 2, 2),
        "mesh": (7, 7, 7),
        "volume_strains": np.linspace(-0.03, 0.05, 5),
        "temperatures_K": np.arange(0.0, 401.0, 50.0),
    }
    summary = promote(db, EMT(), top_elastic=2, top_qha=1, elastic_options=fast, qha_options=qha, progress=False)
    assert summary.elastic_done == 2 and summary.qha_done == 1
    rows = {row[KEY]: row for row in db.select()}
    assert rows["Cu"].tier == "qha" and rows["Ni"].tier == "elastic" and rows["Al"].tier == "ml"
    assert 100 < rows["Cu"].elastic_bulk_modulus_GPa < 200 and rows["Cu"].qha_alpha_300K_per_K > 0
    assert rows["Ni"].get("qha_ok") is None
    again = promote(db, EMT(), top_elastic=2, top_qha=1, elastic_options=fast, qha_options=qha, progress=False)
    assert again.elastic_done == again.qha_done == 0  # resumed: nothing recomputed
    with pytest.raises(ValueError, match="cannot exceed"):
        promote(db, EMT(), top_elastic=1, top_qha=2)
    with pytest.raises(ValueError, match="needs a calculator"):
        promote(db, None, top_elastic=1)


def test_promotion_skips_rows_below_the_synthesizability_floor(tmp_path):
    """The slow tiers go to the best rows that reach the floor; rows without the column never do."""
    from ase_mlmat.workflows.screening.store import write_records

    db = connect(str(tmp_path / "floor.db"))
    rows = [
        ("Cu", bulk("Cu", a=3.6), 3.0, 0.2),
        ("Ni", bulk("Ni", a=3.52), 2.0, 0.9),
        ("Al", bulk("Al", a=4.05), 1.0, None),
    ]
    write_records(
        db,
        [
            (
                name,
                atoms,
                {"ok": True, "vickers_hardness_GPa": h, **({} if s is None else {"synthesizability_score": s})},
            )
            for name, atoms, h, s in rows
        ],
    )
    fast = {"normal_strains": (-0.005, 0.005), "shear_strains": (-0.005, 0.005)}
    floor = {"synthesizability_score": 0.5}
    summary = promote(db, EMT(), top_elastic=2, elastic_options=fast, progress=False, min_score=floor)
    assert summary.elastic_done == 1  # only Ni reaches the floor; Al has no score
    promoted = {row[KEY] for row in db.select() if row.get("elastic_ok") is not None}
    assert promoted == {"Ni"}
    from ase_mlmat.workflows.screening.report import top_candidates

    assert len(top_candidates(db, 5)) == 3
    confirmed = top_candidates(db, 5, passed="elastic")
    assert [e["formula"] for e in confirmed] == ["Ni"] and confirmed[0]["tiers"] == "ml elastic"
    assert top_candidates(db, 5, passed="qha") == []
    with pytest.raises(ValueError, match="passed must be"):
        top_candidates(db, 5, passed="dft")


def test_relaxation_tier_reranks_on_relaxed_structures(tmp_path):
    """A compressed cell is relaxed before the elastic tier sees it; the fast tier's values on the relaxed
    structure are the ones the elastic tier ranks by and the table shows."""
    from ase_mlmat.workflows.screening.fast_tier import screen_batch
    from ase_mlmat.workflows.screening.relax_tier import structure_of
    from ase_mlmat.workflows.screening.report import top_candidates
    from ase_mlmat.workflows.screening.store import write_records

    db = connect(str(tmp_path / "relax.db"))
    candidates = [("Cu", bulk("Cu", a=3.3), 3.0), ("Ni", bulk("Ni", a=3.52), 2.0), ("Al", bulk("Al", a=4.05), 1.0)]
    write_records(db, [(k, atoms, {"ok": True, "tier": "ml", "vickers_hardness_GPa": h}) for k, atoms, h in candidates])
    with pytest.raises(ValueError, match="cannot exceed top_relax"):
        promote(db, EMT(), top_relax=1, top_elastic=2)
    summary = promote(db, EMT(), top_relax=2, progress=False, relax_options={"fmax_eV_per_A": 0.01})
    assert (summary.relax_done, summary.relax_failed, summary.elastic_done) == (2, 0, 0)
    rows = {row[KEY]: row for row in db.select()}
    assert rows["Al"].get("relaxed_ok") is None and rows["Cu"].tier == "relaxed"
    cu = rows["Cu"]
    assert cu.relaxed_converged and cu.relaxed_calculator == "EMT"
    assert cu.relaxed_volume_ratio == pytest.approx((3.6 / 3.3) ** 3, rel=0.05)  # EMT's Cu lattice is ~3.59 Å
    relaxed = structure_of(db, cu)
    assert relaxed.get_volume() == pytest.approx(cu.relaxed_volume_ratio * cu.toatoms().get_volume())
    again = screen_batch([("Cu", relaxed)], "mp-binary-kg", threads=None)[0][2]
    assert cu.relaxed_vickers_hardness_GPa == pytest.approx(again["vickers_hardness_GPa"])
    assert cu.relaxed_bulk_modulus_GPa == pytest.approx(again["bulk_modulus_GPa"])
    fast = {"normal_strains": (-0.005, 0.005), "shear_strains": (-0.005, 0.005)}
    summary = promote(db, EMT(), top_relax=2, top_elastic=1, elastic_options=fast, progress=False)
    assert summary.relax_done == 0 and summary.elastic_done == 1  # relaxation resumed, not redone
    rows = {row[KEY]: row for row in db.select()}
    best = max(("Cu", "Ni"), key=lambda k: rows[k].relaxed_vickers_hardness_GPa)
    assert rows[best].get("elastic_ok") and rows[({"Cu", "Ni"} - {best}).pop()].get("elastic_ok") is None
    table = {e["formula"]: e for e in top_candidates(db, 5)}
    assert table["Cu"]["vickers_hardness_GPa"] == pytest.approx(
        rows["Cu"].get("elastic_vickers_hardness_GPa", rows["Cu"].relaxed_vickers_hardness_GPa)
    )
    assert table[best]["tiers"] == "ml relaxed elastic" and table["Al"]["tiers"] == "ml"
    assert rows[best].tier == "elastic"
    assert {e["formula"] for e in top_candidates(db, 5, passed="relaxed")} == {"Cu", "Ni"}
    # a row the elastic tier passed before any relaxation tier ran keeps its tier when it is relaxed later
    write_records(
        db,
        [("Au", bulk("Au", a=4.1), {"ok": True, "tier": "elastic", "elastic_ok": True, "vickers_hardness_GPa": 9.0})],
    )
    assert promote(db, EMT(), top_relax=3, progress=False).relax_done == 1
    assert db.get(screen_key="Au").tier == "elastic" and db.get(screen_key="Au").relaxed_ok


def test_a_structure_whose_volume_runs_away_in_relaxation_leaves_the_table(tmp_path):
    from ase_mlmat.workflows.screening.report import top_candidates
    from ase_mlmat.workflows.screening.store import write_records

    db = connect(str(tmp_path / "volume.db"))
    rows = [("Cu", bulk("Cu", a=3.3), 3.0), ("Ni", bulk("Ni", a=3.52), 2.0)]
    write_records(db, [(k, atoms, {"ok": True, "tier": "ml", "vickers_hardness_GPa": h}) for k, atoms, h in rows])
    summary = promote(db, EMT(), top_relax=2, progress=False, relax_options={"volume_range": (0.9, 1.1)})
    assert (summary.relax_done, summary.relax_failed) == (1, 1)
    cu = db.get(screen_key="Cu")
    assert not cu.relaxed_ok and cu.relaxed_volume_ratio > 1.2 and "volume changed" in cu.relaxed_error
    assert cu.tier == "ml" and cu.get("relaxed_vickers_hardness_GPa") is None
    assert [(e["formula"], e["tiers"]) for e in top_candidates(db, 5)] == [("Ni", "ml relaxed")]


def test_relaxation_stops_at_its_wall_clock_bound():
    from ase_mlmat.workflows.relax import relax

    atoms = bulk("Cu", a=3.3, cubic=True)
    atoms.rattle(0.05, seed=1)
    atoms.calc = EMT()
    start = atoms.get_volume()
    assert relax(atoms, fmax_eV_per_A=1e-3, max_seconds=0.0)[1] is False
    assert atoms.get_volume() < 1.05 * start  # stopped after its first step
    assert relax(atoms, fmax_eV_per_A=1e-3)[1] is True


def test_top_table_leaves_out_rows_the_elastic_tier_found_unstable(tmp_path):
    from ase_mlmat.workflows.screening.report import top_candidates
    from ase_mlmat.workflows.screening.store import write_records

    db = connect(str(tmp_path / "unstable.db"))
    unstable = {"elastic_ok": False, "elastic_born_stable": False, "elastic_error": "smallest eigenvalue of C < 0"}
    failed = {"elastic_ok": False, "elastic_error": "relaxation did not converge"}
    write_records(
        db,
        [
            ("A", bulk("Cu", a=3.6), {"ok": True, "vickers_hardness_GPa": 9.0, **unstable}),
            ("B", bulk("Ni", a=3.52), {"ok": True, "vickers_hardness_GPa": 5.0, **failed}),
            ("C", bulk("Al", a=4.05), {"ok": True, "vickers_hardness_GPa": 1.0}),
        ],
    )
    table = top_candidates(db, 5)
    assert [e["formula"] for e in table] == ["Ni", "Al"]  # the unstable Cu is out; a failed run is not a verdict
    assert table[0]["tiers"] == "ml elastic-failed"


def test_cli_screen_with_ashby(inputs, trained_small, tmp_path, capsys):
    db, png = str(tmp_path / "c.db"), str(tmp_path / "ashby.png")
    assert (
        mlmat(
            [
                "screen",
                *inputs,
                "--db",
                db,
                "--model",
                str(trained_small[1]),
                "--batch-size",
                "16",
                "--ashby",
                png,
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"{NUM_GOOD + 3} screened (3 flagged)" in out and "structures/hour" in out
    with open(png, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert mlmat(["screen", *inputs, "--db", db, "--model", str(trained_small[1]), "--no-progress"]) == 0
    assert f"{NUM_GOOD + 3} already in" in capsys.readouterr().out
    assert mlmat(["screen", str(tmp_path / "missing"), "--db", db, "--no-progress"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_top_table_and_coloured_ashby(inputs, trained_small, tmp_path, capsys):
    import csv

    db, png = str(tmp_path / "c.db"), str(tmp_path / "ashby.png")
    csv_path, html_path = tmp_path / "top.csv", tmp_path / "top.html"
    base = ["screen", *inputs, "--db", db, "--model", str(trained_small[1]), "--no-progress"]
    args = [*base, "--ashby", png, "--ashby-colour", "volume_per_atom_A3", "--top", "5", "--top-table", str(csv_path)]
    assert mlmat([*args, "--top-table", str(html_path)]) == 0
    with open(png, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with csv_path.open() as handle:
        table = list(csv.DictReader(handle))
    hardness = [float(r["vickers_hardness_GPa"]) for r in table]
    assert len(table) == 5 and hardness == sorted(hardness, reverse=True)
    every = [r.vickers_hardness_GPa for r in connect(db).select("ok=True") if r.get("vickers_hardness_GPa")]
    assert hardness[0] == pytest.approx(max(every))
    assert all(r["tiers"] == "ml" for r in table)
    assert html_path.read_text().count("<tr>") == 6  # header and five rows
    # a floor no row reaches leaves the table empty
    assert mlmat([*base, "--top-table", str(csv_path), "--min-synthesizability", "2"]) == 0
    with csv_path.open() as handle:
        assert list(csv.DictReader(handle)) == []


def test_cli_relaxation_tier(tmp_path, capsys):
    """``--top-relax`` relaxes the best rows with ``--calc`` and ``--top-passed relaxed`` tables them."""
    import csv

    write(tmp_path / "metals.extxyz", [bulk("Cu", a=3.3), bulk("Ni", a=3.52), bulk("Al", a=4.05)])
    table = tmp_path / "relaxed.csv"
    args = ["screen", str(tmp_path / "metals.extxyz"), "--db", str(tmp_path / "m.db"), "--no-progress"]
    args += ["--calc", "ase.calculators.emt:EMT", "--top-relax", "3", "--relax-option", "max_steps=100"]
    assert mlmat([*args, "--top-table", str(table), "--top-passed", "relaxed"]) == 0
    assert "relaxation tier: 3 relaxed, 0 failed" in capsys.readouterr().out
    with table.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 and all(r["tiers"] == "ml relaxed" and r["calculator"] for r in rows)
    ratios = {r["formula"]: float(r["relaxed_volume_ratio"]) for r in rows}
    assert ratios["Cu"] > 1.2 and 0.9 < ratios["Ni"] < 1.1  # the compressed Cu expanded


def test_cli_calc_auto_promotes_only_rows_a_shipped_potential_covers(inputs, trained_small, tmp_path, capsys):
    from ase_mlmat.workflows.screening.auto_calculator import shipped_potentials

    db = str(tmp_path / "auto.db")
    args = ["screen", *inputs, "--db", db, "--model", str(trained_small[1]), "--no-progress", "--calc", "auto"]
    fast = ["--elastic-option", "normal_strains=[-0.005,0.005]", "--elastic-option", "shear_strains=[-0.005,0.005]"]
    assert mlmat([*args, "--top-elastic", "1", *fast]) == 0
    out = capsys.readouterr().out
    promoted = [row for row in connect(db).select() if row.get("elastic_calculator")]
    passed = int(out.split("passed over ")[1].split()[0]) if "passed over" in out else 0
    assert len(promoted) + passed >= 1 and len(promoted) <= 1
    for row in promoted:
        assert set(row.toatoms().get_chemical_symbols()) <= set(shipped_potentials()[row.elastic_calculator])
    if passed:
        assert "that no shipped potential covers" in out
    with pytest.raises(SystemExit, match="--distil needs --calc auto"):
        mlmat([*args[:-1], "mlearn-Cu", "--distil", "--top-elastic", "1"])
