"""Verlet list with a skin: the same pairs, energies, forces and stress as a fresh search, rebuilt when it must be."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import units
from ase.build import bulk
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet

from ase_mlmat import MLCalculator, keys
from ase_mlmat.graph import StructureError, VerletList, atoms_to_graph

from ..conftest import pair_set, random_potential

CUTOFF, SKIN = 4.0, 0.6


def _pairs(graph) -> set[tuple[int, ...]]:
    i, j = graph[keys.EDGE_INDEX]
    return pair_set(i, j, graph[keys.CELL_SHIFTS].round().long())


def _fresh_pairs(atoms) -> set[tuple[int, ...]]:
    return _pairs(atoms_to_graph(atoms, CUTOFF, min_distance=0.0))


def _si():
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=4)
    return atoms


@pytest.mark.parametrize("cell", ["small", "si"])
def test_reused_pairs_equal_a_fresh_search(cell):
    """After moves up to skin/2 the stored list, filtered to the cutoff, holds exactly the fresh pairs."""
    atoms = bulk("Cu", "fcc", a=3.6) if cell == "small" else _si()  # small: one atom, its own images are neighbours
    verlet = VerletList(CUTOFF, SKIN, min_distance=0.0)
    verlet.graph(atoms)
    start = atoms.positions.copy()
    rng = np.random.default_rng(0)
    for _ in range(10):
        step = rng.normal(size=start.shape)
        step *= 0.999 * (SKIN / 2) / np.linalg.norm(step, axis=1, keepdims=True)  # every atom moves just under skin/2
        atoms.positions = start + step
        assert _pairs(verlet.graph(atoms)) == _fresh_pairs(atoms)
    assert verlet.builds == 1


def test_rebuilds_once_an_atom_moves_more_than_half_the_skin():
    atoms = _si()
    verlet = VerletList(CUTOFF, SKIN)
    verlet.graph(atoms)
    atoms.positions[3] += [0.99 * SKIN / 2, 0.0, 0.0]
    verlet.graph(atoms)
    assert verlet.builds == 1
    atoms.positions[3] += [0.02 * SKIN / 2, 0.0, 0.0]
    assert _pairs(verlet.graph(atoms)) == _fresh_pairs(atoms)
    assert verlet.builds == 2


@pytest.mark.parametrize("change", ["cell", "pbc", "species", "count", "wrap"])
def test_structural_changes_rebuild(change):
    atoms = _si()
    atoms.positions[0] = [0.001, 0.5, 0.5]  # just inside the cell: a small move out of it is wrapped back
    verlet = VerletList(CUTOFF, SKIN, elements=["Si", "Ge"], min_distance=0.0)
    verlet.graph(atoms)
    if change == "cell":  # a strain far below skin/2 in displacement: still rebuilt, the images moved
        atoms.set_cell(atoms.cell * (1 + 1e-9), scale_atoms=True)
    elif change == "pbc":
        atoms.pbc = (True, True, False)
    elif change == "species":
        atoms.symbols[2] = "Ge"
    elif change == "count":
        del atoms[5]
    else:
        atoms.positions[0, 0] -= 0.002
        atoms.wrap()  # the atom jumps by a lattice vector
    graph = verlet.graph(atoms)
    assert verlet.builds == 2
    assert _pairs(graph) == _fresh_pairs(atoms)
    fresh = atoms_to_graph(atoms, CUTOFF, elements=["Si", "Ge"])
    torch.testing.assert_close(graph[keys.SPECIES], fresh[keys.SPECIES], rtol=0, atol=0)
    torch.testing.assert_close(graph[keys.CELL], fresh[keys.CELL], rtol=0, atol=0)


def test_checks_still_run_when_the_list_is_reused():
    atoms = _si()
    verlet = VerletList(CUTOFF, SKIN, min_distance=2.2)
    verlet.graph(atoms)
    distances = atoms.get_all_distances(mic=True)[0]
    i, j = 0, int(np.argmin(np.where(distances > 0, distances, np.inf)))  # nearest neighbours, 2.2-2.4 Å apart
    bond = atoms.get_distance(i, j, mic=True, vector=True)
    atoms.positions[i] += 0.1 * bond / np.linalg.norm(bond)  # 0.2 Å closer: below 2.2 Å, each moved < skin/2
    atoms.positions[j] -= 0.1 * bond / np.linalg.norm(bond)
    with pytest.raises(StructureError, match="overlapping atoms"):
        verlet.graph(atoms)
    assert verlet.builds == 1  # refused on the reused list
    atoms.positions[1] = np.nan
    with pytest.raises(StructureError, match="non-finite"):
        verlet.graph(atoms)


def test_zero_skin_is_a_fresh_search_every_call():
    atoms = _si()
    verlet = VerletList(CUTOFF, 0.0, elements=["Si"])
    for _ in range(3):
        graph = verlet.graph(atoms)
        fresh = atoms_to_graph(atoms, CUTOFF, elements=["Si"])
        assert graph.keys() == fresh.keys()
        for key in graph:
            torch.testing.assert_close(graph[key], fresh[key], rtol=0, atol=0)
    assert verlet.builds == 3
    with pytest.raises(ValueError, match="skin"):
        VerletList(CUTOFF, -0.1)


def _assert_same_results(a, b, atoms, names=("energy", "forces", "stress")):
    """Equal to rounding: 1e-12 of the largest entry (edges are summed in another order)."""
    for name in names:
        x, y = np.asarray(a.get_property(name, atoms)), np.asarray(b.get_property(name, atoms))
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12 * max(1.0, np.abs(y).max()), err_msg=name)


@pytest.mark.parametrize("name", ["mlearn-Si", "mlearn-Cu"])
def test_nve_md_equals_a_fresh_list_at_every_step(name):
    """100 velocity Verlet steps with a small skin, so that the list is rebuilt several times on the way."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True) if name == "mlearn-Si" else bulk("Cu", "fcc", a=3.61, cubic=True)
    atoms = atoms * (2, 2, 1)
    atoms.rattle(0.05, seed=5)
    thermalize_momenta(atoms, 1500, rng=np.random.default_rng(0))
    Stationary(atoms)
    skinned = MLCalculator(name, dtype="float64", skin=0.2)
    fresh = MLCalculator(name, dtype="float64", skin=0.0)
    atoms.calc = skinned
    dyn = VelocityVerlet(atoms, timestep=2 * units.fs)
    builds_at_step = []

    def compare():
        builds_at_step.append(skinned.neighbors.builds)
        _assert_same_results(skinned, fresh, atoms.copy())

    dyn.attach(compare, interval=1)
    dyn.run(100)
    rebuilds = builds_at_step[-1] - 1
    assert 0 < rebuilds < 100, rebuilds
    assert fresh.neighbors.builds == len(builds_at_step)  # every step compared, those after a rebuild included


def test_committee_shares_one_list(si_bulk):
    members = [random_potential(seed=s) for s in range(2)]
    skinned = MLCalculator(members, dtype="float64", skin=0.5)
    fresh = MLCalculator(members, dtype="float64", skin=0.0)
    rng = np.random.default_rng(1)
    start = si_bulk.positions.copy()
    for _ in range(4):
        si_bulk.positions = start + rng.normal(scale=0.05, size=start.shape)
        _assert_same_results(skinned, fresh, si_bulk, ("energy", "forces", "stress", "forces_std", "stress_std"))
    assert skinned.neighbors.builds == 1
