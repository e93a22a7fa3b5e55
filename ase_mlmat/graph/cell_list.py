"""Linked-cell neighbour search in torch: O(N) time and memory, on the device of the positions.

Periodic directions are handled by explicit images: atoms are wrapped into the cell, and every
image that lies within the cutoff of the cell (in fractional terms, within ``cutoff / height`` of a
face) becomes a search point. Points are sorted into cubic bins of edge ≥ cutoff; each atom's
neighbours are then among the points of its own and the 26 adjacent bins, found by binary search
in the sorted bin ids, so no grid of bins is ever allocated (vacuum costs nothing).
"""

from __future__ import annotations

import torch

# Bins per direction at most: keeps linear bin ids far from int64 overflow for any extent.
_MAX_BINS_PER_DIM = 1 << 20
_ADJACENT = torch.tensor([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)])


def face_heights(cell: torch.Tensor) -> torch.Tensor:
    """Distances (Å) between opposite faces of the cell along each lattice direction, (..., 3) for (..., 3, 3)."""
    volume = torch.abs(torch.linalg.det(cell)).unsqueeze(-1)
    cross = torch.stack(
        [
            torch.linalg.cross(cell[..., 1, :], cell[..., 2, :]),
            torch.linalg.cross(cell[..., 2, :], cell[..., 0, :]),
            torch.linalg.cross(cell[..., 0, :], cell[..., 1, :]),
        ],
        dim=-2,
    )
    return volume / torch.linalg.norm(cross, dim=-1)


def search_basis(cell: torch.Tensor, pbc: torch.Tensor) -> torch.Tensor:
    """The cell with each non-periodic row replaced by a unit vector normal to the periodic rows (and to
    the replacements before it).

    Non-periodic lattice vectors play no part in the search (no images along them) and may be zero, as
    in a slab with cell ``[a, b, 0]``; this basis has the same periodic rows and a non-zero volume.
    """
    if bool(pbc.all()):
        return cell
    orthonormal: list[torch.Tensor] = []
    for row in (cell[d] for d in range(3) if pbc[d]):  # Gram-Schmidt over the periodic rows
        for q in orthonormal:
            row = row - (row @ q) * q
        orthonormal.append(row / torch.linalg.norm(row))
    out = cell.clone()
    for d in range(3):
        if pbc[d]:
            continue
        # the Cartesian axis that sticks out most from the span so far
        axes = torch.eye(3, dtype=cell.dtype, device=cell.device)
        residuals = [a - sum(((a @ q) * q for q in orthonormal), torch.zeros_like(a)) for a in axes]
        best = max(residuals, key=lambda v: float(torch.linalg.norm(v)))
        out[d] = best / torch.linalg.norm(best)
        orthonormal.append(out[d])
    return out


def _images(pos: torch.Tensor, cells: torch.Tensor, pbcs: torch.Tensor, batch: torch.Tensor, cutoff: float):
    """Wrapped positions (N, 3), their integer wrap (N, 3), and the search points:
    positions (P, 3), atom index (P,), image shift relative to the wrapped atom (P, 3).

    ``cells`` (B, 3, 3) and ``pbcs`` (B, 3) of the structures, ``batch`` (N,) the structure of each atom."""
    n, device = len(pos), pos.device
    wrap = torch.zeros((n, 3), dtype=torch.long, device=device)
    if not bool(pbcs.any()):
        return pos, wrap, pos, torch.arange(n, device=device), wrap
    # the usual case, all periodic, needs no loop over structures
    basis = cells if bool(pbcs.all()) else torch.stack([search_basis(c, p) for c, p in zip(cells, pbcs)])
    volume = torch.abs(torch.linalg.det(basis))
    if not bool((volume > 0.0).all()):  # zero, or NaN from a zero periodic row
        raise ValueError("periodic neighbour search needs independent periodic lattice vectors")
    periodic = pbcs[batch]  # (N, 3)
    atom_basis = basis[batch]  # (N, 3, 3)
    frac = torch.linalg.solve(atom_basis.transpose(1, 2), pos.unsqueeze(-1)).squeeze(-1)
    wrap = -torch.floor(frac).to(torch.long) * periodic  # moves periodic coordinates into [0, 1)
    frac = frac + wrap
    wrapped = torch.einsum("ni,nij->nj", frac, atom_basis)
    reach = cutoff * (1 + 1e-9) / face_heights(basis)  # (B, 3) the padding in fractional units, room for rounding
    counts = torch.where(pbcs, torch.ceil(reach), torch.zeros_like(reach)).amax(dim=0).to(torch.long).tolist()
    ranges = [torch.arange(-c, c + 1, device=device) for c in counts]
    shifts = torch.stack(torch.meshgrid(*ranges, indexing="ij"), dim=-1).reshape(-1, 3)  # (S, 3)
    image_frac = frac[None, :, :] + shifts[:, None, :]  # (S, N, 3)
    atom_reach = reach[batch]
    within = (image_frac > -atom_reach) & (image_frac < 1.0 + atom_reach)
    unshifted = (shifts == 0)[:, None, :]  # along a non-periodic direction: only the atom itself
    inside = torch.where(periodic, within, unshifted)  # (S, N, 3)
    shift_id, atom = torch.nonzero(inside.all(dim=-1), as_tuple=True)
    points = wrapped[atom] + torch.einsum("pi,pij->pj", shifts[shift_id].to(pos.dtype), cells[batch[atom]])
    return wrapped, wrap, points, atom, shifts[shift_id]


def cell_list_pairs(
    positions: torch.Tensor,
    cell: torch.Tensor,
    pbc: torch.Tensor,
    cutoff: float,
    batch: torch.Tensor | None = None,
):
    """Full list of pairs ``(i, j, shift)`` with ``|r_j - r_i + shift @ cell| < cutoff``, i ≠ j or shift ≠ 0.

    Several structures are searched at once when ``batch`` gives each atom's structure: each gets its own bins,
    numbered after the previous structure's, so pairs never cross structures and no loop runs over them.

    Args:
        positions: (N, 3) Å; cell: (3, 3), or (B, 3, 3) with ``batch``, Å, rows are lattice vectors;
        pbc: (3,) or (B, 3) bool; cutoff: Å; batch: (N,) int64 structure index of each atom.

    Returns:
        centre indices (E,), neighbour indices (E,), integer shifts (E, 3), on the positions' device.
    """
    device = positions.device
    pos = positions.detach().double()
    empty = torch.zeros(0, dtype=torch.long, device=device)
    if len(pos) == 0:
        return empty, empty, torch.zeros((0, 3), dtype=torch.long, device=device)
    cells = cell.detach().double().to(device).reshape(-1, 3, 3)  # (B, 3, 3)
    pbcs = pbc.to(device).bool().reshape(-1, 3)
    if batch is None:
        batch = torch.zeros(len(pos), dtype=torch.long, device=device)
    wrapped, wrap, points, point_atom, point_shift = _images(pos, cells, pbcs, batch, cutoff)
    point_batch = batch[point_atom]
    n_structures = cells.shape[0]
    rows = point_batch[:, None].expand(-1, 3)
    low = torch.full((n_structures, 3), torch.inf, dtype=pos.dtype, device=device).scatter_reduce(
        0, rows, points, "amin"
    )
    high = torch.full_like(low, -torch.inf).scatter_reduce(0, rows, points, "amax")
    extent = torch.nan_to_num(high - low, nan=0.0)  # (B, 3); 0 for a structure without atoms
    low = torch.nan_to_num(low, posinf=0.0)
    edge = torch.clamp(extent / _MAX_BINS_PER_DIM, min=cutoff * (1 + 1e-9))  # bin edge (B, 3), over the cutoff
    n_bins = torch.floor(extent / edge).to(torch.long) + 1
    strides = torch.stack([n_bins[:, 1] * n_bins[:, 2], n_bins[:, 2], torch.ones_like(n_bins[:, 2])], dim=1)
    size = n_bins.prod(dim=1)
    first_bin = torch.cumsum(size, 0) - size  # (B,) each structure's bins follow the previous one's

    def bin_of(x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.floor((x - low[b]) / edge[b]).to(torch.long), n_bins[b] - 1)

    point_ids = first_bin[point_batch] + (bin_of(points, point_batch) * strides[point_batch]).sum(dim=1)
    point_ids, order = torch.sort(point_ids)
    # For every atom, the 27 bins around its own: the range of sorted points in each.
    around = bin_of(wrapped, batch)[:, None, :] + _ADJACENT.to(device)[None, :, :]  # (N, 27, 3)
    valid = ((around >= 0) & (around < n_bins[batch][:, None, :])).all(dim=-1)
    ids = first_bin[batch][:, None] + (around * strides[batch][:, None, :]).sum(dim=-1)
    first = torch.searchsorted(point_ids, ids)
    count = torch.where(valid, torch.searchsorted(point_ids, ids, right=True) - first, 0)
    slots = torch.arange(int(count.max()), device=device)
    present = slots[None, None, :] < count[:, :, None]  # (N, 27, M)
    centre, bin_k, slot = torch.nonzero(present, as_tuple=True)
    point = order[first[centre, bin_k] + slot]
    near = points[point] - wrapped[centre]
    close = (near * near).sum(dim=1) < (cutoff * (1 + 1e-9)) ** 2  # most candidates go here, before more gathers
    centre, point = centre[close], point[close]
    atom = point_atom[point]
    shift = point_shift[point] + wrap[atom] - wrap[centre]
    # The distance from the input positions, as the graph will compute it, so that a pair at the cutoff
    # is decided as there (wrapping rounds).
    offset = torch.einsum("ei,eij->ej", shift.to(pos.dtype), cells[batch[centre]])
    diff = pos[atom] - pos[centre] + offset
    keep = ((diff * diff).sum(dim=1) < cutoff * cutoff) & ((atom != centre) | (shift != 0).any(dim=1))
    return centre[keep], atom[keep], shift[keep]
