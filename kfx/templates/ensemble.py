"""Ensembles: several models on the same inputs, their outputs averaged or concatenated."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kfx._validation import check_choice, fail
from kfx.blocks._primitives import block_name
from kfx.templates._graphs import fresh_inputs, graph_model, model_input, renamed, signature

MODES = ("average", "concat")


def ensemble(
    models: Sequence[keras.Model], *, mode: str = "average", name: str | None = None
) -> keras.Model:
    """One model that runs every member on the same inputs and merges their outputs.

    Each member enters the ensemble as a functional view named ``name + "_<i>_<member name>"``
    over the member's own layers (shared weights, the member itself is untouched), so several
    copies of one model, which all carry the same name, never collide (Keras refuses two
    nested models of the same name: keras-team/keras issue 19689).

    Args:
        models: two or more functional (or built Sequential) models, each with one output and
            the same input shapes and dtypes.
        mode: ``"average"`` (element-wise mean; outputs of equal shape) or ``"concat"``
            (concatenated on the last axis).
        name: model name and prefix of the sub-model and merge layer names; unique when None.

    Returns:
        A functional ``keras.Model`` with inputs shaped like the members' inputs.

    Raises:
        ValueError: fewer than two models, a model without a graph, members with different
            input shapes (all are listed), several outputs, or outputs that cannot be merged.

    Example:
        >>> import keras, numpy as np
        >>> from kfx.templates import ensemble
        >>> def get_model():
        ...     inputs = keras.Input((128,))
        ...     return keras.Model(inputs, keras.layers.Dense(1)(inputs), name="member")
        >>> model = ensemble([get_model(), get_model(), get_model()], name="avg")
        >>> [layer.name for layer in model.layers[1:]]
        ['avg_0_member', 'avg_1_member', 'avg_2_member', 'avg_average']
        >>> model.predict(np.zeros((2, 128)), verbose=0).shape
        (2, 1)
    """
    where = "ensemble"
    name = block_name(name, where)
    check_choice(where, "mode", mode, MODES)
    if isinstance(models, keras.Model) or not isinstance(models, Sequence) or len(models) < 2:
        fail(where, "models", models, "a list of at least two keras.Model")
    for i, model in enumerate(models):
        graph_model(model, where, f"models[{i}]")
        if len(model.outputs) != 1:
            fail(
                where,
                f"models[{i}]",
                f"model {model.name!r} with {len(model.outputs)} outputs",
                "members with one output each",
            )
    signatures = [signature(model) for model in models]
    if any(s != signatures[0] for s in signatures[1:]):
        members = "; ".join(
            f"{i} {model.name!r}: {_described(s)}"
            for i, (model, s) in enumerate(zip(models, signatures, strict=True))
        )
        fail(
            where,
            "models",
            f"members with different input shapes ({members})",
            "members that all take the same input shapes and dtypes",
        )
    shapes = [tuple(model.outputs[0].shape) for model in models]
    if mode == "average" and any(s != shapes[0] for s in shapes[1:]):
        fail(
            where,
            "models",
            f"members with output shapes {shapes}",
            "outputs of equal shape for mode='average' (mode='concat' joins different widths)",
        )
    if mode == "concat" and any(s[:-1] != shapes[0][:-1] for s in shapes[1:]):
        fail(
            where,
            "models",
            f"members with output shapes {shapes}",
            "outputs that differ at most in their last axis for mode='concat'",
        )

    inputs = fresh_inputs(model_input(models[0]), name)
    # One view per distinct member: the same model listed twice is one sub-model called twice
    # (two views over the same layers would save those layers once and load them twice).
    views: dict[int, keras.Model] = {}
    for i, model in enumerate(models):
        views.setdefault(id(model), renamed(model, f"{name}_{i}_{model.name}"))
    outputs = [views[id(model)](inputs) for model in models]
    if mode == "average":
        merged = keras.layers.Average(name=f"{name}_average")(outputs)
    else:
        merged = keras.layers.Concatenate(axis=-1, name=f"{name}_concat")(outputs)
    return keras.Model(inputs, merged, name=name)


def _described(sig: list[tuple[tuple, str]]) -> str:
    return ", ".join(f"{shape} {dtype}" for shape, dtype in sig)
