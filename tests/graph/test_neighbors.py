"""Neighbour lists: backends agree with ASE's, for small cells, slabs and molecules."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from ase.build import bulk, fcc111, molecule
from ase.neighborlist import primitive_neighbor_list

from ase_mlmat import keys
from ase_mlmat.graph import (
    TorchCellList,
    TorchNeighborList,
    VesinNeighborList,
    VesinTorchNeighborList,
    atoms_to_graph,
    collate,
)

from ..conftest import pair_set


def _structures():
    small = bulk("Cu", "fcc", a=3.6)  # 1 atom: sees its own images many times
    small.rattle(0.05, seed=1)
    skewed = bulk("Si", "diamond", a=5.43) * (2, 1, 1)
    skewed.rattle(0.1, seed=2)
    slab = fcc111("Cu", (2, 2, 3), vacuum=6.0)
    slab.pbc = (True, True, False)
    flat = fcc111("Cu", (2, 2, 3), vacuum=None)  # periodic in-plane, third lattice vector zero
    flat.pbc = (True, True, False)
    flat.rattle(0.05, seed=3)
    mol = molecule("CH3CH2OH")
    outside = bulk("Cu", "fcc", a=3.6, cubic=True)
    outside.positions += [7.5, -4.0, 11.0]  # atoms far outside the cell
    return {"small": small, "skewed": skewed, "slab": slab, "flat_slab": flat, "molecule": mol, "outside": outside}


_VESIN_TORCH = pytest.param(
    VesinTorchNeighborList(),
    marks=pytest.mark.skipif(importlib.util.find_spec("vesin_torch") is None, reason="vesin-torch is not installed"),
)


@pytest.mark.parametrize("name", list(_structures()))
@pytest.mark.parametrize(
    "backend", [VesinNeighborList(), TorchNeighborList(chunk_size=3), TorchCellList(), _VESIN_TORCH]
)
def test_pairs_match_ase(name, backend):
    atoms = _structures()[name]
    cutoff = 4.5
    i_ref, j_ref, s_ref = primitive_neighbor_list(
        "ijS", atoms.pbc, atoms.cell.array, atoms.positions, cutoff, self_interaction=False
    )
    i, j, s = backend.pairs(
        torch.tensor(atoms.positions), torch.tensor(atoms.cell.array), torch.tensor(atoms.pbc), cutoff
    )
    assert len(i) == len(i_ref) > 0
    # Shifts may differ by backend when atoms lie outside the cell; compare the vectors.
    vec = atoms.positions[j] - atoms.positions[i] + s.numpy() @ atoms.cell.array
    vec_ref = atoms.positions[j_ref] - atoms.positions[i_ref] + s_ref @ atoms.cell.array
    key = lambda i, j, v: sorted(zip(i.tolist(), j.tolist(), np.round(v, 6).tolist()))  # noqa: E731
    assert key(np.asarray(i), np.asarray(j), vec) == key(i_ref, j_ref, vec_ref)


@pytest.mark.parametrize("cutoff", [2.0, 5.0, 9.0])
def test_cell_list_finds_the_vesin_pairs_in_skewed_and_sparse_boxes(cutoff):
    rng = np.random.default_rng(4)
    skewed = [[9.0, 0.0, 0.0], [4.0, 8.0, 0.0], [-3.0, 2.5, 7.0]]  # strongly triclinic
    boxes = [
        (rng.uniform(-5, 20, (150, 3)), skewed, (True, True, True)),  # atoms inside and far outside the cell
        (rng.uniform(0, 9, (60, 3)), skewed, (True, False, True)),
        (rng.uniform(0, 400, (80, 3)), np.zeros((3, 3)), (False, False, False)),  # sparse, no cell
        (rng.uniform(0, 2, (3, 3)), np.diag([2.1, 2.2, 2.3]), (True, True, True)),  # cell far below the cutoff
    ]
    for positions, cell, pbc in boxes:
        args = torch.tensor(positions), torch.tensor(np.asarray(cell, dtype=float)), torch.tensor(pbc), cutoff
        assert pair_set(*TorchCellList().pairs(*args)) == pair_set(*VesinNeighborList().pairs(*args))


def test_cell_list_checks_a_bounded_number_of_candidates():
    from ase_mlmat.graph import cell_list

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (8, 8, 8)  # 2048 atoms
    atoms.rattle(0.05, seed=5)
    seen = []
    original = cell_list._images

    def spy(*args):
        out = original(*args)
        seen.append(len(out[2]))
        return out

    cell_list._images = spy
    try:
        i, _, _ = cell_list.cell_list_pairs(
            torch.tensor(atoms.positions), torch.tensor(atoms.cell.array), torch.tensor(atoms.pbc), 4.0
        )
    finally:
        cell_list._images = original
    assert len(i) == 2048 * 18  # 12 + 6 neighbours within 4 Å in fcc Cu
    assert seen[0] < 3 * len(atoms)  # the atoms and a shell of images one cutoff thick (×2.1 here), not 27 copies


def test_small_cell_counts_images():
    atoms = bulk("Cu", "fcc", a=3.6)  # one atom per cell
    g = atoms_to_graph(atoms, 4.0)
    # fcc: 12 first + 6 second neighbours within 4 Å, all periodic images of atom 0.
    assert g[keys.EDGE_INDEX].shape[1] == 18
    assert bool((g[keys.EDGE_INDEX] == 0).all())


def test_collate_offsets_indices():
    a = bulk("Cu", "fcc", a=3.6) * (2, 1, 1)
    b = molecule("H2O")
    ga, gb = atoms_to_graph(a, 3.0), atoms_to_graph(b, 3.0)
    batch = collate([ga, gb])
    assert batch[keys.BATCH].tolist() == [0, 0, 1, 1, 1]
    assert batch[keys.EDGE_INDEX].shape[1] == ga[keys.EDGE_INDEX].shape[1] + gb[keys.EDGE_INDEX].shape[1]
    assert batch[keys.EDGE_INDEX][:, ga[keys.EDGE_INDEX].shape[1] :].min() >= 2


@pytest.mark.parametrize("names", [("small", "skewed", "outside"), tuple(_structures())])
def test_batched_cell_list_equals_one_search_per_structure(names):
    """A batch in one linked-cell search (its own bins per structure) gives each structure's pairs, and none across."""
    structures = [_structures()[name] for name in names]
    positions = torch.tensor(np.concatenate([a.positions for a in structures]))
    cells = torch.tensor(np.stack([a.cell.array for a in structures]))
    pbcs = torch.tensor(np.stack([a.pbc for a in structures]))
    batch = torch.cat([torch.full((len(a),), k) for k, a in enumerate(structures)])
    batched = TorchCellList().batch_pairs(positions, cells, pbcs, batch, 4.5)
    one_by_one = VesinNeighborList().batch_pairs(positions, cells, pbcs, batch, 4.5)  # the default: a loop
    assert pair_set(*batched) == pair_set(*one_by_one)
    assert torch.equal(batch[batched[0]], batch[batched[1]])
