"""``mlmat distill`` end to end with EMT as the teacher on Cu: tiny committee, tiny model, a budget of 20 labels."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
import yaml
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import write

from ase_mlmat.active.store import FAILED, LABELLED, ActiveStore
from ase_mlmat.calculator import MLCalculator
from ase_mlmat.cli import main
from ase_mlmat.data import load_labelled
from ase_mlmat.train.metrics import error_metrics, predict_graphs
from ase_mlmat.train.potential import build_model
from ase_mlmat.train.targets import labelled_graphs
from ase_mlmat.workflows.distill import DistillConfig, exploration_set, strained_cells, supercell, train_config

TINY = {"cutoff": 4.0, "num_features": 16, "num_interactions": 2, "num_basis": 8}
SMALL_RUN = {
    "min_atoms": 8,
    "test_frames": 8,
    "test_equilibration": 40,
    "test_spacing": 10,
    "active": {
        "committee": {"size": 2, "model": TINY, "train_steps": 150, "finetune_steps": 40},
        "exploration": {
            "num_seed": 3,
            "timestep_fs": 4.0,
            "check_interval": 5,
            "equilibration_steps": 20,
            "candidate_spacing": 10,
        },
        "selection": {"labels_per_iteration": 3, "max_candidates": 10},
        "stopping": {"calm_steps": 40},
    },
    "refit": {"model": TINY, "epochs": 100},
}
BUDGET = 20


class _CountingEMT:
    """Counts EMT's calculations (teacher calls) while patched in."""

    def __init__(self, monkeypatch):
        self.calls = 0
        original = EMT.calculate

        def calculate(calc, *args, **kwargs):
            self.calls += 1
            return original(calc, *args, **kwargs)

        monkeypatch.setattr(EMT, "calculate", calculate)


def _command(tmp_path, out) -> list[str]:
    structure, config = tmp_path / "Cu.extxyz", tmp_path / "small.yaml"
    write(structure, bulk("Cu", "fcc", a=3.6))
    config.write_text(yaml.safe_dump(SMALL_RUN))
    return [
        "distill",
        f"{structure}@0",
        "--teacher",
        "ase.calculators.emt:EMT",
        "--out",
        str(out),
        "--budget",
        str(BUDGET),
        "--temperatures",
        "300,900",
        "--config",
        str(config),
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("distill")
    out = tmp_path / "run"
    command = _command(tmp_path, out)
    assert main(command) == 0
    return command, out


def test_writes_potential_card_and_parity_plot(run):
    _, out = run
    card = json.loads((out / "card.json").read_text())
    store = ActiveStore(str(out / "active.db"))
    assert card["teacher"] == "ase.calculators.emt:EMT"
    assert card["teacher_calls"] == store.count(LABELLED) + store.count(FAILED) == BUDGET
    assert card["labels"] == store.count(LABELLED)
    assert card["independent_teacher_calls"] == card["independent"]["frames"] == SMALL_RUN["test_frames"]
    assert {"energy_mae_meV_per_atom", "forces_mae_eV_per_A", "stress_mae_GPa"} <= set(card["independent"])
    assert card["refit"]["num_train"] + card["refit"]["num_val"] == card["labels"]
    assert (out / "parity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.calc = MLCalculator(str(out / "potential.pt"), device="cpu")
    assert np.abs(atoms.get_forces()).max() < 1e-4  # a perfect crystal: zero forces by symmetry


def test_distilled_forces_match_the_teacher_on_independent_frames(run):
    """Well below the spread of the forces themselves and far better than the same model untrained."""
    _, out = run
    card = json.loads((out / "card.json").read_text())
    frames, labels = load_labelled(out / "independent.extxyz")
    assert all(EMT().get_forces(f) is not None for f in frames[:1])
    error = card["independent"]["forces_mae_eV_per_A"]
    scale = float(np.mean(np.abs(np.concatenate([label.forces for label in labels]))))
    config = train_config(DistillConfig(teacher="emt", out=str(out), refit=SMALL_RUN["refit"]))
    structures, train_labels, _ = ActiveStore(str(out / "active.db")).labelled()
    untrained = build_model(config, structures, train_labels).double()
    graphs = labelled_graphs(frames, labels, untrained.elements, untrained.cutoff)
    untrained_error = error_metrics(predict_graphs(untrained, graphs, dtype=torch.float64))["forces_mae_eV_per_A"]
    assert error < 0.3, f"force MAE {error:.3f} eV/Å against the teacher"
    assert error < 0.5 * scale, f"force MAE {error:.3f} eV/Å for forces of mean size {scale:.3f} eV/Å"
    assert error < 0.5 * untrained_error, f"trained {error:.3f} eV/Å, untrained {untrained_error:.3f} eV/Å"


def test_rerun_resumes_without_teacher_calls(run, monkeypatch, capsys):
    command, out = run
    card_before = json.loads((out / "card.json").read_text())
    counter = _CountingEMT(monkeypatch)
    assert main(command) == 0
    assert counter.calls == 0
    card = json.loads((out / "card.json").read_text())
    assert card["teacher_calls"] == card_before["teacher_calls"] and card["independent_teacher_calls"] == 0
    assert card["independent"] == card_before["independent"]
    assert "resuming" in capsys.readouterr().out


def test_rerun_with_other_temperatures_is_refused(run, capsys):
    """The stored labels and MD tracks belong to the first run's temperatures: a rerun may not change them."""
    command, out = run
    changed = list(command)
    changed[changed.index("--temperatures") + 1] = "300,600"
    assert main(changed) == 1
    assert "temperatures_K" in capsys.readouterr().err
    assert ActiveStore(str(out / "active.db")).reference_calls() == BUDGET


def test_larger_budget_continues_the_run(run, monkeypatch):
    """Runs after the other tests of ``run``: two more labels cost two teacher calls, then a new refit and frames."""
    command, out = run
    more = list(command)
    more[more.index("--budget") + 1] = str(BUDGET + 2)
    counter = _CountingEMT(monkeypatch)
    assert main(more) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["teacher_calls"] == card["labels"] == BUDGET + 2
    assert card["independent_teacher_calls"] == SMALL_RUN["test_frames"]
    assert counter.calls == 2 + SMALL_RUN["test_frames"]
    assert card["refit"]["num_train"] + card["refit"]["num_val"] == BUDGET + 2


def test_exploration_set_strains_supercell_vacancy_slab():
    atoms = bulk("Cu", "fcc", a=3.6)
    strained = strained_cells(atoms, 0.01)
    assert len(strained) == 12
    for k, cell in enumerate(strained):
        # deformation gradient F = cell⁻¹ · cell', ε = (F + Fᵀ)/2 - 1 in Voigt order xx yy zz yz xz xy
        eps = np.linalg.solve(atoms.cell.array, cell.cell.array) - np.eye(3)
        voigt = np.array([eps[0, 0], eps[1, 1], eps[2, 2], 2 * eps[1, 2], 2 * eps[0, 2], 2 * eps[0, 1]])
        expected = np.zeros(6)
        expected[k // 2] = 0.01 if k % 2 == 0 else -0.01
        np.testing.assert_allclose(voigt, expected, atol=1e-12)
    big = supercell(atoms, 30)
    assert len(big) >= 30 and np.ptp(big.cell.lengths()) < 2.6  # grown along the shortest vector: near-isotropic
    exploration = exploration_set([atoms], min_atoms=8, vacuum_A=10.0)
    bulk8, vacancy, slab = exploration.starts
    assert (len(bulk8), len(vacancy), len(slab)) == (8, 7, 8)
    normal = np.cross(slab.cell[0], slab.cell[1])
    normal /= np.linalg.norm(normal)
    heights = slab.positions @ normal
    gap = abs(slab.cell[2] @ normal) - np.ptp(heights)
    assert gap == pytest.approx(10.0)
    molecule = bulk8.copy()
    molecule.pbc = False
    assert exploration_set([molecule]).starts[0].pbc.sum() == 0 and not exploration_set([molecule]).seeds


def test_compressed_cells_are_labelled_first_at_the_volume_fractions_asked():
    atoms = bulk("Cu", "fcc", a=3.6)
    seeds = exploration_set([atoms], min_atoms=8, compressions=[0.85, 0.6]).seeds
    assert len(seeds) == 14 and len(exploration_set([atoms], min_atoms=8).seeds) == 12
    for cell, fraction in zip(seeds[12:], (0.85, 0.6)):
        assert cell.get_volume() / atoms.get_volume() == pytest.approx(fraction)
        np.testing.assert_allclose(cell.get_scaled_positions(), atoms.get_scaled_positions(), atol=1e-12)
        np.testing.assert_allclose(cell.cell.cellpar()[3:], atoms.cell.cellpar()[3:])  # isotropic: same angles
    with pytest.raises(ValueError, match="compressions are volume fractions"):
        DistillConfig(teacher="x", out="y", compressions=[1.2]).validate()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("chgnet") is None, reason="chgnet is not installed (teachers extra)")
def test_chgnet_teacher_on_two_atom_copper(tmp_path):
    """CHGNet distilled on Cu (2-atom supercell, 16 labels): the card counts what the db holds."""
    out = tmp_path / "chgnet"
    command = _command(tmp_path, out)
    command[command.index("--teacher") + 1] = "chgnet"
    command[command.index("--budget") + 1] = "16"
    small = {**SMALL_RUN, "min_atoms": 2, "test_frames": 4}
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(small))
    assert main(command) == 0
    card = json.loads((out / "card.json").read_text())
    store = ActiveStore(str(out / "active.db"))
    assert card["teacher_calls"] == store.count(LABELLED) + store.count(FAILED) == 16
    assert card["independent"]["forces_mae_eV_per_A"] < 0.3
