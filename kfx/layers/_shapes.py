"""Input-shape checks and shape arithmetic of the kfx layers (ranks, axes, known sizes).

Layers check their input shape in ``build`` with these, so a wrong input reads the same in
every layer; the last two build runtime shapes for ``keras.ops``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from keras import ops

from kfx._validation import fail


def check_rank(layer: str, shape: Sequence, ranks: Iterable[int], what: str) -> int:
    """Rank of an input `shape` (batch included) that must be one of `ranks`."""
    ranks = sorted(ranks)
    rank = len(shape)
    if rank not in ranks:
        fail(
            layer,
            "inputs",
            f"shape {tuple(shape)} (rank {rank})",
            "an input of rank " + " or ".join(map(str, ranks)) + f" {what}",
        )
    return rank


def check_min_rank(layer: str, shape: Sequence, min_rank: int, what: str) -> int:
    rank = len(shape)
    if rank < min_rank:
        fail(
            layer,
            "inputs",
            f"shape {tuple(shape)} (rank {rank})",
            f"an input of rank >= {min_rank} {what}",
        )
    return rank


def known_dim(layer: str, shape: Sequence, axis: int, what: str) -> int:
    """The static size of `shape[axis]`; layers size their weights from it."""
    value = shape[axis]
    if value is None:
        fail(layer, "inputs", f"shape {tuple(shape)}", f"a known {what} dimension (axis {axis})")
    return int(value)


def normalize_axis(layer: str, axis: int, rank: int) -> int:
    """`axis` (negative counts from the end) as a non-negative, non-batch axis of `rank`."""
    positive = axis + rank if axis < 0 else axis
    if not 1 <= positive < rank:
        fail(layer, "axis", axis, f"a non-batch axis of the rank-{rank} input (1..{rank - 1})")
    return positive


def axis_and_size(layer: str, shape: Sequence, axis: int) -> tuple[int, int]:
    """The non-negative `axis` of an input of rank >= 2 and its static size.

    Layers with one weight per channel along `axis` (LayerScale, Maxout) size it from this.
    """
    rank = check_min_rank(layer, shape, 2, "(batch, ..., channels)")
    positive = normalize_axis(layer, axis, rank)
    return positive, known_dim(layer, shape, positive, "channel")


def dynamic_shape(x) -> list:
    """The shape of `x` with each unknown (None) dimension replaced by its runtime size."""
    static = tuple(x.shape)
    if all(d is not None for d in static):
        return list(static)
    runtime = ops.shape(x)
    return [runtime[i] if d is None else d for i, d in enumerate(static)]


def broadcast_shape(size: int, axis: int, rank: int) -> list[int]:
    """``[1, ..., size, ..., 1]`` of length `rank` with `size` at `axis` (non-negative)."""
    shape = [1] * rank
    shape[axis] = size
    return shape
