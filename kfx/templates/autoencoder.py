"""Autoencoders: an encoder model and a decoder model, chained and used as layers."""

from __future__ import annotations

import keras

from kfx._validation import fail
from kfx.blocks._primitives import block_name
from kfx.templates._graphs import fresh_inputs, graph_model, model_input, renamed


def autoencoder(
    encoder: keras.Model, decoder: keras.Model, *, name: str | None = None
) -> keras.Model:
    """``decoder(encoder(x))`` as one model, with both models nested as layers.

    The autoencoder shares its weights with `encoder` and `decoder`: train it, then use the
    encoder alone for codes and the decoder alone for generation.

    Args:
        encoder: a functional (or built Sequential) model; its inputs become the autoencoder's.
        decoder: a Keras model taking the encoder's output. If it has the encoder's name, it
            enters as a renamed view ``name + "_" + decoder.name`` (same weights).
        name: model name (inputs are named ``name + "_input"``); unique when None.

    Returns:
        A functional ``keras.Model`` whose layers are the input, the encoder and the decoder.

    Raises:
        ValueError: models without a graph, or a code shape the decoder does not accept.

    Example:
        >>> import keras, numpy as np
        >>> from kfx.templates import autoencoder
        >>> x = keras.Input((28, 28, 1))
        >>> code = keras.layers.Dense(16)(keras.layers.Flatten()(x))
        >>> encoder = keras.Model(x, code, name="encoder")
        >>> z = keras.Input((16,))
        >>> image = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784)(z))
        >>> decoder = keras.Model(z, image, name="decoder")
        >>> model = autoencoder(encoder, decoder, name="ae")
        >>> [layer.name for layer in model.layers]
        ['ae_input', 'encoder', 'decoder']
        >>> model.predict(np.zeros((2, 28, 28, 1)), verbose=0).shape
        (2, 28, 28, 1)
    """
    where = "autoencoder"
    name = block_name(name, where)
    graph_model(encoder, where, "encoder")
    graph_model(decoder, where, "decoder")
    code = [tuple(t.shape)[1:] for t in encoder.outputs]
    accepted = [tuple(t.shape)[1:] for t in decoder.inputs]
    if len(code) != len(accepted) or not all(
        len(c) == len(a)
        and all(x is None or y is None or x == y for x, y in zip(c, a, strict=True))
        for c, a in zip(code, accepted, strict=False)
    ):
        fail(
            where,
            "decoder",
            f"model {decoder.name!r} taking inputs of shape {_shapes(accepted)}",
            f"a decoder that takes the encoder's output, of shape {_shapes(code)}",
        )
    if decoder.name == encoder.name:
        decoder = renamed(decoder, f"{name}_{decoder.name}")
    inputs = fresh_inputs(model_input(encoder), name)
    return keras.Model(inputs, decoder(encoder(inputs)), name=name)


def _shapes(shapes: list[tuple]) -> str:
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)
