"""Exported potentials give the Python model's numbers, periodic or with ghost atoms, and load without ase_mlmat."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.build import bulk
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet
from ase.neighborlist import neighbor_list

from ase_mlmat.calculator import MLCalculator
from ase_mlmat.cli import main
from ase_mlmat.export import ExportedCalculator, export_model, load_exported
from ase_mlmat.models.ensemble import Ensemble
from ase_mlmat.models.potential import Potential

MODELS = {"mlearn-Cu": "Cu", "mlearn-Si": "Si", "mlearn-Si-accurate": "Si"}
TOL = 1e-6  # relative, float64


def rattled(symbol: str, repeat: int = 2, seed: int = 3) -> Atoms:
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


@pytest.fixture(scope="module")
def torchscript_files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("exported")
    return {name: str(export_model(name, folder / f"{name}.pt", file_format="torchscript")) for name in MODELS}


@pytest.fixture(scope="module")
def aoti_file(tmp_path_factory) -> str:
    """One AOTInductor package (compiling takes about a minute here), exported through the command line."""
    path = tmp_path_factory.mktemp("aoti") / "mlearn-Si-accurate.pt2"
    assert main(["export", "mlearn-Si-accurate", str(path)]) == 0
    return str(path)


def reference(name: str, atoms: Atoms) -> dict:
    atoms = atoms.copy()
    atoms.calc = MLCalculator(name, dtype="float64")
    return {p: atoms.calc.get_property(p, atoms) for p in ("energy", "energies", "forces", "stress")}


def exported(path: str, atoms: Atoms) -> dict:
    atoms = atoms.copy()
    atoms.calc = ExportedCalculator(path)
    return {p: atoms.calc.get_property(p, atoms) for p in ("energy", "energies", "forces", "stress")}


@pytest.mark.parametrize("name", MODELS)
def test_torchscript_matches_python_model(torchscript_files, name):
    atoms = rattled(MODELS[name])
    expected, got = reference(name, atoms), exported(torchscript_files[name], atoms)
    for key in expected:
        assert_close(got[key], expected[key])


def test_exported_calculator_skin_list_equals_fresh_search_along_md(torchscript_files):
    """Reusing the neighbour list (skin 0.3 Å, hot MD: it is rebuilt several times) changes no number."""
    atoms = rattled("Cu")
    thermalize_momenta(atoms, temperature_K=1200, rng=np.random.default_rng(0))
    model = load_exported(torchscript_files["mlearn-Cu"])
    atoms.calc = calc = ExportedCalculator(model, skin=0.3)
    fresh = ExportedCalculator(model, skin=0.0)
    searches = []

    def compare():
        probe = atoms.copy()
        probe.calc = fresh
        assert abs(atoms.get_potential_energy() - probe.get_potential_energy()) < 1e-9
        assert np.abs(atoms.get_forces() - probe.get_forces()).max() < 1e-9
        assert np.abs(atoms.get_stress() - probe.get_stress()).max() < 1e-12
        searches.append(calc.neighbors.builds)

    dyn = VelocityVerlet(atoms, 4 * units.fs)
    dyn.attach(compare, interval=1)
    dyn.run(25)
    assert 2 < searches[-1] < len(searches), searches


@pytest.mark.slow
def test_aoti_matches_python_model_and_keeps_metadata(aoti_file):
    """Traced with 12 atoms, the package runs other sizes: a 64- and an 8-atom cell (dynamic shapes)."""
    for repeat in (2, 1):
        atoms = rattled("Si", repeat=repeat, seed=repeat)
        expected, got = reference("mlearn-Si-accurate", atoms), exported(aoti_file, atoms)
        for key in expected:
            assert_close(got[key], expected[key])
    meta = load_exported(aoti_file).metadata
    assert meta["elements"] == "Si" and meta["num_interactions"] == "2" and meta["dtype"] == "float64"
    assert float(meta["cutoff"]) == 5.0 and len(meta["source_sha256"]) == 64 and meta["file_format"] == "aoti"


def ghost_input(atoms: Atoms, reach: float, cutoff: float):
    """Local atoms of a periodic cell plus explicit ghost copies within ``reach`` Å of them; no cell shifts.

    Returns positions (N, 3), owner of each atom (N,) (itself for a local atom), and the full neighbour list
    of the open cluster within ``cutoff``.
    """
    n = len(atoms)
    lengths = np.linalg.norm(atoms.cell.array, axis=1)
    reps = [int(np.ceil(reach / length)) + 1 for length in lengths]
    images = [(a, b, c) for a in range(-reps[0], reps[0] + 1) for b in range(-reps[1], reps[1] + 1)
              for c in range(-reps[2], reps[2] + 1) if (a, b, c) != (0, 0, 0)]  # fmt: skip
    ghosts, owners = [], []
    for image in images:
        shifted = atoms.positions + np.asarray(image) @ atoms.cell.array
        distance = np.linalg.norm(shifted[:, None, :] - atoms.positions[None, :, :], axis=-1).min(axis=1)
        keep = distance <= reach
        ghosts.append(shifted[keep])
        owners.append(np.arange(n)[keep])
    positions = np.concatenate([atoms.positions, *ghosts])
    owner = np.concatenate([np.arange(n), *owners])
    i, j = neighbor_list("ij", Atoms(positions=positions), cutoff)
    return positions, owner, np.stack([i, j])


@pytest.mark.parametrize("name", ["mlearn-Cu", "mlearn-Si-accurate"])
def test_ghost_atoms_give_the_periodic_energy_and_forces(torchscript_files, name):
    """LAMMPS's view: a ghost shell of num_interactions × cutoff, forces on ghosts folded onto their owners."""
    atoms = rattled(MODELS[name], repeat=1)
    model = load_exported(torchscript_files[name])
    positions, owner, edge_index = ghost_input(atoms, model.num_interactions * model.cutoff, model.cutoff)
    out = model(
        torch.as_tensor(positions),
        torch.zeros(len(positions), dtype=torch.long),  # one-element models: every species index is 0
        torch.as_tensor(edge_index, dtype=torch.long),
        torch.zeros((edge_index.shape[1], 3), dtype=torch.float64),
        len(atoms),
    )
    folded = np.zeros((len(atoms), 3))
    np.add.at(folded, owner, out["forces"].numpy())
    expected = reference(name, atoms)
    assert_close(out["energy"].item(), expected["energy"])
    assert_close(out["atomic_energies"][: len(atoms)].numpy(), expected["energies"])
    assert_close(folded, expected["forces"])
    # the virial of the cluster (ghosts included) is the periodic one: W = −σ V
    virial = out["virial"].numpy()
    stress = -virial.flat[[0, 4, 8, 5, 2, 1]] / atoms.get_volume()
    assert_close(stress, expected["stress"])
    assert_close(out["atomic_virial"].sum(dim=0).numpy(), virial, 1e-12)


def test_committee_exports_its_mean_with_species_in_model_order(tmp_path):
    """Two elements listed out of atomic-number order, a PaiNN and a rank-2 moment network in one committee."""
    elements = ["Ni", "Cu"]
    painn = {"cutoff": 3.5, "num_features": 8, "num_interactions": 2}
    moments = {"cutoff": 3.5, "num_features": 8, "num_interactions": 1, "max_rank": 2}
    members = [Potential("painn", painn, elements, [-1.0, -2.0], 0.3, seed=1), Potential("moments", moments, elements)]
    committee = Ensemble(members)
    path = export_model(committee, tmp_path / "committee.pt", file_format="torchscript")
    atoms = rattled("Cu")
    atoms.numbers[::3] = 28
    calc = MLCalculator(committee, dtype="float64")
    expected = {p: calc.get_property(p, atoms) for p in ("energy", "energies", "forces", "stress")}
    got = exported(str(path), atoms)
    for key in expected:
        assert_close(got[key], expected[key])
    meta = load_exported(path).metadata
    assert meta["elements"] == "Ni Cu" and meta["committee_size"] == "2" and meta["num_interactions"] == "2"


def test_float32_export_is_close(tmp_path):
    path = export_model("mlearn-Cu", tmp_path / "cu32.pt", dtype="float32", file_format="torchscript")
    atoms = rattled("Cu")
    expected, got = reference("mlearn-Cu", atoms), exported(str(path), atoms)
    assert_close(got["forces"], expected["forces"], 1e-4)
    assert load_exported(path).metadata["dtype"] == "float32"


LOAD_WITHOUT_ASE_MLMAT = """
import sys, torch
sys.modules["ase_mlmat"] = None  # any import of ase_mlmat now fails
path = sys.argv[1]
if path.endswith(".pt2"):
    runner = torch._inductor.aoti_load_package(path)
    meta = runner.get_metadata()
else:
    extra = {"metadata.json": ""}
    runner = torch.jit.load(path, _extra_files=extra)
    meta = extra["metadata.json"]
positions = torch.tensor([[0.0, 0.0, 0.0], [2.3, 0.0, 0.0], [0.0, 2.4, 0.1]], dtype=torch.float64)
i = torch.tensor([0, 1, 0, 2, 1, 2]); j = torch.tensor([1, 0, 2, 0, 2, 1])
energy, atomic, forces, virial, atomic_virial = runner(
    positions, torch.zeros(3, dtype=torch.long), torch.stack([i, j]), torch.zeros(6, 3, dtype=torch.float64),
    torch.tensor(3),
)
assert torch.isfinite(forces).all() and abs(forces.sum(0)).max() < 1e-10 and "ase-mlmat-exported-potential" in str(meta)
print(energy.item())
"""


def energy_without_ase_mlmat(path: str, name: str, **env: str) -> None:
    """Load and run ``path`` in a fresh process that cannot import ase_mlmat; its energy of a 3-atom cluster
    equals the Python model's."""
    environment = {**os.environ, **env}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_ASE_MLMAT, path], capture_output=True, text=True, env=environment
    )
    assert done.returncode == 0, done.stderr
    atoms = Atoms(MODELS[name] * 3, positions=[[0.0, 0.0, 0.0], [2.3, 0.0, 0.0], [0.0, 2.4, 0.1]])
    atoms.calc = MLCalculator(name, dtype="float64")
    assert float(done.stdout) == pytest.approx(atoms.get_potential_energy(), rel=TOL)


def test_loads_and_runs_without_ase_mlmat(torchscript_files):
    energy_without_ase_mlmat(torchscript_files["mlearn-Cu"], "mlearn-Cu")


@pytest.mark.slow
def test_aoti_package_loads_without_ase_mlmat_or_a_compiler(aoti_file):
    energy_without_ase_mlmat(aoti_file, "mlearn-Si-accurate", PATH="/nonexistent", CXX="/nonexistent/c++")


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("file_format", ["torchscript", "aoti"])
def test_cuda_export_matches_python_model_on_cuda(tmp_path, file_format):
    suffix = {"torchscript": "pt", "aoti": "pt2"}[file_format]  # AOTInductor insists on .pt2
    path = export_model("mlearn-Cu", tmp_path / f"cu.{suffix}", device="cuda", file_format=file_format)
    atoms = rattled("Cu")
    calc = MLCalculator("mlearn-Cu", dtype="float64", device="cuda")
    expected = {p: calc.get_property(p, atoms) for p in ("energy", "energies", "forces", "stress")}
    got = exported(str(path), atoms)
    for key in expected:
        assert_close(got[key], expected[key])
    assert load_exported(path).device.type == "cuda"


def test_bad_path_and_wrong_file_are_refused(tmp_path, torchscript_files):
    with pytest.raises(FileNotFoundError, match="no exported model"):
        load_exported(tmp_path / "missing.pt2")
    checkpoint = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, checkpoint)  # a zip archive, but no exported model
    with pytest.raises(ValueError, match="not an exported ase-mlmat potential"):
        load_exported(checkpoint)
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="not an exported ase-mlmat potential"):
        load_exported(text)
    with pytest.raises(ValueError, match="format must be one of"):
        export_model("mlearn-Cu", tmp_path / "x.pt", file_format="onnx")
    assert main(["export", "no-such-model", str(tmp_path / "x.pt"), "--format", "torchscript"]) == 2
    assert main(["export", "mlearn-Cu", str(tmp_path / "x.pt"), "--device", "tpu"]) == 2
    assert main(["export", "mp-binary-kg", str(tmp_path / "x.pt"), "--format", "torchscript"]) == 2  # no potential


@pytest.mark.slow  # traces and generates the code before the compiler is called: about 10 s
def test_missing_compiler_is_a_clear_error(tmp_path, capsys):
    import torch._inductor.config

    with torch._inductor.config.patch({"cpp.cxx": (None, "/nonexistent/c++")}):
        assert main(["export", "mlearn-Cu", str(tmp_path / "x.pt2")]) == 2
    assert "needs a working C++ compiler" in capsys.readouterr().err


def test_aoti_package_not_named_pt2_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"must be named \*\.pt2"):
        export_model("mlearn-Cu", tmp_path / "Cu.pt", file_format="aoti")
    assert not (tmp_path / "Cu.pt").exists()
