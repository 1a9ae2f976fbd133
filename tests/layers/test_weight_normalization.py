"""WeightNormalization: kernel = g * v / ||v||, g = ||v|| at init, TF Addons' data init."""

import keras
import numpy as np
import pytest

from kfx.layers import WeightNormalization

BACKEND = keras.backend.backend()


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _wrapped(layer, x, **kwargs):
    wrapper = WeightNormalization(layer, **kwargs)
    wrapper.build(x.shape)
    return wrapper


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: keras.layers.Dense(4, activation="tanh"), (3, 5)),
        (lambda: keras.layers.Conv2D(3, 3, padding="same"), (2, 6, 6, 2)),
        (lambda: keras.layers.Conv1D(2, 3, data_format="channels_first"), (2, 4, 8)),
    ],
    ids=["dense", "conv2d", "conv1d-channels_first"],
)
def test_output_unchanged_at_initialisation(make, shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    layer = make()
    wrapper = _wrapped(layer, x)
    plain = make()
    plain.build(x.shape)
    plain.set_weights(layer.get_weights())
    kernel = _np(layer.kernel)
    np.testing.assert_allclose(
        _np(wrapper.g), np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), axis=0), rtol=1e-6
    )
    np.testing.assert_allclose(_np(wrapper(x)), _np(plain(x)), rtol=1e-5, atol=1e-5)


def test_equals_g_times_v_over_norm_v():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3)).astype("float32")
    wrapper = _wrapped(keras.layers.Dense(2), x)
    v = rng.normal(size=(3, 2)).astype("float32")
    g = np.array([0.5, 3.0], "float32")
    bias = np.array([0.1, -0.2], "float32")
    wrapper.layer.set_weights([v, bias])
    wrapper.g.assign(g)
    expected = x @ (g * v / np.linalg.norm(v, axis=0)) + bias
    np.testing.assert_allclose(_np(wrapper(x)), expected, rtol=1e-5, atol=1e-5)
    # The wrapped kernel itself is left as the direction v.
    np.testing.assert_array_equal(_np(wrapper.layer.kernel), v)


def test_training_updates_g_v_and_bias():
    inputs = keras.Input((3,))
    wrapper = WeightNormalization(keras.layers.Dense(2))
    model = keras.Model(inputs, wrapper(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = {w.name: _np(w).copy() for w in model.trainable_weights}
    assert sorted(before) == ["bias", "g", "kernel"]
    rng = np.random.default_rng(2)
    model.fit(rng.normal(size=(16, 3)), rng.normal(size=(16, 2)), batch_size=8, verbose=0)
    for w in model.trainable_weights:
        assert not np.allclose(_np(w), before[w.name]), f"{w.name} was not trained"


def test_wrapped_layer_losses_are_kept():
    dense = keras.layers.Dense(2, activity_regularizer="l2", kernel_regularizer="l1")
    wrapper = WeightNormalization(dense)
    x = np.ones((4, 3), "float32")
    y = _np(wrapper(x))
    losses = sorted(float(_np(loss)) for loss in wrapper.losses)
    kernel_l1 = 0.01 * np.abs(_np(dense.kernel)).sum()
    # The activity loss as Keras computes it for the unwrapped layer: Keras 3.5 to 3.10 sum
    # it over the batch, later releases divide by the batch size.
    plain = keras.layers.Dense(2, activity_regularizer="l2")
    plain.build((None, 3))
    plain.set_weights(dense.get_weights())
    np.testing.assert_allclose(_np(plain(x)), y, rtol=1e-5)  # g = ||v||: unchanged output
    (activity_l2,) = (float(_np(loss)) for loss in plain.losses)
    np.testing.assert_allclose(losses, sorted([kernel_l1, activity_l2]), rtol=1e-4)


def test_data_init_matches_tensorflow_addons_test():
    # tensorflow_addons/layers/tests/wrappers_test.py::test_with_data_init_is_true
    x = np.array([[[-4, -4], [4, 4]]], "float32")
    dense = keras.layers.Dense(2, kernel_initializer="identity", bias_initializer="zeros")
    np.testing.assert_allclose(_np(WeightNormalization(dense, data_init=True)(x)), x / 4)
    dense = keras.layers.Dense(2, kernel_initializer="identity", bias_initializer="zeros")
    np.testing.assert_allclose(_np(WeightNormalization(dense, data_init=False)(x)), x)


@pytest.mark.parametrize(
    ("make", "shape", "axes"),
    [
        (lambda: keras.layers.Dense(5, activation="relu"), (64, 7), (0,)),
        (lambda: keras.layers.Conv2D(4, 3, activation="relu"), (8, 6, 6, 3), (0, 1, 2)),
        (
            # Output width 5, not 4: Keras 3.15's TF `ops.add` adds a (1, C, 1, 1) bias on
            # the last axis when that axis also has size C (its bias_add shortcut).
            lambda: keras.layers.Conv2D(4, 3, data_format="channels_first"),
            (8, 3, 7, 7),
            (0, 2, 3),
        ),
    ],
    ids=["dense", "conv2d", "conv2d-channels_first"],
)
def test_data_init_gives_zero_mean_unit_variance_pre_activations(make, shape, axes):
    rng = np.random.default_rng(3)
    x = (3.0 * rng.normal(size=shape) + 1.5).astype("float32")
    layer = make()
    wrapper = WeightNormalization(layer, data_init=True)
    first = _np(wrapper(x))
    assert float(_np(wrapper.initialized)) == 1.0
    # Pre-activation with the initialised weights: the same layer without its activation.
    linear = make()
    linear.build(x.shape)
    kernel = _np(layer.kernel)
    norm = np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), axis=0)
    linear.set_weights([kernel * _np(wrapper.g) / norm, _np(layer.bias)])
    linear.activation = keras.activations.linear
    pre = _np(linear(x))
    np.testing.assert_allclose(pre.mean(axis=axes), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre.var(axis=axes), 1.0, rtol=1e-3)
    # Later calls do not initialise again.
    g = _np(wrapper.g).copy()
    wrapper(x[::-1] * 2 + 5)
    np.testing.assert_array_equal(_np(wrapper.g), g)
    np.testing.assert_allclose(_np(wrapper(x)), first, rtol=1e-6)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow initialises inside fit")
def test_data_init_on_the_first_batch_of_fit():
    rng = np.random.default_rng(4)
    x = (2.0 * rng.normal(size=(32, 4)) - 1.0).astype("float32")
    inputs = keras.Input((4,))
    wrapper = WeightNormalization(keras.layers.Dense(3), data_init=True)
    model = keras.Model(inputs, wrapper(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", jit_compile=True)
    model.fit(x, np.zeros((32, 3)), batch_size=32, epochs=1, verbose=0)
    assert float(_np(wrapper.initialized)) == 1.0
    y = model.predict(x, verbose=0)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-3)


@pytest.mark.skipif(BACKEND == "tensorflow", reason="only compiled-only backends need this")
def test_data_init_needs_an_eager_call_before_compiled_use():
    def model():
        inputs = keras.Input((4,))
        layer = WeightNormalization(keras.layers.Dense(3), data_init=True)
        return keras.Model(inputs, layer(inputs)), layer

    x = np.random.default_rng(6).normal(size=(8, 4)).astype("float32")
    compiled_first, _ = model()
    with pytest.raises(ValueError, match=r"WeightNormalization: argument `data_init` got True"):
        compiled_first.predict(x, verbose=0)
    eager_first, layer = model()
    eager_first(x)  # the eager call initialises; compiled use then works
    assert float(_np(layer.initialized)) == 1.0
    np.testing.assert_allclose(eager_first.predict(x, verbose=0).mean(axis=0), 0.0, atol=1e-4)


def test_saved_model_is_not_initialised_again(tmp_path):
    rng = np.random.default_rng(5)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, WeightNormalization(keras.layers.Dense(3), data_init=True)(inputs))
    model(rng.normal(size=(16, 4)).astype("float32"))
    other = (rng.normal(size=(16, 4)) * 5 + 3).astype("float32")
    expected = _np(model(other))
    model.save(tmp_path / "wn.keras")
    reloaded = keras.saving.load_model(tmp_path / "wn.keras")
    np.testing.assert_allclose(reloaded.predict(other, verbose=0), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "value", ["dense", 3, None, np.ones((2, 2))], ids=["str", "int", "none", "array"]
)
def test_not_a_layer(value):
    with pytest.raises(
        ValueError, match=r"(?s)WeightNormalization: argument `layer` got .*keras.layers.Layer"
    ):
        WeightNormalization(value)


def test_layer_without_kernel_fails_at_build():
    with pytest.raises(
        ValueError, match=r"WeightNormalization: argument `layer` got <MaxPooling2D.*`kernel`"
    ):
        WeightNormalization(keras.layers.MaxPooling2D())(np.ones((1, 4, 4, 1), "float32"))


def test_data_init_needs_the_kernel_last_axis_on_the_output_channels():
    layer = keras.layers.Conv2DTranspose(4, 3)  # kernel (3, 3, 4, 2): last axis = inputs
    with pytest.raises(
        ValueError, match=r"WeightNormalization: argument `layer` got .*data_init=True"
    ):
        WeightNormalization(layer, data_init=True).build((None, 5, 5, 2))


def test_bad_data_init():
    with pytest.raises(ValueError, match=r"WeightNormalization: argument `data_init` got 1"):
        WeightNormalization(keras.layers.Dense(2), data_init=1)
