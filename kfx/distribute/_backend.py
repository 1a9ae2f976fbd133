"""TensorFlow for the tf.distribute code, or an error that names the Keras backend.

``tf.distribute`` strategies only drive models of Keras' TensorFlow backend; under JAX or
PyTorch, :func:`kfx.distribute.fit` and its parts fail at once with a message that says so,
rather than deep inside a strategy. TensorFlow is imported on first use, so importing
:mod:`kfx.distribute` (and ``kfx train``) stays cheap.

Example:
    >>> from kfx.distribute._backend import WHERE, tensorflow
    >>> WHERE, tensorflow().__name__
    ('kfx.distribute.fit', 'tensorflow')
"""

from __future__ import annotations

#: What errors of :func:`kfx.distribute.fit` and its parts start with.
WHERE = "kfx.distribute.fit"


def tensorflow():
    """The ``tensorflow`` module; a ``RuntimeError`` when Keras' backend is another one."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"{WHERE}: tf.distribute needs KERAS_BACKEND=tensorflow; "
            f"the backend is {keras.backend.backend()!r}."
        )
    import tensorflow as tf

    return tf
