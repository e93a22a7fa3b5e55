"""A batch of structures gives the same results as each structure alone; far-apart parts add up."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule

from ase_mlmat import MLCalculator, keys
from ase_mlmat.graph import atoms_to_graph, collate


def test_batch_equals_single(potential):
    structures = [bulk("Si", "diamond", a=5.43), bulk("Cu", "fcc", a=3.6) * (2, 1, 1), molecule("CH4")]
    structures[0].rattle(0.05, seed=0)
    structures[2].center(vacuum=3.0)
    graphs = [atoms_to_graph(a, potential.cutoff, elements=potential.elements) for a in structures]
    batched = potential(collate(graphs))
    offset = 0
    for k, g in enumerate(graphs):
        single = potential(g)
        n = len(structures[k])
        assert batched[keys.ENERGY][k].item() == pytest.approx(single[keys.ENERGY].item(), rel=1e-12)
        force_scale = single[keys.FORCES].abs().max().item()
        torch.testing.assert_close(
            batched[keys.FORCES][offset : offset + n], single[keys.FORCES], rtol=1e-10, atol=1e-9 + 1e-12 * force_scale
        )
        stress_scale = single[keys.STRESS].abs().max().item()
        torch.testing.assert_close(
            batched[keys.STRESS][k], single[keys.STRESS][0], rtol=1e-10, atol=1e-10 + 1e-12 * stress_scale
        )
        offset += n


def test_far_apart_molecules_add_up(potential):
    calc = MLCalculator(potential, dtype="float64")
    a, b = molecule("H2O"), molecule("CH4")
    b.positions += [20.0, 0.0, 0.0]
    both = a + b
    energies = []
    for atoms in (a, b, both):
        atoms.calc = calc
        energies.append(atoms.get_potential_energy())
    assert energies[2] == pytest.approx(energies[0] + energies[1], rel=1e-12)
    scale = np.abs(a.get_forces()).max()
    np.testing.assert_allclose(both.get_forces()[: len(a)], a.get_forces(), rtol=1e-10, atol=1e-12 * scale)
