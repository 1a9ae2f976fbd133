"""Keep a trial's train-step graph from outliving it on TensorFlow (kfx's one optimizer patch).

Keras' TensorFlow optimizer sums every gradient over the replicas before applying it, even
when there is one replica and no distribution strategy: ``ReplicaContext.all_reduce`` is a
``tf.custom_gradient``, and tracing it inside the train step registers a gradient function
in TensorFlow's global gradient registry, which keeps the whole train-step graph alive for
the rest of the process: a search's memory grows with every trial, and so does the work of
every later garbage collection (figures in docs/tuning.md, "Measured").

With one replica the sum is the gradient itself, so :func:`skip_all_reduce` makes the
optimizer of a trial's model skip it whenever no distribution strategy is active when it
applies gradients (under any strategy it sums as before). This module is the only place
in kfx that touches that optimizer method, a private one (``_all_reduce_sum_gradients``):
the exception to kfx's public-API rule is isolated here and tested on the supported Keras
(tests/tuning/test_single_replica.py); if a Keras release renames the method,
:func:`skip_all_reduce` leaves the optimizer alone and returns False.

Example:
    >>> import keras
    >>> from kfx.tuning._single_replica import skip_all_reduce
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> skip_all_reduce(model) == (keras.backend.backend() == "tensorflow")
    True
"""

from __future__ import annotations

from typing import Any

import keras

#: The TensorFlow optimizer method that all-reduces the gradients (Keras 3).
METHOD = "_all_reduce_sum_gradients"


def skip_all_reduce(model: Any) -> bool:
    """Make `model`'s optimizer (and the one a loss-scale optimizer wraps) skip the one-replica sum.

    Returns whether an optimizer was changed: False on other backends, for an uncompiled
    model or anything that is not a model, and when Keras has no such method.
    """
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    changed = False
    optimizer = getattr(model, "optimizer", None)
    while optimizer is not None:
        summed = getattr(optimizer, METHOD, None)
        if callable(summed) and not getattr(summed, "kfx_single_replica", False):
            setattr(optimizer, METHOD, _unless_distributed(summed, tf.distribute.has_strategy))
            changed = True
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return changed


def _unless_distributed(summed, has_strategy):
    def all_reduce_sum_gradients(grads_and_vars):
        if has_strategy():
            return summed(grads_and_vars)
        return list(grads_and_vars)

    all_reduce_sum_gradients.kfx_single_replica = True
    return all_reduce_sum_gradients
