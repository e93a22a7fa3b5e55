"""The mlmat-glass/1 format, the BOTAN and Bapst converters, and the generator writing real data."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from mlmat_glass.generate import generate
from mlmat_glass.storage import GlassSample, from_bapst, load_sample, save_sample


def test_botan_file_loads_with_the_documented_defaults(shared_file):
    sample = load_sample(shared_file(2))
    assert sample.n_particles == 4096 and (sample.types == 0).sum() == 3277
    assert sample.box[0] == pytest.approx(15.05658, abs=1e-4) and sample.temperature == 0.44
    raw = np.load(shared_file(2))
    expected = np.linalg.norm(raw["positions"] - raw["initial_positions"][None], axis=-1).mean(0)
    np.testing.assert_allclose(sample.propensity[0], expected, rtol=1e-6)
    assert 0.1 < sample.fs_a[0] < 0.5  # "F_s of A ≈ 0.3" per shared/README.md
    atoms = sample.to_atoms()
    assert len(atoms) == 4096 and atoms.pbc.all() and set(atoms.numbers) == {1, 2}


def test_bapst_box_is_accepted(tmp_path, shared_file):
    sample = load_sample(shared_file(3), box=15.0433)
    assert sample.box.tolist() == [15.0433] * 3


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    sample = GlassSample(
        rng.random((30, 3)) * 6,
        np.arange(30) % 2,
        6.0,
        0.8,
        [0.1, 1.0],
        rng.random((2, 30)),
        [0.8, 0.3],
        n_runs=4,
        source="test",
        positions=rng.random((2, 4, 30, 3)),
    )
    path = save_sample(sample, tmp_path / "s.npz", with_positions=True)
    back = load_sample(path)
    np.testing.assert_allclose(back.propensity, sample.propensity)
    np.testing.assert_allclose(back.positions, sample.positions, rtol=1e-6)
    assert back.temperature == 0.8 and back.n_runs == 4 and back.times.tolist() == [0.1, 1.0]


def _bapst_dict(rng):
    initial = rng.random((40, 3)) * 6
    targets = [initial[None] + rng.normal(scale=s, size=(3, 40, 3)) for s in (0.1, 0.5)]
    return {
        "positions": initial,
        "types": (np.arange(40) % 5 == 0).astype(np.int32),
        "box": np.full(3, 6.0),
        "time": np.array([0.0, 1.0, 2.0, 40.0]),
        "time_indices": np.array([1, 3]),
        "is_values": np.array([0.9, 0.4]),
        "trajectory_target_positions": targets,
        "metadata": {"temperature": 0.44, "pressure": 2.93, "fluid": "Kob-Andersen"},
    }


def test_bapst_pickle_converts(tmp_path):
    data = _bapst_dict(np.random.default_rng(1))
    path = tmp_path / "aggregated.pickle"
    path.write_bytes(pickle.dumps(data))
    sample = from_bapst(path)
    assert sample.times.tolist() == [1.0, 40.0] and sample.temperature == 0.44
    expected = np.linalg.norm(data["trajectory_target_positions"][1] - data["positions"], axis=-1).mean(0)
    np.testing.assert_allclose(sample.propensity[1], expected, rtol=1e-6)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_bapst_pickle_with_code_is_refused(tmp_path):
    data = _bapst_dict(np.random.default_rng(2))
    data["metadata"] = _Exploit()
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        from_bapst(path)


def test_generator_writes_a_small_real_set(tmp_path):
    summary = generate(
        n_particles=160,
        temperature=1.5,
        n_configs=2,
        n_runs=3,
        t_min=0.02,
        t_max=0.6,
        n_times=5,
        equilibration=0.5,
        spacing=0.2,
        out=tmp_path,
        engine="python",
        seed=3,
        log=None,
    )
    files = sorted(p.name for p in tmp_path.glob("config_*.npz"))
    assert files == ["config_000.npz", "config_001.npz"]
    stored = json.loads((tmp_path / "summary.json").read_text())
    assert stored["n_runs"] == 3 and len(stored["times"]) == len(stored["fs_a_mean"]) == 5
    fs = np.array(summary["fs_a_mean"])
    assert np.all(np.diff(fs) < 0) and 0.0 < fs[-1] < fs[0] < 1.0  # particles move away: F_s decays
    sample = load_sample(tmp_path / "config_001.npz")
    assert sample.propensity.shape == (5, 160) and np.all(np.diff(sample.propensity.mean(1)) > 0)
    assert sample.temperature == 1.5 and sample.n_runs == 3
