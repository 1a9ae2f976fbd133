"""Helpers the kfx layers share: argument checks, the one error format, shapes.

Every check raises ``ValueError("<Layer>: argument `<arg>` got <value>; expected <what>.")``,
the format kfx blocks use too, so a wrong argument reads the same everywhere. This module
imports Keras only, so ``import kfx`` (which imports kfx.layers) stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import keras
from keras import ops

DATA_FORMATS = ("channels_last", "channels_first")


def fail(layer: str, arg: str, value: Any, accepted: str) -> None:
    """Raise kfx's error format: the layer, the argument, what it got, what it accepts."""
    raise ValueError(f"{layer}: argument `{arg}` got {value!r}; expected {accepted}.")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def check_positive_int(layer: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        fail(layer, arg, value, "a positive int")
    return value


def check_positive_float(layer: str, arg: str, value: Any) -> float:
    if not _is_number(value) or not value > 0:
        fail(layer, arg, value, "a float > 0")
    return float(value)


def check_non_negative_float(layer: str, arg: str, value: Any) -> float:
    if not _is_number(value) or not value >= 0:
        fail(layer, arg, value, "a float >= 0")
    return float(value)


def check_rate(layer: str, arg: str, value: Any) -> float:
    """A drop rate in [0, 1)."""
    if not _is_number(value) or not 0 <= value < 1:
        fail(layer, arg, value, "a float in [0, 1)")
    return float(value)


def check_fraction(layer: str, arg: str, value: Any) -> float:
    """A fraction in (0, 1]."""
    if not _is_number(value) or not 0 < value <= 1:
        fail(layer, arg, value, "a float in (0, 1]")
    return float(value)


def check_bool(layer: str, arg: str, value: Any) -> bool:
    if not isinstance(value, bool):
        fail(layer, arg, value, "True or False")
    return value


def check_int(layer: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(layer, arg, value, "an int")
    return value


def check_seed(layer: str, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        fail(layer, "seed", value, "None or an int")
    return value


def check_data_format(layer: str, value: Any) -> str:
    """``None`` means ``keras.config.image_data_format()``; the result is always explicit."""
    if value is None:
        return keras.config.image_data_format()
    if value not in DATA_FORMATS:
        fail(layer, "data_format", value, "None, 'channels_last' or 'channels_first'")
    return value


def get_activation(layer: str, value: Any):
    """``keras.activations.get(value)``, with kfx's error for an unknown name."""
    if value is not None and not callable(value) and not isinstance(value, (str, dict)):
        fail(layer, "activation", value, "None, a callable or a keras.activations name")
    try:
        return keras.activations.get(value)
    except (ValueError, TypeError):
        fail(layer, "activation", value, "None, a callable or a keras.activations name")


def get_initializer(layer: str, arg: str, value: Any):
    try:
        return keras.initializers.get(value)
    except (ValueError, TypeError):
        fail(layer, arg, value, "a keras.initializers name, instance or config")


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
