"""multi_io: named inputs and encoders, a trunk, one named output per head."""

import keras
import numpy as np
import pytest

from kfx import blocks
from kfx.templates import Head, compile_args, multi_io

VOCAB, NUM_TAGS, DEPARTMENTS = 50, 6, 4


def _ticket_triage(name=None, loss_weights=(1.0, 0.2)):
    """The tutorial's ticket triage: title + body + tags in, priority + department out."""
    inputs = {
        "title": keras.Input((None,), dtype="int32", name="title"),
        "body": keras.Input((None,), dtype="int32", name="body"),
        "tags": keras.Input((NUM_TAGS,), name="tags"),
    }

    def words(tokens):
        return keras.layers.LSTM(8)(keras.layers.Embedding(VOCAB, 8)(tokens))

    def bag_of_words(tokens):
        return keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(VOCAB, 4)(tokens))

    heads = [
        Head("priority", 1, "binary", loss_weight=loss_weights[0]),
        Head("department", DEPARTMENTS, "multiclass", loss_weight=loss_weights[1]),
    ]
    model = multi_io(
        inputs,
        heads,
        encoders={"title": words, "body": bag_of_words},
        trunk=lambda x: blocks.mlp(x, (16,), name="trunk"),
        name=name,
    )
    return model, heads


def _ticket_data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "title": rng.integers(0, VOCAB, (n, 5)),
        "body": rng.integers(0, VOCAB, (n, 12)),
        "tags": rng.integers(0, 2, (n, NUM_TAGS)).astype("float32"),
    }
    y = {
        "priority": rng.integers(0, 2, (n, 1)).astype("float32"),
        "department": rng.integers(0, DEPARTMENTS, (n,)),
    }
    return x, y


def test_output_names_are_head_names_and_training_gives_finite_loss():
    model, heads = _ticket_triage(name="triage")
    assert sorted(model.output_names) == ["department", "priority"]
    model.compile(keras.optimizers.Adam(1e-2), **compile_args(heads))
    x, y = _ticket_data()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])
    assert np.isfinite(history.history["department_sparse_categorical_accuracy"][0])
    pred = model.predict(x, verbose=0)
    assert set(pred) == {"priority", "department"}
    assert pred["priority"].shape == (16, 1) and pred["department"].shape == (16, DEPARTMENTS)
    np.testing.assert_allclose(pred["department"].sum(axis=1), 1.0, rtol=1e-5)  # softmax
    assert ((pred["priority"] >= 0) & (pred["priority"] <= 1)).all()  # sigmoid


def test_loss_weights_apply_per_head():
    model, heads = _ticket_triage(loss_weights=(1.0, 0.2))
    model.compile("sgd", **compile_args(heads))
    x, y = _ticket_data()
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    # The head losses computed here too, not only read from Keras' `<head>_loss` logs.
    pred = model.predict(x, verbose=0)
    priority = keras.losses.binary_crossentropy(y["priority"], pred["priority"])
    department = keras.losses.sparse_categorical_crossentropy(y["department"], pred["department"])
    expected = float(np.mean(priority)) + 0.2 * float(np.mean(department))
    assert result["loss"] == pytest.approx(expected, rel=1e-4)
    logged = result["priority_loss"] + 0.2 * result["department_loss"]
    assert result["loss"] == pytest.approx(logged, rel=1e-4)


def test_default_encoder_flattens_and_layers_carry_the_name():
    inputs = {"image": keras.Input((4, 4, 2), name="image"), "meta": keras.Input((3,), name="meta")}
    model = multi_io(inputs, [Head("score", 1, "regression")], name="m")
    assert model.name == "m"
    assert model.get_layer("m_image_flatten").output.shape == (None, 32)
    created = [layer.name for layer in model.layers if layer.name not in (*inputs, "score")]
    assert created and all(n.startswith("m_") for n in created)
    assert model.get_layer("m_concat").output.shape == (None, 35)


def test_single_input_without_trunk():
    model = multi_io({"x": keras.Input((3,), name="x")}, [Head("y", 2, "multilabel")])
    assert [layer.name for layer in model.layers] == ["x", "y"]
    assert model.predict({"x": np.zeros((2, 3))}, verbose=0)["y"].shape == (2, 2)


def test_two_templates_never_collide():
    a = multi_io({"x": keras.Input((3,), name="x")}, [Head("y", 1)])
    b = multi_io({"x": keras.Input((3,), name="x")}, [Head("y", 1)])
    assert a.name != b.name
    x = keras.Input((3,), name="x")
    outer = keras.Model(x, keras.layers.Average()([a({"x": x})["y"], b({"x": x})["y"]]))
    assert outer.predict(np.zeros((1, 3)), verbose=0).shape == (1, 1)


def _inputs():
    return {"title": keras.Input((5,), name="title"), "tags": keras.Input((3,), name="tags")}


def test_duplicate_head_names():
    with pytest.raises(ValueError, match=r"multi_io: .*repeated: 'priority'"):
        multi_io(_inputs(), [Head("priority", 1), Head("priority", 2, "multilabel")])


def test_encoder_for_missing_input_lists_the_inputs():
    with pytest.raises(ValueError, match=r"encoders for 'body'.*existing inputs: 'title', 'tags'"):
        multi_io(_inputs(), [Head("p", 1)], encoders={"body": keras.layers.Dense(2)})


def test_key_must_be_the_inputs_name():
    with pytest.raises(ValueError, match=r"key 'title' for a tensor named 'headline'"):
        multi_io({"title": keras.Input((5,), name="headline")}, [Head("p", 1)])


def test_head_named_like_an_input():
    with pytest.raises(ValueError, match=r"head names 'tags'.*also input names"):
        multi_io(_inputs(), [Head("tags", 1)])


def test_encoder_must_return_vectors():
    with pytest.raises(
        ValueError, match=r"encoders\['title'\]` got 'output of shape \(None, 5, 4\)'"
    ):
        multi_io(
            {"title": keras.Input((5,), dtype="int32", name="title")},
            [Head("p", 1)],
            encoders={"title": keras.layers.Embedding(10, 4)},
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(inputs=[keras.Input((3,))]), "argument `inputs`"),
        (dict(inputs={}), "argument `inputs`"),
        (dict(inputs={"x": np.zeros(3)}), "Keras tensors"),
        (dict(heads=[]), "argument `heads`"),
        (dict(heads=["p"]), "argument `heads`"),
        (dict(encoders={"title": 3}), r"encoders\['title'\]"),
        (dict(trunk="mlp"), "argument `trunk`"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(inputs=_inputs(), heads=[Head("p", 1)]) | kwargs
    with pytest.raises(ValueError, match=match):
        multi_io(args.pop("inputs"), args.pop("heads"), **args)
