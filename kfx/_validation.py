"""Argument checks for the whole package, with its one error format.

Every check raises ``ValueError("<where>: argument `<arg>` got <value>; expected <what>.")``
and returns the value it checked (converted where the check says so), so a block, a layer,
a callback, a tuner and a launcher all fail the same way. Standard library only: the
launchers behind ``kfx tune`` and ``kfx train`` use it without importing Keras.

Example:
    >>> from kfx._validation import check_positive_int, fail
    >>> check_positive_int("residual", "filters", 64)
    64
    >>> check_positive_int("residual", "filters", 0)
    Traceback (most recent call last):
    ...
    ValueError: residual: argument `filters` got 0; expected a positive int.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn


def fail(
    where: str,
    arg: str,
    value: Any,
    accepted: str,
    *,
    error: type[ValueError] = ValueError,
    kind: str = "argument",
) -> NoReturn:
    """Raise kfx's error: where it happened, the argument, what it got, what it accepts.

    `error` is a ``ValueError`` subclass for callers that must tell this failure apart
    (``kfx.templates.NotAGraphModelError``); `kind` names what `arg` is when it is not an
    argument (``"environment variable"`` for ``TF_CONFIG``).
    """
    raise error(f"{where}: {kind} `{arg}` got {value!r}; expected {accepted}.")


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_choice(where: str, arg: str, value: Any, choices: Iterable[Any]) -> Any:
    """`value` is one of `choices`."""
    choices = tuple(choices)
    if value not in choices:
        fail(where, arg, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def check_int(where: str, arg: str, value: Any, *, minimum: int | None = None) -> int:
    """An int, at least `minimum` when given."""
    if not is_int(value) or (minimum is not None and value < minimum):
        fail(where, arg, value, "an int" if minimum is None else f"an int >= {minimum}")
    return value


def check_positive_int(where: str, arg: str, value: Any) -> int:
    """An int > 0."""
    if not is_int(value) or value <= 0:
        fail(where, arg, value, "a positive int")
    return value


def check_positive_float(where: str, arg: str, value: Any) -> float:
    if not is_number(value) or not value > 0:
        fail(where, arg, value, "a float > 0")
    return float(value)


def check_non_negative_float(where: str, arg: str, value: Any, *, what: str = "a float") -> float:
    """A number >= 0; `what` names it in the message (``"a number of seconds"``)."""
    if not is_number(value) or not value >= 0:
        fail(where, arg, value, f"{what} >= 0")
    return float(value)


def check_rate(where: str, arg: str, value: Any) -> float:
    """A drop rate in [0, 1)."""
    if not is_number(value) or not 0 <= value < 1:
        fail(where, arg, value, "a float in [0, 1)")
    return float(value)


def check_fraction(where: str, arg: str, value: Any, *, include_one: bool = True) -> float:
    """A fraction in (0, 1], or in (0, 1) with ``include_one=False``."""
    if not is_number(value) or not (0 < value and (value <= 1 if include_one else value < 1)):
        fail(where, arg, value, "a float in (0, 1]" if include_one else "a float in (0, 1)")
    return float(value)


def check_bool(where: str, arg: str, value: Any) -> bool:
    if not isinstance(value, bool):
        fail(where, arg, value, "True or False")
    return value


def check_seed(where: str, value: Any) -> int | None:
    """A random seed: None or an int."""
    if value is not None and not is_int(value):
        fail(where, "seed", value, "None or an int")
    return value


__all__ = [
    "check_bool",
    "check_choice",
    "check_fraction",
    "check_int",
    "check_non_negative_float",
    "check_positive_float",
    "check_positive_int",
    "check_rate",
    "check_seed",
    "fail",
    "is_int",
    "is_number",
]
