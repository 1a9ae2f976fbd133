"""Helpers the templates share: model checks, fresh inputs, renamed views, error listings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

from kfx._validation import fail

#: How many names an error message lists before it says "... and N more".
MAX_LISTED = 60


def listing(names: Iterable[Any]) -> str:
    """``'a', 'b', 'c'`` (at most MAX_LISTED names, then how many more)."""
    names = [repr(n) for n in names]
    if len(names) > MAX_LISTED:
        return ", ".join(names[:MAX_LISTED]) + f", ... and {len(names) - MAX_LISTED} more"
    return ", ".join(names) if names else "(none)"


def is_graph_model(obj: Any) -> bool:
    """A functional model, or a Sequential built on an input: a model with a readable graph."""
    if isinstance(obj, keras.Function):
        return True
    if isinstance(obj, keras.Sequential):
        try:
            obj.inputs  # noqa: B018 - raises (or is None) while the Sequential is not built
        except (AttributeError, ValueError):
            return False
        return bool(obj.inputs)
    return False


def graph_model(obj: Any, where: str, arg: str) -> keras.Model:
    """`obj` if it is a functional or built Sequential model; ValueError otherwise."""
    if not isinstance(obj, keras.Model):
        fail(where, arg, obj, "a keras.Model (functional, or Sequential built on keras.Input)")
    if not is_graph_model(obj):
        fail(
            where,
            arg,
            f"model {obj.name!r} ({type(obj).__name__}) without a graph of known inputs",
            "a functional model, or a Sequential that starts with keras.Input (a subclassed "
            "model has no graph to read its input shapes from)",
        )
    return obj


def model_input(model: keras.Model):
    """The input structure of a graph model (``Sequential.input`` raises: it has no node)."""
    if isinstance(model, keras.Function):
        return model.input
    return model.inputs[0] if len(model.inputs) == 1 else list(model.inputs)


def model_output(model: keras.Model):
    """The output structure of a graph model."""
    if isinstance(model, keras.Function):
        return model.output
    return model.outputs[0] if len(model.outputs) == 1 else list(model.outputs)


def signature(model: keras.Model) -> list[tuple[tuple, str]]:
    """``[(shape without batch, dtype), ...]`` of a model's flat inputs."""
    return [(tuple(t.shape)[1:], str(t.dtype)) for t in model.inputs]


def fresh_inputs(structure: Any, prefix: str | None):
    """New ``keras.Input`` tensors shaped like the tensors in `structure`, in that structure.

    Inputs in a dict keep their key as name (Keras matches dict data to inputs by name). The
    others are named ``prefix + "_input"`` (``"_input_0"``, ... when there are several), or
    keep their tensor's name when `prefix` is None.
    """
    if isinstance(structure, dict):
        return {
            key: keras.Input(shape=tuple(t.shape)[1:], dtype=t.dtype, name=key)
            for key, t in structure.items()
        }
    flat = keras.tree.flatten(structure)
    if prefix is None:
        names = [t.name for t in flat]
    elif len(flat) == 1:
        names = [f"{prefix}_input"]
    else:
        names = [f"{prefix}_input_{i}" for i in range(len(flat))]
    new = [
        keras.Input(shape=tuple(t.shape)[1:], dtype=t.dtype, name=n)
        for t, n in zip(flat, names, strict=True)
    ]
    return keras.tree.pack_sequence_as(structure, new)


def renamed(model: keras.Model, name: str) -> keras.Model:
    """A functional view of `model` named `name`: same layers, same weights, new name.

    Two copies of one model (``keras.applications`` models, or any builder that names its
    model) carry the same name, and Keras refuses to nest them side by side in one model
    (keras-team/keras issue 19689). Renaming the user's object would change it behind their
    back; a new functional model over the same graph does not, and it saves and reloads like
    any nested model.
    """
    return keras.Model(model_input(model), model_output(model), name=name)


def check_vector(tensor: Any, where: str, what: str) -> None:
    """`tensor` must be (batch, features): the templates merge and feed vectors."""
    if not hasattr(tensor, "shape") or len(tensor.shape) != 2:
        shape = tuple(tensor.shape) if hasattr(tensor, "shape") else type(tensor).__name__
        fail(
            where,
            what,
            f"output of shape {shape}",
            "a (batch, features) tensor: end it with Flatten or a global pooling layer",
        )
