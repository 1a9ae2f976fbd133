"""kfx.templates._graphs: graph-model checks, input structures, fresh inputs, renamed views."""

import keras
import numpy as np
import pytest

from kfx.templates import NotAGraphModelError, autoencoder, ensemble, feature_extractor
from kfx.templates._graphs import (
    fresh_inputs,
    graph_model,
    is_graph_model,
    model_input,
    model_output,
    renamed,
    signature,
)


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="sub")
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x)


def functional(name="f"):
    x = keras.Input((3,), name="x")
    return keras.Model(x, keras.layers.Dense(2, name="d")(x), name=name)


def test_which_models_have_a_graph():
    assert is_graph_model(functional())
    assert is_graph_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]))
    assert not is_graph_model(keras.Sequential([keras.layers.Dense(1)]))  # never built
    assert not is_graph_model(Subclassed())
    assert not is_graph_model(keras.layers.Dense(1))


@pytest.mark.parametrize(
    "obj, words",
    [
        (Subclassed(), "model 'sub' (Subclassed) without a graph of known inputs"),
        (keras.Sequential([keras.layers.Dense(1)], name="seq"), "model 'seq' (Sequential)"),
        ("a string", "a keras.Model (functional, or Sequential built on keras.Input)"),
    ],
)
def test_graph_model_raises_the_typed_error(obj, words):
    with pytest.raises(NotAGraphModelError, match=r"^where: argument `arg` got ") as info:
        graph_model(obj, "where", "arg")
    assert words in str(info.value) and isinstance(info.value, ValueError)


def test_every_template_that_reads_a_graph_raises_the_typed_error():
    for build in (
        lambda: feature_extractor(Subclassed()),
        lambda: ensemble([functional("a"), Subclassed()]),
        lambda: autoencoder(Subclassed(), functional()),
    ):
        with pytest.raises(NotAGraphModelError):
            build()


def test_input_and_output_structures_and_signature():
    a, b = keras.Input((3,), name="a"), keras.Input((4,), dtype="int32", name="b")
    merged = keras.layers.Concatenate()([a, keras.ops.cast(b, "float32")])
    model = keras.Model({"a": a, "b": b}, [merged, merged * 2])
    assert sorted(model_input(model)) == ["a", "b"] and len(model_output(model)) == 2
    assert sorted(signature(model)) == [((3,), "float32"), ((4,), "int32")]
    sequential = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    assert tuple(model_input(sequential).shape) == (None, 5)
    assert tuple(model_output(sequential).shape) == (None, 1)


def test_fresh_inputs_keep_structure_shapes_and_names():
    structure = {"image": keras.Input((8, 8, 1)), "meta": keras.Input((2,), dtype="int32")}
    fresh = fresh_inputs(structure, "ignored")
    assert {k: (tuple(t.shape), t.dtype, t.name) for k, t in fresh.items()} == {
        "image": ((None, 8, 8, 1), "float32", "image"),
        "meta": ((None, 2), "int32", "meta"),
    }
    assert all(fresh[k] is not structure[k] for k in structure)
    pair = fresh_inputs([keras.Input((3,)), keras.Input((4,))], "twin")
    assert [t.name for t in pair] == ["twin_input_0", "twin_input_1"]
    assert fresh_inputs(keras.Input((3,), name="kept"), None).name == "kept"


def test_renamed_view_shares_the_weights_and_lets_copies_sit_side_by_side():
    model = functional("same")
    view = renamed(model, "other")
    assert view.name == "other" and model.name == "same"
    assert view.get_layer("d") is model.get_layer("d")
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(view.predict(x, verbose=0), model.predict(x, verbose=0))
