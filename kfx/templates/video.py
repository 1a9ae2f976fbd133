"""Video models from per-frame models: TimeDistributed, then pooling over time."""

from __future__ import annotations

import keras

from kfx._validation import check_choice, check_positive_int, fail
from kfx.blocks._primitives import block_name
from kfx.templates._graphs import graph_model
from kfx.templates._vectors import check_vector
from kfx.templates.heads import Head

POOLS = ("lstm", "mean")


def time_distributed(
    frame_model: keras.Model,
    *,
    frames: int | None = None,
    pool: str = "lstm",
    head: Head | None = None,
    lstm_units: int | None = None,
    name: str | None = None,
) -> keras.Model:
    """A video model: `frame_model` on every frame (shared weights), pooled over time.

    Args:
        frame_model: a functional (or built Sequential) model from one frame to a
            (batch, features) vector, e.g. a small CNN ending in global pooling.
        frames: number of frames, or None for clips of any length.
        pool: ``"lstm"`` (an LSTM over the frame features) or ``"mean"`` (their average).
        head: a :class:`Head` on the pooled features, or None to output the pooled features.
        lstm_units: width of the LSTM for ``pool="lstm"``; None: the frame feature width.
        name: model name and prefix of the layers the template creates (the input is
            ``name + "_input"``, the wrapper ``name + "_frames"``); unique when None.

    Returns:
        A functional ``keras.Model`` on ``(batch, frames, *frame_shape)`` clips.

    Raises:
        ValueError: a model without a graph, a frame model that does not output vectors, or an
            unknown `pool`.

    Example:
        >>> import keras, numpy as np
        >>> from kfx.templates import Head, time_distributed
        >>> frame = keras.Input((16, 16, 3))
        >>> features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3)(frame))
        >>> vision = keras.Model(frame, features, name="vision")
        >>> video = time_distributed(vision, frames=10, head=Head("action", 5, "multiclass"))
        >>> video.predict(np.zeros((2, 10, 16, 16, 3)), verbose=0).shape
        (2, 5)
    """
    where = "time_distributed"
    name = block_name(name, where)
    graph_model(frame_model, where, "frame_model")
    check_choice(where, "pool", pool, POOLS)
    if frames is not None:
        check_positive_int(where, "frames", frames)
    if lstm_units is not None:
        check_positive_int(where, "lstm_units", lstm_units)
    if head is not None and not isinstance(head, Head):
        fail(where, "head", head, "None or a kfx.templates.Head")
    if len(frame_model.inputs) != 1 or len(frame_model.outputs) != 1:
        fail(
            where,
            "frame_model",
            f"model {frame_model.name!r} with {len(frame_model.inputs)} inputs and "
            f"{len(frame_model.outputs)} outputs",
            "a model from one frame to one feature vector",
        )
    check_vector(frame_model.outputs[0], where, "frame_model")

    frame = frame_model.inputs[0]
    clip = keras.Input((frames, *tuple(frame.shape)[1:]), dtype=frame.dtype, name=f"{name}_input")
    x = keras.layers.TimeDistributed(frame_model, name=f"{name}_frames")(clip)
    if pool == "lstm":
        x = keras.layers.LSTM(lstm_units or x.shape[-1], name=f"{name}_lstm")(x)
    else:
        x = keras.layers.GlobalAveragePooling1D(name=f"{name}_mean")(x)
    if head is not None:
        x = head(x)
    return keras.Model(clip, x, name=name)
