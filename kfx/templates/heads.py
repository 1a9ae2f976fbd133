"""Output heads that own their activation, loss and metrics, and the compile arguments for them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import keras

from kfx._validation import check_choice, check_positive_int, fail

#: task -> (activation, loss, metrics). Multiclass heads output softmax probabilities and are
#: trained on sparse integer labels; binary and multilabel heads output sigmoid
#: probabilities (one per label); regression heads are linear.
TASKS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "binary": ("sigmoid", "binary_crossentropy", ("binary_accuracy",)),
    "multiclass": ("softmax", "sparse_categorical_crossentropy", ("sparse_categorical_accuracy",)),
    "multilabel": ("sigmoid", "binary_crossentropy", ("binary_accuracy",)),
    "regression": ("linear", "mean_squared_error", ("mean_absolute_error",)),
}


@dataclass(frozen=True)
class Head:
    """One model output: a Dense layer named `name`, with the activation, loss and metrics of its task.

    Args:
        name: the output's name: the Dense layer's name, the model's output name and the key of
            `loss`, `loss_weights` and `metrics` in :func:`compile_args`.
        units: output width: 1 for ``"binary"``, the class count for ``"multiclass"`` (>= 2),
            the label count for ``"multilabel"``, the target count for ``"regression"``.
        task: ``"binary"`` (sigmoid, binary cross-entropy), ``"multiclass"`` (softmax
            probabilities, sparse categorical cross-entropy on integer labels),
            ``"multilabel"`` (one sigmoid per label, binary cross-entropy) or ``"regression"``
            (linear, mean squared error).
        loss_weight: weight of this head's loss in the total loss.

    Example:
        >>> import keras
        >>> from kfx.templates import Head
        >>> head = Head("department", 4, "multiclass", loss_weight=0.5)
        >>> head.activation, head.loss, head.metrics
        ('softmax', 'sparse_categorical_crossentropy', ['sparse_categorical_accuracy'])
        >>> y = head(keras.Input((16,)))  # a Dense(4, softmax) layer named "department"
        >>> tuple(y.shape)
        (None, 4)
    """

    name: str
    units: int
    task: str = "binary"
    loss_weight: float = 1.0

    def __post_init__(self):
        where = "Head"
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            fail(where, "name", self.name, "a non-empty str without '/' (it names a layer)")
        check_choice(where, "task", self.task, TASKS)
        check_positive_int(where, "units", self.units)
        if self.task == "binary" and self.units != 1:
            fail(
                where,
                "units",
                self.units,
                "1 for task='binary' (use task='multilabel' for several independent labels, "
                "task='multiclass' for one of several classes)",
            )
        if self.task == "multiclass" and self.units < 2:
            fail(where, "units", self.units, "at least 2 classes for task='multiclass'")
        weight = self.loss_weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or weight < 0
        ):
            fail(where, "loss_weight", weight, "a finite number >= 0")

    @property
    def activation(self) -> str:
        """The output activation of this head's task."""
        return TASKS[self.task][0]

    @property
    def loss(self) -> str:
        """The Keras loss name of this head's task."""
        return TASKS[self.task][1]

    @property
    def metrics(self) -> list[str]:
        """The Keras metric names of this head's task."""
        return list(TASKS[self.task][2])

    def __call__(self, x):
        """Apply this head's output layer, ``Dense(units, activation, name=name)``, to `x`."""
        if len(x.shape) < 2:
            fail(
                f"Head {self.name!r}",
                "x",
                f"a tensor of shape {tuple(x.shape)}",
                "a tensor of rank >= 2 (batch, ..., features)",
            )
        return keras.layers.Dense(self.units, activation=self.activation, name=self.name)(x)


def check_heads(heads: Head | Sequence[Head], where: str) -> list[Head]:
    """`heads` as a list; ValueError on anything but a non-empty list of uniquely named Heads."""
    if isinstance(heads, Head):
        heads = [heads]
    if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence) or not heads:
        fail(where, "heads", heads, "a non-empty list of kfx.templates.Head")
    for head in heads:
        if not isinstance(head, Head):
            fail(where, "heads", head, "kfx.templates.Head objects, e.g. Head('label', 1)")
    counts = Counter(head.name for head in heads)
    repeated = [name for name, count in counts.items() if count > 1]
    if repeated:
        fail(
            where,
            "heads",
            f"head names {[head.name for head in heads]}",
            f"unique head names (they name the outputs); repeated: {', '.join(map(repr, repeated))}",
        )
    return list(heads)


def compile_args(heads: Head | Sequence[Head]) -> dict:
    """``loss``, ``loss_weights`` and ``metrics`` for ``model.compile``, keyed by head name.

    Args:
        heads: the heads of the model (a list of :class:`Head`, or one Head).

    Returns:
        ``{"loss": {name: loss}, "loss_weights": {name: weight}, "metrics": {name: [metric]}}``.

    Raises:
        ValueError: not Heads, or two heads with the same name.

    Example:
        >>> from kfx.templates import Head, compile_args
        >>> args = compile_args([Head("age", 1, "regression", 0.25), Head("gender", 1)])
        >>> args["loss"]
        {'age': 'mean_squared_error', 'gender': 'binary_crossentropy'}
        >>> args["loss_weights"]
        {'age': 0.25, 'gender': 1.0}
        >>> # model.compile("adam", **args)
    """
    heads = check_heads(heads, "compile_args")
    return {
        "loss": {head.name: head.loss for head in heads},
        "loss_weights": {head.name: float(head.loss_weight) for head in heads},
        "metrics": {head.name: head.metrics for head in heads},
    }
