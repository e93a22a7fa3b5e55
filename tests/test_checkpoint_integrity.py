"""Checkpoints: anything that is not one is named as such, and corrupt weights are caught by their checksum."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.build import bulk

from ase_mlmat import MLCalculator, pretrained, save_potential
from ase_mlmat.checkpoint import CHECKSUM_KEY, CheckpointError, payload_checksum
from ase_mlmat.model_store import load_model, load_potential, save_model
from ase_mlmat.models.property_model import PropertyModel

NOT_A_CHECKPOINT = "not an ase-mlmat potential checkpoint"
MISMATCH = "weights do not match their checksum"


def _text(path: Path) -> None:
    path.write_text("hello\n")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _zip_not_torch(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")


def _torch_of_another_program(path: Path) -> None:
    torch.save({"model": {"layer.weight": torch.zeros(3)}, "epoch": 7}, path)


def _torch_list(path: Path) -> None:
    torch.save([torch.zeros(2)], path)


def _bare_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"weights": [0.0, 1.0]}))


def _directory(path: Path) -> None:
    path.mkdir()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_text, r"not a torch zip archive .*starts with b'hello\\n'"),
        (_empty, r"the file is empty \(0 bytes\)"),
        (_zip_not_torch, r"a zip archive without the data.pkl record torch.save writes \(it holds notes.txt\)"),
        (_torch_of_another_program, r"a torch file of another program .*entries 'model', 'epoch'"),
        (_torch_list, r"a torch file holding a list"),
        (_bare_pickle, r"a bare pickle"),
        (_directory, r"is a directory"),
    ],
)
def test_non_checkpoints_are_named_as_such(tmp_path, make, reason):
    path = tmp_path / "model.pt"
    make(path)
    for load in (load_potential, MLCalculator):  # MLCalculator is the route of `mlmat eval` / `mlmat md`
        with pytest.raises(CheckpointError, match=NOT_A_CHECKPOINT) as info:
            load(path)
        assert str(path) in str(info.value)
        assert info.match(reason)


def test_a_property_checkpoint_is_not_a_potential(tmp_path):
    path = save_model(_property_model(), tmp_path / "kg.pt")
    with pytest.raises(CheckpointError, match=r"not an ase-mlmat potential checkpoint: it holds an ase-mlmat property"):
        load_potential(path)


def _flip_tensor_bytes(path: Path, count: int = 64) -> None:
    """Invert ``count`` bytes in the middle of the largest tensor record, rewriting the zip so its CRCs agree.

    torch does not check the CRCs anyway; consistent ones make sure only the checkpoint's own checksum can
    notice.
    """
    with zipfile.ZipFile(path) as archive:
        records = [(info, archive.read(info)) for info in archive.infolist()]
    target = max((info for info, _ in records if "/data/" in info.filename), key=lambda info: info.file_size)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for info, data in records:
            if info is target:
                data = bytearray(data)
                middle = len(data) // 2 - count // 2
                data[middle : middle + count] = bytes(b ^ 0xFF for b in data[middle : middle + count])
                data = bytes(data)
            archive.writestr(info, data)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # the zip itself is consistent


def test_flipped_weight_bytes_are_a_checkpoint_error(tmp_path, potential):
    path = save_potential(potential, tmp_path / "m.pt")
    before = torch.load(path, weights_only=True)["members"][0]
    _flip_tensor_bytes(path)
    after = torch.load(path, weights_only=True)["members"][0]  # torch itself loads it silently
    assert any(not torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(CheckpointError, match=MISMATCH) as info:
        load_potential(path)
    assert str(path) in str(info.value) and "corrupt or was edited" in str(info.value)


def _property_model() -> PropertyModel:
    torch.manual_seed(0)
    config = {"cutoff": 5.0, "num_features": 8, "num_interactions": 1, "num_hidden": 8}
    return PropertyModel("cgcnn", config, ["Si", "C"], ["log10_K_VRH_GPa", "log10_G_VRH_GPa"]).eval()


def test_flipped_bytes_in_a_property_checkpoint(tmp_path):
    path = save_model(_property_model(), tmp_path / "kg.pt")
    load_model(path, kind="property")
    _flip_tensor_bytes(path)
    with pytest.raises(CheckpointError, match=MISMATCH):
        load_model(path, kind="property")


def test_flipped_bytes_in_a_glass_checkpoint(tmp_path):
    model_io = pytest.importorskip("mlmat_glass.model_io")
    model = model_io.build_model({"kind": "graph_network", "width": 8, "n_steps": 1})
    path = model_io.save_model(model, tmp_path / "glass.pt", target_mean=0.5, target_std=0.2)
    model_io.load_model(path)
    _flip_tensor_bytes(path)
    with pytest.raises(model_io.GlassModelError, match=MISMATCH):
        model_io.load_model(path)
    with pytest.raises(CheckpointError):  # one error family for every checkpoint format
        model_io.load_model(path)


def test_an_edited_config_is_caught(tmp_path, potential):
    path = save_potential(potential, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["spec"]["config"]["cutoff"] = 3.0  # same weights, different model
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=MISMATCH):
        load_potential(path)


def test_checksum_covers_dtype_shape_and_not_dict_order():
    state = {"a": torch.arange(6, dtype=torch.float32), "b": torch.ones(2)}
    payload = {"format": "f", "config": {"x": 1, "y": [1.0, 2.0]}, "state_dict": state}
    reference = payload_checksum(payload)
    reordered = {"state_dict": {"b": state["b"], "a": state["a"]}, "config": {"y": [1.0, 2.0], "x": 1}, "format": "f"}
    assert payload_checksum(reordered) == reference
    assert payload_checksum({**payload, CHECKSUM_KEY: "anything"}) == reference  # the checksum is not hashed
    for changed in (
        {**state, "a": state["a"].double()},  # same values, another dtype
        {**state, "a": state["a"].reshape(2, 3)},  # same bytes, another shape
        {"c": state["a"], "b": state["b"]},  # same tensors, another name
    ):
        assert payload_checksum({**payload, "state_dict": changed}) != reference
    assert payload_checksum({**payload, "config": {"x": 1.0, "y": [1.0, 2.0]}}) != reference  # 1 vs 1.0


def test_legacy_checkpoint_without_checksum_loads_with_a_warning(tmp_path, potential, si_bulk):
    path = save_potential(potential, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    del payload[CHECKSUM_KEY]
    legacy = tmp_path / "legacy.pt"
    torch.save(payload, legacy)
    with pytest.warns(UserWarning, match="has no checksum .* cannot be verified"):
        model = load_potential(legacy)
    calcs = [MLCalculator(p, dtype="float64", device="cpu") for p in (model, load_potential(path))]
    forces = [si_bulk.copy() for _ in calcs]
    for atoms, calc in zip(forces, calcs):
        atoms.calc = calc
    np.testing.assert_array_equal(forces[0].get_forces(), forces[1].get_forces())
    resaved = save_potential(model, tmp_path / "resaved.pt")  # saving again adds the checksum
    assert CHECKSUM_KEY in torch.load(resaved, weights_only=True)


@pytest.mark.parametrize("name", pretrained.available())
def test_shipped_checkpoints_carry_a_valid_checksum(recwarn, name):
    path = pretrained.path_of(name)
    payload = torch.load(path, weights_only=True)
    assert payload[CHECKSUM_KEY] == payload_checksum(payload)
    if name.startswith(("mlearn-", "distilled-")):
        elements = load_model(path, kind="potential").elements
        atoms = bulk("Cu", "fcc", a=4.0, cubic=True)
        atoms.symbols = [elements[i % len(elements)] for i in range(len(atoms))]
        atoms.calc = MLCalculator(name, device="cpu")
        assert np.isfinite(atoms.get_potential_energy())
    else:
        load_model(path, kind="property")
    assert not [w for w in recwarn if "checksum" in str(w.message)]


def test_shipped_glass_model_carries_a_valid_checksum(recwarn):
    glass = pytest.importorskip("mlmat_glass")
    for path in glass.shipped_models().values():
        payload = torch.load(path, weights_only=True)
        assert payload[CHECKSUM_KEY] == payload_checksum(payload)
        glass.model_io.load_model(path)
    assert not [w for w in recwarn if "checksum" in str(w.message)]
