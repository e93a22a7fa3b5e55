"""MLCalculator(compile=True): the compiled packages give the eager model's numbers and are built once per model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

from ase_mlmat.calculator import MLCalculator
from ase_mlmat.export import compiled
from ase_mlmat.models.potential import Potential

TINY = {"cutoff": 3.2, "num_features": 8, "num_interactions": 2, "num_basis": 4}


def tiny_model(seed: int = 0) -> Potential:
    torch.manual_seed(seed)
    return Potential("painn", TINY, ["Cu", "Ni"])


def alloy() -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    atoms.symbols[::3] = "Ni"
    atoms.rattle(0.1, seed=2)
    atoms.set_cell(atoms.cell.array @ np.array([[1.02, 0.03, 0.0], [0.0, 0.98, 0.0], [0.0, 0.01, 1.0]]), True)
    return atoms


def results(calc: MLCalculator, atoms: Atoms, properties=("energy", "energies", "forces", "stress")) -> dict:
    atoms = atoms.copy()
    atoms.calc = calc
    return {p: np.asarray(calc.get_property(p, atoms)) for p in properties}


def test_compile_key_follows_weights_and_dtype():
    model = tiny_model()
    key = compiled.compile_key(model, dtype=torch.float64, device=torch.device("cpu"))
    assert key == compiled.compile_key(tiny_model(), dtype=torch.float64, device=torch.device("cpu"))
    assert key != compiled.compile_key(model, dtype=torch.float32, device=torch.device("cpu"))
    with torch.no_grad():
        next(model.parameters())[0].add_(1e-6)
    assert key != compiled.compile_key(model, dtype=torch.float64, device=torch.device("cpu"))


@pytest.mark.slow
def test_compiled_calculator_matches_eager_and_compiles_each_model_once(tmp_path, monkeypatch):
    """One AOTInductor build (about half a minute here) serves a two-member committee and a later calculator."""
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path))
    builds = []
    export = compiled.export_model
    monkeypatch.setattr(compiled, "export_model", lambda *a, **k: builds.append(a[1]) or export(*a, **k))
    model, atoms = tiny_model(), alloy()

    eager = results(MLCalculator(model, dtype="float64", skin=0.0), atoms)
    committee = MLCalculator([model, model], dtype="float64", compile=True)
    assert len(builds) == 1 and len(list((tmp_path / "compiled").glob("*.pt2"))) == 1
    fast = results(committee, atoms, ("energy", "energies", "forces", "stress", "forces_std", "stress_std"))
    for name, expected in eager.items():
        scale = max(np.abs(expected).max(), 1e-12)
        assert np.abs(fast[name] - expected).max() <= 1e-9 * scale, name
    assert np.abs(fast["forces_std"]).max() < 1e-12 and np.abs(fast["stress_std"]).max() < 1e-12

    again = MLCalculator(model, dtype="float64", compile=True)  # a new calculator: loaded from the cache
    assert len(builds) == 1
    np.testing.assert_allclose(results(again, atoms)["forces"], eager["forces"], rtol=0, atol=1e-9)

    single = Atoms("Cu", positions=[[0, 0, 0]], cell=[10, 10, 10], pbc=True)  # below the package's shapes: eager
    expected = results(MLCalculator(model, dtype="float64"), single, ("energy", "forces"))
    got = results(again, single, ("energy", "forces"))
    assert got["energy"] == pytest.approx(float(expected["energy"]), abs=1e-12)
