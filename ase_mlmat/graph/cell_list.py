"""Linked-cell neighbour search in torch: O(N) time and memory, on the device of the positions.

Periodic directions are handled by explicit images: atoms are wrapped into the cell, and every
image that lies within the cutoff of the cell (in fractional terms, within ``cutoff / height`` of a
face) becomes a search point. Points are sorted into cubic bins of edge ≥ cutoff; each atom's
neighbours are then among the points of its own and the 26 adjacent bins, found by binary search
in the sorted bin ids, so no grid of bins is ever allocated (vacuum costs nothing).
"""

from __future__ import annotations

import math

import torch

# Bins per direction at most: keeps linear bin ids far from int64 overflow for any extent.
_MAX_BINS_PER_DIM = 1 << 20
_ADJACENT = torch.tensor([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)])


def face_heights(cell: torch.Tensor) -> torch.Tensor:
    """Distances (Å) between opposite faces of the cell along each lattice direction, (3,)."""
    volume = torch.abs(torch.linalg.det(cell))
    cross = torch.stack(
        [
            torch.linalg.cross(cell[1], cell[2]),
            torch.linalg.cross(cell[2], cell[0]),
            torch.linalg.cross(cell[0], cell[1]),
        ]
    )
    return volume / torch.linalg.norm(cross, dim=1)


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


def _images(pos: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor, cutoff: float):
    """Wrapped positions (N, 3), their integer wrap (N, 3), and the search points:
    positions (P, 3), atom index (P,), image shift relative to the wrapped atom (P, 3)."""
    n, device = len(pos), pos.device
    wrap = torch.zeros((n, 3), dtype=torch.long, device=device)
    if not bool(pbc.any()):
        return pos, wrap, pos, torch.arange(n, device=device), wrap
    basis = search_basis(cell, pbc)
    volume = float(torch.abs(torch.linalg.det(basis)))
    if not volume > 0.0:  # zero, or NaN from a zero periodic row
        raise ValueError("periodic neighbour search needs independent periodic lattice vectors")
    periodic = pbc.to(torch.long)
    frac = torch.linalg.solve(basis.T, pos.T).T
    wrap = -torch.floor(frac).to(torch.long) * periodic  # moves periodic coordinates into [0, 1)
    frac = frac + wrap
    wrapped = frac @ basis
    reach = cutoff * (1 + 1e-9) / face_heights(basis)  # the padding in fractional units, with room for rounding
    counts = [math.ceil(float(r)) if p else 0 for r, p in zip(reach, pbc.tolist())]
    ranges = [torch.arange(-c, c + 1, device=device) for c in counts]
    shifts = torch.stack(torch.meshgrid(*ranges, indexing="ij"), dim=-1).reshape(-1, 3)  # (S, 3)
    image_frac = frac[None, :, :] + shifts[:, None, :]  # (S, N, 3)
    inside = ((image_frac > -reach) & (image_frac < 1.0 + reach)) | ~pbc
    shift_id, atom = torch.nonzero(inside.all(dim=-1), as_tuple=True)
    points = wrapped[atom] + shifts[shift_id].to(pos.dtype) @ cell
    return wrapped, wrap, points, atom, shifts[shift_id]


def cell_list_pairs(positions: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor, cutoff: float):
    """Full list of pairs ``(i, j, shift)`` with ``|r_j - r_i + shift @ cell| < cutoff``, i ≠ j or shift ≠ 0.

    Args:
        positions: (N, 3) Å; cell: (3, 3) Å, rows are lattice vectors; pbc: (3,) bool; cutoff: Å.

    Returns:
        centre indices (E,), neighbour indices (E,), integer shifts (E, 3), on the positions' device.
    """
    device = positions.device
    pos = positions.detach().double()
    empty = torch.zeros(0, dtype=torch.long, device=device)
    if len(pos) == 0:
        return empty, empty, torch.zeros((0, 3), dtype=torch.long, device=device)
    cell_d = cell.detach().double().to(device)
    wrapped, wrap, points, point_atom, point_shift = _images(pos, cell_d, pbc.to(device).bool(), cutoff)
    low = points.min(dim=0).values
    extent = points.max(dim=0).values - low
    edge = torch.clamp(extent / _MAX_BINS_PER_DIM, min=cutoff * (1 + 1e-9))  # bin edge (3,), over the cutoff
    n_bins = torch.floor(extent / edge).to(torch.long) + 1
    strides = torch.stack([n_bins[1] * n_bins[2], n_bins[2], torch.ones_like(n_bins[2])])

    def bin_of(x: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.floor((x - low) / edge).to(torch.long), n_bins - 1)

    point_ids = (bin_of(points) * strides).sum(dim=1)
    point_ids, order = torch.sort(point_ids)
    # For every atom, the 27 bins around its own: the range of sorted points in each.
    around = bin_of(wrapped)[:, None, :] + _ADJACENT.to(device)[None, :, :]  # (N, 27, 3)
    valid = ((around >= 0) & (around < n_bins)).all(dim=-1)
    ids = (around * strides).sum(dim=-1)
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
    diff = pos[atom] - pos[centre] + shift.to(pos.dtype) @ cell_d
    keep = ((diff * diff).sum(dim=1) < cutoff * cutoff) & ((atom != centre) | (shift != 0).any(dim=1))
    return centre[keep], atom[keep], shift[keep]
