"""Reference labelling: serial and Dask give the same labels; bad references become failure records."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_mlmat.active import (
    ActiveConfig,
    ActiveLearner,
    ActiveStore,
    ExplorationConfig,
    label_structures,
    structure_uid,
)
from ase_mlmat.active.loop import rattled_copies


class RaisingEMT(EMT):
    def calculate(self, *args, **kwargs):
        raise RuntimeError("SCF did not converge")


class NaNEMT(EMT):
    def calculate(self, *args, **kwargs):
        super().calculate(*args, **kwargs)
        self.results["forces"][0, 0] = np.nan


def _structures(n=6):
    start = bulk("Cu", cubic=True) * (2, 1, 1)
    return start, rattled_copies(start, n, rattle_A=0.05, strain=0.01, rng=np.random.default_rng(1))


def test_bad_references_are_failure_records():
    _, structures = _structures(2)
    ok, raised = label_structures(structures, EMT)[0], label_structures(structures, RaisingEMT)[0]
    assert ok.ok and ok.forces.shape == (8, 3) and ok.stress.shape == (6,)
    assert not raised.ok and raised.error == "RuntimeError: SCF did not converge"
    nan = label_structures(structures, NaNEMT)[0]
    assert not nan.ok and "non-finite forces" in nan.error
    with pytest.raises(ValueError, match="reference failed"):
        _ = nan.labels
    with pytest.raises(ValueError, match="cannot import"):
        label_structures(structures, "no_such_module:Calc")


def test_dask_labels_equal_serial_labels(tmp_path):
    distributed = pytest.importorskip("distributed")
    start, structures = _structures()
    serial = label_structures(structures, "ase.calculators.emt:EMT")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            parallel = label_structures(structures, "ase.calculators.emt:EMT", client=client)
            # Through the loop's store: labels written once, by this process, as they arrive.
            config = ActiveConfig(db=str(tmp_path / "dask.db"), exploration=ExplorationConfig(num_seed=0))
            learner = ActiveLearner(config, client=client, log=None)
            learner.store.initialize(start, structures, [], config.to_dict())
            assert learner.label_pending() == (len(structures), 0)
            assert learner.label_pending() == (0, 0)
    finally:
        cluster.close()
    for a, b in zip(serial, parallel):
        assert a.energy == b.energy
        assert np.array_equal(a.forces, b.forces) and np.array_equal(a.stress, b.stress)
    _, labels, uids = ActiveStore(str(tmp_path / "dask.db")).labelled()
    by_uid = {structure_uid(s): r for s, r in zip(structures, serial)}
    assert sorted(uids) == sorted(by_uid)
    for uid, label in zip(uids, labels):
        assert label.energy == by_uid[uid].energy and np.array_equal(label.forces, by_uid[uid].forces)
