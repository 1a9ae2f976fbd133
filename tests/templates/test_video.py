"""time_distributed: a video model from a per-frame model."""

import keras
import numpy as np
import pytest

from kfx.templates import Head, compile_args, time_distributed

FEATURES = 5


def _vision(pool=True):
    frame = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(FEATURES, 3, activation="relu", name="conv")(frame)
    if pool:
        x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(frame, x, name="vision")


def _clips(frames, n=2):
    return np.random.default_rng(0).random((n, frames, 8, 8, 3)).astype("float32")


def test_mean_pool_is_the_mean_of_frame_features():
    vision = _vision()
    video = time_distributed(vision, pool="mean", name="v")
    assert video.output_shape == (None, FEATURES)
    assert video.input_shape == (None, None, 8, 8, 3)
    clips = _clips(4)
    per_frame = vision.predict(clips.reshape(-1, 8, 8, 3), verbose=0).reshape(2, 4, FEATURES)
    np.testing.assert_allclose(
        video.predict(clips, verbose=0), per_frame.mean(axis=1), rtol=1e-5, atol=1e-6
    )


def test_any_clip_length_with_lstm():
    video = time_distributed(_vision())
    assert video.get_layer(f"{video.name}_lstm").units == FEATURES
    for frames in (3, 6):
        assert video.predict(_clips(frames), verbose=0).shape == (2, FEATURES)


def test_fixed_frames_head_and_training():
    vision = _vision()
    head = Head("action", 3, "multiclass")
    video = time_distributed(vision, frames=4, head=head, lstm_units=7, name="v")
    assert [layer.name for layer in video.layers] == ["v_input", "v_frames", "v_lstm", "action"]
    assert video.input_shape == (None, 4, 8, 8, 3) and video.output_names == ["action"]
    assert video.get_layer("v_frames").layer is vision
    assert {id(w) for w in vision.weights} <= {id(w) for w in video.weights}
    assert video.get_layer("v_lstm").units == 7
    video.compile("adam", **compile_args(head))
    history = video.fit(_clips(4, n=4), np.arange(4) % 3, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(pool="max"), r"`pool` got 'max'.*'lstm', 'mean'"),
        (dict(frames=0), r"`frames` got 0"),
        (dict(lstm_units=-1), r"`lstm_units` got -1"),
        (dict(head="action"), r"`head` got 'action'"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        time_distributed(_vision(), **kwargs)
    assert str(info.value).startswith("time_distributed: ")


def test_frame_model_must_output_vectors():
    with pytest.raises(ValueError, match=r"`frame_model` got 'output of shape \(None, 6, 6, 5\)'"):
        time_distributed(_vision(pool=False))


def test_frame_model_must_be_a_graph_model():
    with pytest.raises(ValueError, match=r"argument `frame_model`"):
        time_distributed(keras.layers.Dense(2))
