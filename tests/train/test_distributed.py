"""Training on several processes (torchrun, gloo on the CPU): the one-process model of the same global batches."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from ase.io import write

from ase_mlmat import load_potential
from ase_mlmat.data import load_labelled
from ase_mlmat.graph import collate
from ase_mlmat.train import TrainConfig, distributed, train
from ase_mlmat.train.losses import potential_terms
from ase_mlmat.train.potential import build_model
from ase_mlmat.train.resume import save_run
from ase_mlmat.train.targets import labelled_graphs
from ase_mlmat.train.trainer import Trainer, TrainResult, state_path

from .test_training_run import TINY, emt_copper

pytestmark = [
    pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without torch.distributed"),
    pytest.mark.filterwarnings("ignore:(forces|stress) missing in:UserWarning"),  # missing on purpose
]


@pytest.fixture(scope="module")
def copper(tmp_path_factory):
    """11 EMT Cu cells of 4 and 8 atoms; a third without forces, a third without stress (masks matter)."""
    frames = emt_copper(11, seed=5)
    for k, atoms in enumerate(frames):
        if k % 3 == 1:
            del atoms.calc.results["forces"]
        if k % 3 == 2:
            del atoms.calc.results["stress"]
    path = tmp_path_factory.mktemp("data") / "cu.extxyz"
    write(path, frames)
    return path


def _config(data, output, **kw) -> TrainConfig:
    base = dict(
        data=[str(data)],
        model=TINY,
        epochs=3,
        batch_size=4,  # 9 training structures: batches of 4, 4 and 1 (the last leaves one process empty)
        learning_rate=5e-3,
        val_fraction=0.2,
        dtype="float64",
        progress=False,
        plots=False,
        device="cpu",
        checkpoint_every=1,
        output=str(output),
    )
    base.update(kw)
    return TrainConfig.from_dict(base)


def test_split_batch_loss_adds_up_to_the_batch_loss(copper):
    """Σ over shares of (weighted sums / counts of the whole batch) is the loss of the whole batch, masks and all."""
    config = _config(copper, "unused.pt")
    structures, labels = load_labelled(config.data)
    model = build_model(config, structures, labels).double()
    graphs = labelled_graphs(structures[:7], labels[:7], model.elements, model.cutoff)
    task = config.task()
    assert {t.output for t in task.terms} >= {"forces", "stress"}
    whole = task.loss(model, collate(graphs), create_graph=False)
    parts = [task.loss_sums(model, collate(share), create_graph=False) for share in (graphs[:2], graphs[2:])]
    counts = parts[0][1] + parts[1][1]
    split = sum((sums / counts.clamp(min=1)).sum() for sums, _ in parts)
    assert float(split.detach()) == pytest.approx(float(whole.detach()), rel=1e-12)
    # the counts are the element counts of each term's mean: structures (E/N), labelled force components, stress
    with_forces = sum(3 * len(structures[k]) for k in range(7) if labels[k].forces is not None)
    with_stress = sum(9 for k in range(7) if labels[k].stress is not None)
    assert counts.tolist() == [7, with_forces, with_stress]
    for loss in ("l1", "huber"):
        task.terms = tuple(potential_terms(loss=loss))
        whole = task.loss(model, collate(graphs), create_graph=False)
        parts = [task.loss_sums(model, collate(share), create_graph=False) for share in (graphs[:3], graphs[3:])]
        split = sum((sums / (parts[0][1] + parts[1][1])).sum() for sums, _ in parts)
        assert float(split.detach()) == pytest.approx(float(whole.detach()), rel=1e-12)


def test_share_covers_the_batch_once(monkeypatch):
    for count in (0, 1, 4, 7):
        shares = []
        for rank in range(3):
            monkeypatch.setenv("WORLD_SIZE", "3")
            monkeypatch.setenv("RANK", str(rank))
            shares.extend(range(count)[distributed.share(count)])
        assert shares == list(range(count))


def test_local_device(monkeypatch):
    """One GPU per process, at LOCAL_RANK; an explicit index or the CPU stays as given."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.local_device(torch.device("cuda")) == torch.device("cuda", 1)
    assert distributed.local_device(torch.device("cuda", 0)) == torch.device("cuda", 0)
    assert distributed.local_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert distributed.local_device(torch.device("cuda")) == torch.device("cuda")


def test_only_rank_0_writes(copper, tmp_path, monkeypatch):
    """The training state and the saved model are rank 0's to write; another rank writes nothing."""
    config = _config(copper, tmp_path / "model.pt")
    structures, labels = load_labelled(config.data)
    model = build_model(config, structures, labels)
    monkeypatch.setattr(distributed, "rank", lambda: 1)
    trainer = Trainer(model, config, torch.device("cpu"), torch.float64, state_path=state_path(config.output))
    assert trainer.save_state() is None
    result = TrainResult(model, trainer.history, {}, {})
    save_run(result, tmp_path / "model.pt", {"config": {}}, {}, "interrupted")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(distributed, "rank", lambda: 0)
    assert trainer.save_state() == state_path(config.output)


def largest_weight_difference(path_a, path_b) -> float:
    """Largest |a - b| of two saved models' weights, as stored (float64 here), over the largest |a| of the tensor."""
    a, b = (torch.load(p, weights_only=True)["members"][0] for p in (path_a, path_b))
    assert a.keys() == b.keys()
    return max(
        float((a[k] - b[k]).abs().max()) / max(float(a[k].abs().max()), 1e-300) for k in a if a[k].is_floating_point()
    )


def _torchrun(*args: str) -> list[str]:
    """The command line of ``torchrun --standalone --nproc-per-node 2 $(which mlmat) ARGS`` (a free local port)."""
    mlmat = shutil.which("mlmat") or pytest.skip("the mlmat script is not on PATH")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", mlmat, *args]


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _finish(launcher: subprocess.Popen, timeout: float = 60) -> bytes:
    """torchrun's stderr once it ends; if it hangs (processes that disagree), SIGTERM stops it and its workers."""
    try:
        return launcher.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        launcher.terminate()
        launcher.communicate(timeout=60)
        raise


def test_torchrun_two_processes_train_the_one_process_model(copper, tmp_path):
    """`torchrun --nproc-per-node 2 mlmat train` gives the model one process gives on the same global batches."""
    out = tmp_path / "two.pt"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(_config(copper, out).to_dict()))
    proc = subprocess.run(_torchrun("train", str(cfg)), capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count(f"saved {out}") == 1  # rank 0 reports
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.yaml", "two.json", "two.pt", "two.state.pt"]

    torch.set_num_threads(1)
    one = train(_config(copper, tmp_path / "one.pt"))
    assert one.history.best_epoch == torch.load(state_path(out), weights_only=True)["history"]["best_epoch"]
    worst = largest_weight_difference(tmp_path / "one.pt", out)
    print(f"largest weight difference, 2 processes vs 1, relative to the tensor's largest weight: {worst:.2e}")
    assert worst < 1e-10  # rounding (float64); DistributedDataParallel-style per-process means give ~1e-2
    state = torch.load(state_path(out), weights_only=True)
    assert np.allclose(state["history"]["val_loss"], one.history.val_loss, rtol=1e-9)


def test_torchrun_sigterm_stops_all_processes_and_resumes(copper, tmp_path):
    """SIGTERM to torchrun (as SLURM sends before the time limit): every process stops after the same step, rank 0
    saves the best model and the state, and ``--resume`` under torchrun goes on from there."""
    out = tmp_path / "sig.pt"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(_config(copper, out, epochs=10000).to_dict()))
    proc = subprocess.Popen(_torchrun("train", str(cfg)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + 120
    while not state_path(out).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    stderr = _finish(proc)
    assert stderr.decode().count("mlmat train: interrupted by SIGTERM") == 1, stderr.decode()[-3000:]
    state = torch.load(state_path(out), weights_only=True)
    assert state["history"]["stopped"] == "SIGTERM"
    assert load_potential(out).elements == ["Cu"]
    epochs = int(state["epoch"]) + 1
    resumed = subprocess.run(
        _torchrun("train", str(cfg), "--resume", "--epochs", str(epochs)), capture_output=True, text=True, env=ENV
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(state_path(out), weights_only=True)["epoch"] == epochs


def _worker_of_rank(launcher: subprocess.Popen, rank: int) -> int:
    """The pid of torchrun's worker process of ``rank`` (Linux: read from /proc)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for pid in Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split():
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if f"RANK={rank}".encode() in environ:
                return int(pid)
        time.sleep(0.1)
    raise TimeoutError(f"no worker of rank {rank}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker through /proc")
def test_a_signal_to_one_process_stops_both_after_the_same_step(copper, tmp_path):
    """SIGINT to rank 1 alone: the processes agree at the next sum over them, and rank 0 saves and reports."""
    out = tmp_path / "one-signal.pt"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(_config(copper, out, epochs=10000).to_dict()))
    proc = subprocess.Popen(_torchrun("train", str(cfg)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + 120
    while not state_path(out).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        os.kill(_worker_of_rank(proc, 1), signal.SIGINT)
    finally:
        stderr = _finish(proc)
    assert stderr.decode().count("mlmat train: interrupted by SIGINT") == 1, stderr.decode()[-3000:]
    assert torch.load(state_path(out), weights_only=True)["history"]["stopped"] == "SIGINT"
    assert load_potential(out).elements == ["Cu"]


BATCH_NORM_WORKER = """
import sys, torch
from torch import nn
from ase_mlmat.train import TrainConfig, distributed
from ase_mlmat.train.losses import LossTerm, Task
from ase_mlmat.train.trainer import Trainer

class Rows(Task):
    def collate(self, chunk):
        return {k: torch.stack([g[k] for g in chunk]) for k in chunk[0]}
    def outputs(self, model, batch, *, create_graph):
        return {"y": model(batch["x"])[:, 0]}
    def metrics(self, model, graphs, *, device="cpu", dtype=torch.float64):
        return {}

torch.manual_seed(0)
x = torch.randn(22, 4, dtype=torch.float64)
data = [{"x": row, "y": row.sum() ** 2} for row in x]
model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1))
config = TrainConfig(epochs=3, batch_size=6, learning_rate=1e-2, progress=False, checkpoint_every=0)
trainer = Trainer(model, config, torch.device("cpu"), torch.float64, task=Rows([LossTerm("y", "y")]))
trainer.fit(data[:18], data[18:])
states = {"model": trainer.model.state_dict(), "ema": trainer.ema.state_dict()}
torch.save(states, sys.argv[1] + f"/rank{distributed.rank()}.pt")
"""


def test_batch_norm_statistics_agree_between_processes(tmp_path):
    """Batch norm normalises over each process's share; its running statistics are averaged after every step, so
    both processes end with the same model and EMA, bit for bit."""
    worker = tmp_path / "worker.py"
    worker.write_text(BATCH_NORM_WORKER)
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    proc = subprocess.run([*launch, str(worker), str(tmp_path)], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for part in ("model", "ema"):
        for name, value in first[part].items():
            assert torch.equal(value, second[part][name]), (part, name)
    assert float(first["model"]["1.running_mean"].abs().max()) > 0  # the statistics moved
