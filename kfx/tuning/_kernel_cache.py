"""Keep TensorFlow's eager kernel cache from one trial to the next, within a bound.

Keras' ``clear_session()``, which keras-tuner calls before every trial's build, also
empties TensorFlow's eager kernel cache (``context.clear_kernel_cache()``). The next
trial's build then instantiates a kernel again for every eager op it runs (each variable's
creation, initializer and assignment, the optimizer's and metrics' state): about 1 ms an
op, most of what a small model's build costs (figures in docs/tuning.md, "Measured").

Most of that cache need not go. The kernels of a trial's traced functions (its train and
test steps) leave it with the functions, when the trial's model is freed (TensorFlow's
``EagerContext::RemoveFunction``), and the kernels of single eager ops are keyed by op,
attributes and device, the same from one trial to the next, with one exception: a
variable's creation (``VarHandleOp``) is keyed by the variable's name, shape and dtype, and
each new one adds a kernel of about 35 to 70 KB. A search whose trials draw new layer
widths adds a few of those a trial, so the cache is still emptied, but only once the
trials' models have brought more than :data:`MAX_NEW_VARIABLES` variables of a name, shape
and dtype not seen since it last was (:meth:`KernelCache.note`, called with each trial's
model): a bound of a few tens of MB (optimizer slots included).

Inside :class:`KernelCache`, the context's ``clear_kernel_cache`` waits for the pending
eager ops (its other job, for asynchronous execution) and empties the cache only past that
bound. ``tf.random.set_seed`` still empties it, to reset the seeds of stateful random
ops: it does so directly, not through this method.

Example:
    >>> import keras
    >>> from kfx.tuning._kernel_cache import KernelCache
    >>> with KernelCache() as cache:
    ...     cache.active == (keras.backend.backend() == "tensorflow")
    True
"""

from __future__ import annotations

from typing import Any

import keras

#: The eager context method that empties the cache (``tensorflow.python.eager.context``).
METHOD = "clear_kernel_cache"
#: New variables (name, shape, dtype) the trials' models may bring before the cache is
#: emptied: with an optimizer's two slots each, about 400 kernels, 15 to 30 MB.
MAX_NEW_VARIABLES = 128


class KernelCache:
    """A context manager: inside, clearing the eager kernel cache keeps it within a bound.

    ``active`` is False on other backends, when TensorFlow's context has no such method,
    and inside another :class:`KernelCache` (the outer one decides). ``emptied`` counts
    the times the cache was emptied inside the block.
    """

    def __init__(self, max_new_variables: int = MAX_NEW_VARIABLES):
        self.max_new_variables = max_new_variables
        self.active = False
        self.emptied = 0
        self._context: Any = None
        self._empty: Any = None  # the context's own clear_kernel_cache
        self._seen: set[tuple] = set()

    def __enter__(self) -> KernelCache:
        context = _eager_context()
        if (
            context is None
            or METHOD in vars(context)
            or not callable(getattr(context, METHOD, None))
        ):
            return self
        self._context, self._empty = context, getattr(context, METHOD)
        setattr(context, METHOD, self._clear)
        self.active = True
        return self

    def note(self, model: Any) -> None:
        """Count `model`'s variables of a name, shape and dtype not seen since the last emptying."""
        if self.active:
            self._seen.update(
                (v.name, tuple(v.shape), str(v.dtype)) for v in getattr(model, "weights", ())
            )

    def _clear(self) -> None:
        if len(self._seen) > self.max_new_variables:
            self._empty()
            self._seen.clear()
            self.emptied += 1
        else:
            self._context.executor.wait()

    def __exit__(self, *exc_info) -> None:
        if self.active:
            delattr(self._context, METHOD)
            self.active = False


def _eager_context():
    """TensorFlow's eager context, or None on the other backends (and on a TensorFlow
    without that module: the cache is then cleared as Keras clears it)."""
    if keras.backend.backend() != "tensorflow":
        return None
    # TensorFlow's only handle on it is internal: kfx's one TensorFlow-internal import
    # (tests/test_package.py names it).
    try:
        from tensorflow.python.eager import context
    except ImportError:
        return None
    return context.context()


__all__ = ["KernelCache", "MAX_NEW_VARIABLES"]
