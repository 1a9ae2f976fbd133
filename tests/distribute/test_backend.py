"""kfx/distribute/_backend.py: TensorFlow, or an error naming the Keras backend."""

from __future__ import annotations

import keras
import pytest

from kfx.distribute._backend import WHERE, tensorflow


def test_tensorflow_under_the_tensorflow_backend_else_an_error():
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        assert tensorflow() is tf
    else:
        with pytest.raises(RuntimeError, match="needs KERAS_BACKEND=tensorflow"):
            tensorflow()


def test_another_backend_is_named_in_the_error(fresh_python):
    out = fresh_python(
        """
        from kfx.distribute._backend import tensorflow
        try:
            tensorflow()
        except RuntimeError as err:
            print(err)
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    assert out.strip().splitlines()[-1] == (
        f"{WHERE}: tf.distribute needs KERAS_BACKEND=tensorflow; the backend is 'jax'."
    )
