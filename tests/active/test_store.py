"""ActiveStore: uids, de-duplication, atomic pending → labelled moves, state round trip."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ase_mlmat.active import ActiveStore, LabelResult, LoopState, structure_uid
from ase_mlmat.active.store import FAILED, LABELLED, PENDING


def _frames(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    start = bulk("Cu", cubic=True)
    frames = []
    for _ in range(n):
        atoms = start.copy()
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        frames.append(atoms)
    return start, frames


def _result(atoms) -> LabelResult:
    return LabelResult(energy=-1.5, forces=np.ones((len(atoms), 3)), stress=np.arange(6.0) * 1e-3)


def test_uid_is_stable_and_discriminating():
    _, (a, b) = _frames(2)
    assert structure_uid(a) == structure_uid(a.copy())
    assert structure_uid(a) != structure_uid(b)
    shifted = a.copy()
    shifted.positions[0, 0] += 1e-9  # below the rounding: the same structure
    assert structure_uid(shifted) == structure_uid(a)
    zero = bulk("Cu", cubic=True)
    negative_zero = zero.copy()
    negative_zero.positions[0] = -0.0
    assert structure_uid(zero) == structure_uid(negative_zero)


def test_initialize_deduplicates_and_round_trips_state(tmp_path):
    start, frames = _frames(3)
    store = ActiveStore(str(tmp_path / "al.db"))
    assert store.state() is None
    store.initialize(start, [*frames, frames[0].copy()], [], {"note": "test"})
    assert store.count(PENDING) == 3  # the copy of frames[0] is the same structure
    state = store.state()
    assert state == LoopState()
    state.iteration, state.history[0] = 2, {"iteration": 0, "labels": 3}
    added = store.add_candidates([frames[1], _frames(1, seed=5)[1][0]], state)
    assert added == 1
    again = ActiveStore(str(tmp_path / "al.db")).state()
    assert again.iteration == 2 and again.history == {0: {"iteration": 0, "labels": 3}}
    assert np.allclose(store.start_structure().positions, start.positions)


def test_record_label_moves_rows_once(tmp_path):
    start, frames = _frames(2)
    store = ActiveStore(str(tmp_path / "al.db"))
    store.initialize(start, frames, [], {})
    (first, atoms), (second, _) = store.pending()
    assert store.record_label(first, _result(atoms))
    assert not store.record_label(first, _result(atoms))  # no longer pending: nothing written twice
    assert store.record_label(second, LabelResult.failure(RuntimeError("SCF did not converge")))
    assert (store.count(LABELLED), store.count(PENDING), store.count(FAILED)) == (1, 0, 1)
    _, labels, uids = store.labelled()
    assert uids == [structure_uid(frames[0])]
    assert labels[0].energy == -1.5 and labels[0].stress[5] == pytest.approx(5e-3)
    assert store.failures()[0]["error"] == "RuntimeError: SCF did not converge"
    assert store.reference_calls() == 2


def test_record_label_is_atomic(tmp_path, monkeypatch):
    start, frames = _frames(1)
    store = ActiveStore(str(tmp_path / "al.db"))
    store.initialize(start, frames, [], {})
    ((row_id, atoms),) = store.pending()

    def crash(ids):
        raise KeyboardInterrupt("killed between write and delete")

    monkeypatch.setattr(store.db, "delete", crash)
    with pytest.raises(KeyboardInterrupt):
        store.record_label(row_id, _result(atoms))
    monkeypatch.undo()
    assert (store.count(LABELLED), store.count(PENDING)) == (0, 1)  # rolled back: still pending, once


def test_refuses_backend_without_transactions(tmp_path):
    with pytest.raises(ValueError, match="no transactions"):
        ActiveStore(str(tmp_path / "al.json"))


def test_training_reads_an_active_learning_db_as_its_labelled_rows(tmp_path):
    """``mlmat train --data active.db`` trains on the labels; candidates, failures and the state row are left out."""
    from ase_mlmat.data import DatasetError, load_labelled, read_structures

    start, frames = _frames(3)
    path = tmp_path / "al.db"
    store = ActiveStore(str(path))
    store.initialize(start, frames, [], {})
    with pytest.raises(DatasetError, match=r"no labelled structures yet .*3 pending"):
        load_labelled(path)
    (first, atoms), (second, _), _ = store.pending()
    store.record_label(first, _result(atoms))
    store.record_label(second, LabelResult.failure(RuntimeError("SCF did not converge")))
    structures, labels = load_labelled(path)
    assert [structure_uid(a) for a in structures] == [structure_uid(frames[0])]
    assert labels[0].energy == -1.5 and np.allclose(labels[0].forces, 1.0)
    assert len(read_structures(f"{path}@al_status=pending")) == 1  # a selection still reaches every row
    assert len(read_structures(f"{path}@id>0")) == 4  # the state row, one labelled, one failed, one pending
    # an index counts labelled rows only, so a slice never reaches the state row
    assert [structure_uid(a) for a in read_structures(path, index="0:10")] == [structure_uid(frames[0])]
    assert structure_uid(read_structures(f"{path}@-1")[0]) == structure_uid(frames[0])
    with pytest.raises(DatasetError, match="1 labelled structures, none at index 1"):
        read_structures(path, index="1")


def test_a_uid_that_reads_as_a_number_is_still_stored(tmp_path):
    from ase.db import connect

    from ase_mlmat.active.store import storable_uid

    assert storable_uid("0123456789abcdef01234567") == "0123456789abcdef01234567"
    db = connect(tmp_path / "uids.db")
    for numeric in ("98e016471847287710843662", "123456789012345678901234"):
        with pytest.raises(ValueError, match=r"interpreted as (float|int)"):
            db.write(bulk("Cu"), uid=numeric)  # the premise: ase.db refuses the raw digest
        uid = storable_uid(numeric)
        assert uid == "x" + numeric[1:]
        db.write(bulk("Cu"), uid=uid)
    assert len(db) == 2
