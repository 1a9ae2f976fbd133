"""siamese: two inputs through one shared encoder, four merge modes."""

import keras
import numpy as np
import pytest

from kfx import blocks, nodes
from kfx.templates import Head, compile_args, siamese

FEATURES = 6


def _encoder(name="encoder", kernel_initializer="glorot_uniform"):
    x = keras.Input((5,))
    y = keras.layers.Dense(FEATURES, kernel_initializer=kernel_initializer, name="dense")(x)
    return keras.Model(x, y, name=name)


def _pairs(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 5)).astype("float32") for _ in range(2)]


WIDTH = {"abs_diff": FEATURES, "concat": 2 * FEATURES, "cosine": 1, "l2": 1}


@pytest.mark.parametrize("merge", sorted(WIDTH))
def test_merge_values(merge):
    encoder = _encoder()
    model = siamese(encoder, (5,), merge=merge, name="s")
    assert model.output_shape == (None, WIDTH[merge])
    a, b = _pairs()
    got = model.predict([a, b], verbose=0)
    ea, eb = encoder.predict(a, verbose=0), encoder.predict(b, verbose=0)
    expected = {
        "abs_diff": np.abs(ea - eb),
        "concat": np.concatenate([ea, eb], axis=1),
        "cosine": np.sum(ea * eb, axis=1, keepdims=True)
        / (np.linalg.norm(ea, axis=1, keepdims=True) * np.linalg.norm(eb, axis=1, keepdims=True)),
        "l2": np.linalg.norm(ea - eb, axis=1, keepdims=True),
    }[merge]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    if merge != "concat":  # symmetric merges
        np.testing.assert_allclose(model.predict([b, a], verbose=0), got, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("merge", sorted(WIDTH))
def test_one_shared_encoder(merge):
    encoder = _encoder()
    model = siamese(encoder, (5,), merge=merge, head=Head("same", 1))
    assert nodes.num_nodes(encoder) == 2
    assert [layer for layer in model.layers if layer is encoder] == [encoder]
    shared = {id(w) for w in encoder.weights}
    assert {id(w) for w in model.weights} - shared == {
        id(w) for w in model.get_layer("same").weights
    }
    assert len(model.weights) == len(encoder.weights) + 2


def test_function_encoder_is_built_once():
    model = siamese(lambda x: blocks.mlp(x, (8, 4), name="mlp"), (5,), name="s")
    encoders = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert [e.name for e in encoders] == ["s_encoder"]
    assert len(model.weights) == 4  # two Dense layers, once
    assert nodes.num_nodes(encoders[0]) == 2


def test_shared_lstm_tutorial():
    """Tweet similarity: one LSTM shared by both tweets, a binary head."""
    shared_lstm = keras.layers.LSTM(8)
    head = Head("same_author", 1)
    model = siamese(shared_lstm, (10, 4), merge="concat", head=head)
    assert model.output_names == ["same_author"]
    assert len(model.trainable_weights) == len(shared_lstm.trainable_weights) + 2
    model.compile("adam", **compile_args(head))
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(8, 10, 4)).astype("float32") for _ in range(2)]
    history = model.fit(x, rng.integers(0, 2, (8, 1)), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_inputs_are_named_and_integer_encoders_keep_their_dtype():
    tokens = keras.Input((7,), dtype="int32")
    embedded = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 4)(tokens))
    model = siamese(keras.Model(tokens, embedded), (7,), merge="cosine", name="pair")
    assert [t.name for t in model.inputs] == ["pair_a", "pair_b"]
    assert all("int" in str(t.dtype) for t in model.inputs)


@pytest.mark.parametrize(
    "merge, kernel",
    [("cosine", "zeros"), ("l2", "glorot_uniform"), ("abs_diff", "glorot_uniform")],
)
def test_gradients_stay_finite_on_equal_pairs_and_zero_embeddings(merge, kernel):
    """|a - b| and a/|a| have no gradient at 0; the merges must not turn that into NaN.

    A zero kernel makes every embedding 0 (cosine of zero vectors); equal pairs make
    a - b = 0 (l2). Plain UnitNormalization or Dot(normalize=True) give NaN here on JAX.
    """
    model = siamese(_encoder(kernel_initializer=kernel), (5,), merge=merge, head=Head("y", 1))
    model.compile(keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    a, _ = _pairs()
    model.fit([a, a], np.ones((8, 1)), epochs=1, verbose=0)
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights)
    assert np.isfinite(model.predict([a, a], verbose=0)).all()


def test_distance_of_equal_pair_is_zero():
    model = siamese(_encoder(), (5,), merge="l2")
    a, _ = _pairs()
    np.testing.assert_allclose(model.predict([a, a], verbose=0), 0.0, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(merge="dot"), r"`merge` got 'dot'.*'abs_diff', 'concat', 'cosine', 'l2'"),
        (dict(head="same"), r"`head` got 'same'"),
        (dict(input_shape=()), r"`input_shape` got \(\)"),
        (dict(input_shape=(5, -1)), r"`input_shape` got \(5, -1\)"),
        (dict(encoder=_encoder(), input_shape=(6,)), r"got \(6,\); expected the encoder's input"),
        (dict(encoder="lstm"), r"`encoder` got 'lstm'"),
        (dict(input_shape=(4, 2)), r"`encoder` got 'output of shape \(None, 4, 3\)'"),
        (
            dict(encoder=lambda x: keras.layers.Dense(3)(x), input_shape=(4, 2)),
            r"`encoder` got 'output of shape \(None, 4, 3\)'",
        ),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(encoder=keras.layers.Dense(3), input_shape=(5,)) | kwargs
    with pytest.raises(ValueError, match=match) as info:
        siamese(args.pop("encoder"), args.pop("input_shape"), **args)
    assert str(info.value).startswith("siamese: ")
