"""LoopRNN: SimpleRNN's numbers, masks, any batch size and any number of steps."""

import keras
import numpy as np
import pytest

from kfx.layers import LoopRNN


def _pair(return_sequences, units=4, features=3):
    ours = LoopRNN(units, return_sequences=return_sequences)
    ours.build((None, None, features))
    reference = keras.layers.SimpleRNN(units, return_sequences=return_sequences)
    reference.build((None, None, features))
    rng = np.random.default_rng(0)
    weights = [rng.normal(scale=0.5, size=tuple(w.shape)).astype("float32") for w in ours.weights]
    ours.set_weights(weights)
    reference.set_weights(weights)
    return ours, reference


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_recurrence_by_hand():
    layer = LoopRNN(2, return_sequences=True, activation="linear")
    layer.build((None, 3, 1))
    layer.set_weights(
        [np.array([[1.0, 2.0]]), np.array([[0.5, 0.0], [0.0, 0.5]]), np.array([0.0, 1.0])]
    )
    x = np.array([[[1.0], [0.0], [2.0]]], "float32")
    # h1 = (1, 3); h2 = h1 / 2 + (0, 1) = (0.5, 2.5); h3 = (2, 5) + (0.25, 1.25) = (2.25, 6.25)
    expected = [[[1.0, 3.0], [0.5, 2.5], [2.25, 6.25]]]
    np.testing.assert_allclose(_np(layer(x)), expected, rtol=1e-6)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_matches_simple_rnn_with_the_same_weights(return_sequences):
    ours, reference = _pair(return_sequences)
    assert [w.name for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    x = np.random.default_rng(1).normal(size=(3, 6, 3)).astype("float32")
    np.testing.assert_allclose(_np(ours(x)), _np(reference(x)), rtol=1e-5, atol=1e-5)
    mask = np.ones((3, 6), bool)
    mask[0, 4:] = False  # padding at the end
    mask[1, :2] = False  # padding at the start
    mask[2, 3] = False  # a gap
    np.testing.assert_allclose(
        _np(ours(x, mask=mask)), _np(reference(x, mask=mask)), rtol=1e-5, atol=1e-5
    )


def test_padding_at_the_end_equals_the_shorter_sequence():
    ours, _ = _pair(False)
    x = np.random.default_rng(2).normal(size=(1, 6, 3)).astype("float32")
    mask = np.array([[True] * 4 + [False] * 2])
    np.testing.assert_allclose(_np(ours(x, mask=mask)), _np(ours(x[:, :4])), rtol=1e-5, atol=1e-6)


def test_any_batch_and_any_length_in_one_compiled_model():
    """The tutorial's CustomRNN reads inputs.shape[0] and fails on exactly this."""
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, LoopRNN(4)(inputs))
    rng = np.random.default_rng(3)
    for batch, steps in [(5, 7), (1, 2), (3, 11)]:
        x = rng.normal(size=(batch, steps, 3)).astype("float32")
        got = model.predict(x, batch_size=2, verbose=0)  # partial last batch when odd
        assert got.shape == (batch, 4)
        np.testing.assert_allclose(got, _np(model(x)), rtol=1e-5, atol=1e-5)


def test_output_mask():
    layer = LoopRNN(2, return_sequences=True)
    mask = np.array([[True, False]])
    assert _np(layer.compute_mask(np.zeros((1, 2, 3)), mask)).tolist() == [[True, False]]
    assert LoopRNN(2).compute_mask(np.zeros((1, 2, 3)), mask) is None


@pytest.mark.parametrize("units", [0, -1, 1.5, None])
def test_bad_units(units):
    with pytest.raises(ValueError, match=rf"LoopRNN: argument `units` got {units!r}"):
        LoopRNN(units)


def test_bad_return_sequences():
    with pytest.raises(ValueError, match=r"LoopRNN: argument `return_sequences` got 'yes'"):
        LoopRNN(2, return_sequences="yes")


@pytest.mark.parametrize("shape", [(None, 3), (None, 2, 3, 4)])
def test_wrong_rank_fails_at_build(shape):
    with pytest.raises(ValueError, match=r"LoopRNN: argument `inputs` got .*rank 3"):
        LoopRNN(2).build(shape)
