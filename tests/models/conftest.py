"""Checks every network builder's tests run the same way: a few steps of training, a reload."""

import keras
import numpy as np
import pytest

from kfx.datasets import synthetic_images


def _train_steps_lower_the_loss(model: keras.Model, steps: int = 8) -> None:
    """Fit `model` (an image classifier) to 16 synthetic images; the loss must go down."""
    keras.utils.set_random_seed(0)
    x, y = synthetic_images(16, model.input_shape[1:], model.output_shape[-1])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0]


def _keras_file_round_trip(model: keras.Model, directory) -> None:
    """Save `model` to a ``.keras`` file, reload it safely; same size, same predictions."""
    x = np.random.default_rng(0).random((2, *model.input_shape[1:]), "float32")
    model.save(directory / "net.keras")
    reloaded = keras.saving.load_model(directory / "net.keras", safe_mode=True)
    assert reloaded.count_params() == model.count_params()
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


@pytest.fixture
def train_steps_lower_the_loss():
    """``train_steps_lower_the_loss(model)``: a few training steps on tiny data help."""
    return _train_steps_lower_the_loss


@pytest.fixture
def keras_file_round_trip(tmp_path):
    """``keras_file_round_trip(model)``: ``.keras`` save and safe reload predict the same."""
    return lambda model: _keras_file_round_trip(model, tmp_path)


#: Why the JAX rerun leaves the deep networks out (see pytest_collection_modifyitems).
DEEP_UNDER_JAX = (
    "deep networks repeat resnet50's and resnet50v2's blocks; under JAX their eager calls "
    "take minutes, so the JAX rerun checks the layouts on resnet50 and resnet50v2 (the "
    "TensorFlow suite runs them all)"
)


def pytest_collection_modifyitems(config, items):
    """Under JAX, skip the `slow` cases of tests/models: the deep ResNets (DEEP_UNDER_JAX)."""
    if keras.backend.backend() != "jax":
        return
    for item in items:
        if "tests/models/" in str(item.path) and item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.skip(reason=DEEP_UNDER_JAX))
