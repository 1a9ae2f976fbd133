"""What the templates need from a model's graph: the check that it has one, its inputs, views.

A template reads its parts' graphs (input shapes, outputs) to wire them into a new model, so a
model without a graph (subclassed, or a Sequential never built on an input) is refused up
front with :class:`NotAGraphModelError`, a typed error callers can catch, instead of failing
somewhere inside Keras. The other helpers build on a graph: its input and output structures,
fresh inputs shaped like them, and renamed views that let copies of one model sit side by side.

Example:
    >>> import keras
    >>> from kfx.templates._graphs import fresh_inputs, graph_model
    >>> x = keras.Input((3,), name="x")
    >>> model = graph_model(keras.Model(x, keras.layers.Dense(1)(x)), "demo", "model")
    >>> fresh_inputs(model.input, "twin").name
    'twin_input'
    >>> class Free(keras.Model):
    ...     def call(self, x):
    ...         return x
    >>> graph_model(Free(), "demo", "model")
    Traceback (most recent call last):
    ...
    kfx.templates._graphs.NotAGraphModelError: demo: argument `model` got "model 'free' (Free) without a graph of known inputs"; expected a functional model, or a Sequential that starts with keras.Input (a subclassed model has no graph to read its input shapes from).
"""

from __future__ import annotations

from typing import Any, NoReturn

import keras

from kfx._validation import fail


class NotAGraphModelError(ValueError):
    """A model without a graph of known inputs where a template needs one.

    Raised by the templates (and :class:`kfx.callbacks.ActivationLogger`) for a subclassed
    model, a Sequential not built on ``keras.Input``, or an object that is not a model. It is
    a ``ValueError``, with kfx's usual message; catch this type to tell "this model has no
    graph" apart from other bad arguments.

    Example:
        >>> import keras
        >>> from kfx.templates import NotAGraphModelError, feature_extractor
        >>> class Free(keras.Model):
        ...     def call(self, x):
        ...         return x
        >>> try:
        ...     feature_extractor(Free())
        ... except NotAGraphModelError:
        ...     print("no graph")
        no graph
    """

    @classmethod
    def refuse(cls, where: str, arg: str, value: Any, accepted: str) -> NoReturn:
        """Raise this error with the message of :func:`kfx._validation.fail`."""
        fail(where, arg, value, accepted, error=cls)


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
    """`obj` if it is a functional or built Sequential model; NotAGraphModelError otherwise."""
    if not isinstance(obj, keras.Model):
        NotAGraphModelError.refuse(
            where, arg, obj, "a keras.Model (functional, or Sequential built on keras.Input)"
        )
    if not is_graph_model(obj):
        NotAGraphModelError.refuse(
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
