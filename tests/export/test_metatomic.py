"""The metatomic export gives the Python model's numbers through metatomic's own ASE calculator and model API."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

from ase_mlmat.calculator import MLCalculator
from ase_mlmat.cli import main
from ase_mlmat.export import ExportError, export_model
from ase_mlmat.models.ensemble import Ensemble
from ase_mlmat.models.potential import Potential

pytest.importorskip("metatomic.torch", reason="the metatomic format needs metatomic-torch (extra: metatomic)")
pytest.importorskip("metatomic_ase", reason="the round trip runs metatomic-ase's calculator (extra: metatomic)")

from metatensor.torch import Labels
from metatomic.torch import ModelEvaluationOptions, ModelOutput, System, load_atomistic_model
from metatomic_ase import MetatomicCalculator
from vesin.metatomic import neighbor_lists_for_model

from ase_mlmat.export.metatomic import read_metatomic_metadata

TOL = 1e-8  # relative, float64
PROPERTIES = ("energy", "energies", "forces", "stress")


def rattled(symbol: str = "Cu", repeat: int = 2, seed: int = 3) -> Atoms:
    atoms = bulk(symbol, cubic=True).repeat(repeat)
    atoms.rattle(0.08, seed=seed)
    atoms.set_cell(
        atoms.cell.array @ np.array([[1.01, 0.02, 0.0], [0.0, 0.99, 0.01], [0.0, 0.0, 1.0]]), scale_atoms=True
    )
    return atoms


def assert_close(actual, expected, tol: float = TOL) -> None:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    scale = max(np.abs(expected).max(), 1e-12)
    assert np.abs(actual - expected).max() <= tol * scale, (np.abs(actual - expected).max(), scale)


def reference(model, atoms: Atoms) -> dict:
    calc = MLCalculator(model, dtype="float64", skin=0)
    return {p: calc.get_property(p, atoms.copy()) for p in PROPERTIES}


def through_metatomic(path: str, atoms: Atoms) -> dict:
    calc = MetatomicCalculator(path, check_consistency=True)
    return {p: calc.get_property(p, atoms.copy()) for p in PROPERTIES}


@pytest.fixture(scope="module")
def cu_file(tmp_path_factory) -> str:
    """mlearn-Cu in float64, exported through the command line."""
    path = tmp_path_factory.mktemp("metatomic") / "mlearn-Cu.pt"
    assert main(["export", "mlearn-Cu", str(path), "--format", "metatomic"]) == 0
    return str(path)


def test_ase_calculator_matches_python_model(cu_file):
    atoms = rattled()
    expected, got = reference("mlearn-Cu", atoms), through_metatomic(cu_file, atoms)
    for key in PROPERTIES:
        assert_close(got[key], expected[key])


def test_committee_exports_its_mean_with_species_in_model_order(tmp_path):
    """Two elements listed out of atomic-number order, a PaiNN and a rank-2 moment network in one committee."""
    elements = ["Ni", "Cu"]
    painn = {"cutoff": 3.5, "num_features": 8, "num_interactions": 2}
    moments = {"cutoff": 3.5, "num_features": 8, "num_interactions": 1, "max_rank": 2}
    members = [Potential("painn", painn, elements, [-1.0, -2.0], 0.3, seed=1), Potential("moments", moments, elements)]
    committee = Ensemble(members)
    path = str(export_model(committee, tmp_path / "committee.pt", file_format="metatomic"))
    atoms = rattled()
    atoms.numbers[::3] = 28
    expected, got = reference(committee, atoms), through_metatomic(path, atoms)
    for key in PROPERTIES:
        assert_close(got[key], expected[key])
    capabilities = load_atomistic_model(path).capabilities()
    assert sorted(capabilities.atomic_types) == [28, 29]
    assert capabilities.interaction_range == pytest.approx(2 * 3.5)
    meta = read_metatomic_metadata(path)
    assert meta["elements"] == "Ni Cu" and meta["committee_size"] == "2" and meta["file_format"] == "metatomic"


def test_float32_export_is_close(tmp_path):
    """The engine must feed float32 to a float32 file (check_consistency checks it); the numbers stay close."""
    path = str(export_model("mlearn-Cu", tmp_path / "cu32.pt", file_format="metatomic", dtype="float32"))
    assert load_atomistic_model(path).capabilities().dtype == "float32"
    atoms = rattled()
    expected, got = reference("mlearn-Cu", atoms), through_metatomic(path, atoms)
    for key in PROPERTIES:
        assert_close(got[key], expected[key], 1e-4)


def ghost_cluster(atoms: Atoms, reach: float) -> tuple[Atoms, np.ndarray]:
    """The cell's atoms first, then every periodic image within ``reach`` Å of one of them, as a free cluster."""
    reps = [int(np.ceil(reach * np.linalg.norm(b))) + 1 for b in atoms.cell.reciprocal()]  # planes 1/|b| apart
    images, owners = [atoms.positions], [np.arange(len(atoms))]
    for shift in np.ndindex(*(2 * r + 1 for r in reps)):
        n = np.array(shift) - reps
        if not n.any():
            continue
        shifted = atoms.positions + n @ atoms.cell.array
        near = np.linalg.norm(shifted[:, None] - atoms.positions[None], axis=2).min(axis=1) <= reach
        images.append(shifted[near])
        owners.append(np.nonzero(near)[0])
    owner = np.concatenate(owners)
    return Atoms(atoms.numbers[owner], np.concatenate(images), pbc=False), owner


def test_selected_atoms_of_a_ghost_cluster_give_the_periodic_energy_and_forces(cu_file):
    """A domain-decomposed engine's view: the cell's atoms selected, a shell of layers × cutoff of ghosts around."""
    atoms = rattled(repeat=1)
    model = load_atomistic_model(cu_file)
    meta = read_metatomic_metadata(cu_file)
    cluster, owner = ghost_cluster(atoms, int(meta["num_interactions"]) * float(meta["cutoff"]))
    positions = torch.tensor(cluster.positions, requires_grad=True)
    types = torch.tensor(cluster.numbers, dtype=torch.int32)
    system = System(types, positions, torch.zeros((3, 3), dtype=torch.float64), torch.zeros(3, dtype=torch.bool))
    for calculator in neighbor_lists_for_model("angstrom", model, skin=0.0):
        calculator.add_neighbor_list([system])
    local = Labels(["system", "atom"], torch.tensor([[0, i] for i in range(len(atoms))], dtype=torch.int32))
    outputs = {"energy": ModelOutput(unit="eV", sample_kind="system")}
    energy = model([system], ModelEvaluationOptions("angstrom", outputs, local), True)["energy"].block().values
    energy.sum().backward()
    folded = np.zeros((len(atoms), 3))
    np.add.at(folded, owner, -positions.grad.numpy())
    expected = reference("mlearn-Cu", atoms)
    assert_close(energy.item(), expected["energy"])
    assert_close(folded, expected["forces"])


def test_per_atom_energies_of_several_systems_and_a_selection(cu_file):
    """Per-atom samples are (system, atom) of the selected atoms only; the per-system energy sums exactly those."""
    calc = MetatomicCalculator(cu_file, check_consistency=True)
    first, second = rattled(seed=1), rattled(seed=2)
    expected = [reference("mlearn-Cu", a)["energies"] for a in (first, second)]
    chosen = [(0, 0), (0, 5), (1, 3), (1, 7), (1, 30)]
    selection = Labels(["system", "atom"], torch.tensor(chosen, dtype=torch.int32))
    per_atom = calc.run_model([first, second], {"energy": ModelOutput(unit="eV", sample_kind="atom")}, selection)
    block = per_atom["energy"].block()
    assert block.samples.values.tolist() == [list(c) for c in chosen]
    assert_close(block.values[:, 0].detach().numpy(), [expected[s][a] for s, a in chosen])
    total = calc.run_model([first, second], {"energy": ModelOutput(unit="eV", sample_kind="system")}, selection)
    sums = [sum(expected[s][a] for s, a in chosen if s == system) for system in (0, 1)]
    assert_close(total["energy"].block().values[:, 0].detach().numpy(), sums)


def test_missing_metatomic_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import ase_mlmat.export.metatomic as module

    monkeypatch.setattr(module, "HAVE_METATOMIC", False)
    with pytest.raises(ExportError, match="pip install metatomic-torch"):
        export_model("mlearn-Cu", tmp_path / "cu.pt", file_format="metatomic")
    assert main(["export", "mlearn-Cu", str(tmp_path / "cu.pt"), "--format", "metatomic"]) == 2
    assert "metatomic-torch" in capsys.readouterr().err
    assert not (tmp_path / "cu.pt").exists()
