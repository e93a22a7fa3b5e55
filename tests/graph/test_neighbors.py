"""Neighbour lists: backends agree with ASE's, for small cells, slabs and molecules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk, fcc111, molecule
from ase.neighborlist import primitive_neighbor_list

from ase_mlmat import keys
from ase_mlmat.graph import TorchNeighborList, VesinNeighborList, atoms_to_graph, collate


def _structures():
    small = bulk("Cu", "fcc", a=3.6)  # 1 atom: sees its own images many times
    small.rattle(0.05, seed=1)
    skewed = bulk("Si", "diamond", a=5.43) * (2, 1, 1)
    skewed.rattle(0.1, seed=2)
    slab = fcc111("Cu", (2, 2, 3), vacuum=6.0)
    slab.pbc = (True, True, False)
    mol = molecule("CH3CH2OH")
    outside = bulk("Cu", "fcc", a=3.6, cubic=True)
    outside.positions += [7.5, -4.0, 11.0]  # atoms far outside the cell
    return {"small": small, "skewed": skewed, "slab": slab, "molecule": mol, "outside": outside}


def _as_set(i, j, shifts):
    return sorted(zip(np.asarray(i).tolist(), np.asarray(j).tolist(), map(tuple, np.asarray(shifts).tolist())))


@pytest.mark.parametrize("name", list(_structures()))
@pytest.mark.parametrize("backend", [VesinNeighborList(), TorchNeighborList(chunk_size=3)])
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
    assert batch[keys.EDGE_INDEX][:, ga[keys.EDGE_INDEX].shape[1]:].min() >= 2
