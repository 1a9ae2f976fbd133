"""Multi-input, multi-output models: named inputs, per-input encoders, a trunk, named heads."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras

from kfx._validation import fail
from kfx.blocks._primitives import block_name
from kfx.templates._listing import listing
from kfx.templates._vectors import check_vector
from kfx.templates.heads import Head, check_heads


def multi_io(
    inputs: Mapping[str, keras.KerasTensor],
    heads: Sequence[Head],
    *,
    encoders: Mapping[str, Callable] | None = None,
    trunk: Callable | None = None,
    name: str | None = None,
) -> keras.Model:
    """A model with named inputs and one named output per head.

    Each input goes through its encoder (default: ``Flatten``, skipped for inputs that are
    already vectors); the encoded inputs are concatenated, passed through `trunk` and into one
    Dense output per head. Compile it with ``model.compile(optimizer, **compile_args(heads))``
    and train it on dicts keyed by input and head names.

    Args:
        inputs: ``{name: keras.Input(..., name=name)}``; each key must be its input's name.
        heads: the outputs (:class:`Head` objects, unique names).
        encoders: ``{input name: callable}``; each callable maps that input to a
            (batch, features) tensor, e.g. an Embedding + LSTM stack or a ``keras.Model``.
        trunk: callable applied to the concatenated features (default: none), e.g.
            ``lambda x: kfx.blocks.mlp(x, (64,))``.
        name: model name and prefix of the layers the template creates; unique when None.

    Returns:
        A functional ``keras.Model`` with dict inputs and dict outputs keyed by head name
        (``model.output_names`` are the head names).

    Raises:
        ValueError: inputs not a dict of Keras inputs, a key that is not its input's name, an
            encoder for an input that does not exist, duplicate head names, a head named like
            an input, or an encoder output that is not a (batch, features) tensor.

    Example:
        >>> import keras, numpy as np
        >>> from kfx.templates import Head, compile_args, multi_io
        >>> heads = [Head("priority", 1), Head("department", 4, "multiclass")]
        >>> model = multi_io(
        ...     {"title": keras.Input((8,), name="title"), "tags": keras.Input((3,), name="tags")},
        ...     heads,
        ...     trunk=lambda x: keras.layers.Dense(16, activation="relu")(x),
        ... )
        >>> sorted(model.output_names)
        ['department', 'priority']
        >>> model.compile("adam", **compile_args(heads))
        >>> x = {"title": np.zeros((4, 8)), "tags": np.zeros((4, 3))}
        >>> y = {"priority": np.ones((4, 1)), "department": np.arange(4)}
        >>> _ = model.fit(x, y, epochs=1, verbose=0)
    """
    where = "multi_io"
    name = block_name(name, where)
    _check_inputs(inputs, where)
    heads = check_heads(heads, where)
    clashes = [head.name for head in heads if head.name in inputs]
    if clashes:
        fail(
            where,
            "heads",
            f"head names {listing(clashes)}, which are also input names",
            f"head names other than the inputs' names ({listing(inputs)})",
        )
    encoders = _check_encoders(encoders, inputs, where)
    if trunk is not None and not callable(trunk):
        fail(where, "trunk", trunk, "None or a callable on the concatenated features")

    encoded = []
    for key, tensor in inputs.items():
        if key in encoders:
            x = encoders[key](tensor)
            check_vector(x, where, f"encoders[{key!r}]")
        elif len(tensor.shape) > 2:
            x = keras.layers.Flatten(name=f"{name}_{key}_flatten")(tensor)
        else:
            x = tensor
        encoded.append(x)
    x = (
        encoded[0]
        if len(encoded) == 1
        else keras.layers.Concatenate(name=f"{name}_concat")(encoded)
    )
    if trunk is not None:
        x = trunk(x)
        if not keras.backend.is_keras_tensor(x):
            fail(where, "trunk", f"a callable returning {type(x).__name__}", "a Keras tensor")
    outputs = {head.name: head(x) for head in heads}
    return keras.Model(inputs=dict(inputs), outputs=outputs, name=name)


def _check_inputs(inputs: Any, where: str) -> None:
    """`inputs` must be a non-empty dict of ``keras.Input`` tensors keyed by their names."""
    if not isinstance(inputs, Mapping) or not inputs:
        fail(where, "inputs", inputs, "a non-empty dict {name: keras.Input(..., name=name)}")
    for key, tensor in inputs.items():
        if not keras.backend.is_keras_tensor(tensor):
            fail(where, "inputs", f"{{{key!r}: {tensor!r}}}", "Keras tensors from keras.Input")
        if tensor.name != key:
            fail(
                where,
                "inputs",
                f"key {key!r} for a tensor named {tensor.name!r}",
                f"keys equal to the input names: keras.Input(..., name={key!r})",
            )


def _check_encoders(encoders: Any, inputs: Mapping, where: str) -> Mapping:
    """`encoders` (None: none) as a dict of callables, each for an existing input."""
    encoders = {} if encoders is None else encoders
    if not isinstance(encoders, Mapping):
        fail(where, "encoders", encoders, "None or a dict {input name: callable}")
    unknown = [key for key in encoders if key not in inputs]
    if unknown:
        fail(
            where,
            "encoders",
            f"encoders for {listing(unknown)}",
            f"encoders only for existing inputs: {listing(inputs)}",
        )
    for key, encoder in encoders.items():
        if not callable(encoder):
            fail(where, f"encoders[{key!r}]", encoder, "a callable (a layer, a model, a function)")
    return encoders
