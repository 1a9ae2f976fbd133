"""The process memory of a search: garbage-collector freeze, and what a trial leaves behind.

keras-tuner collects garbage (twice) before every trial's build, and in a Keras process a
full collection walks every object of the process (about 200 ms for the 440,000 objects
that importing TensorFlow, Keras and keras-tuner leaves). :class:`FrozenGC` moves the
objects that are alive when a trial starts out of the collector's way (``gc.freeze``), so
that a trial's collections walk only that trial's objects, and gives them back when the
search ends.

What is garbage when the search starts is collected before the freeze, young garbage
always (the search space's build, made inside :func:`kept_young` by kfx's tuners, is
young), and garbage of every age where an accelerator's memory is at stake (a GPU or TPU
that the backend uses; :func:`uses_accelerator`), since a model dropped before the search
may hold it. On the CPU the old garbage (a model dropped long before) is left to Python's
own collector, as in any other program, though it can only free it once the search ends:
the full collection it takes to find it would cost each trial of a 20-trial search 10 ms.
Call ``gc.collect()`` before the search to free it first.

A trial also leaves memory behind outside Python's objects: on JAX the XLA programs its
model compiled, kept until ``jax.clear_caches()``; and with glibc the heap pages freed by
the trial stay in the allocator's per-thread arenas, each keeping the peak of the largest
trial it served, until ``malloc_trim``. :func:`release_trial_memory` frees both.

The figures behind these choices are in docs/tuning.md ("Measured").

Example:
    >>> import gc
    >>> from kfx.tuning._memory import FrozenGC, release_trial_memory
    >>> already = gc.get_freeze_count()  # a freeze of someone else's is left alone
    >>> with FrozenGC() as frozen:
    ...     frozen.active == (already == 0), gc.get_freeze_count() > 0
    (True, True)
    >>> gc.get_freeze_count() == already
    True
    >>> release_trial_memory()
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
from collections.abc import Iterator

import keras

#: ``gc.collect`` generations: the young two (0 and 1), and all three.
YOUNGEST_TWO, OLDEST = 1, 2


class FrozenGC:
    """A context manager: objects alive at its start, and at each :meth:`renew`, are frozen.

    On entry Keras' session is cleared and the garbage is collected, the young generations
    or, with ``full_collection`` (default: :func:`uses_accelerator`), all of them; what is
    left is frozen. :meth:`renew` freezes what is alive then (call it right after
    keras-tuner's own collection, at a trial's build). On exit the last trial's objects
    are freed while the rest is still frozen, then everything is unfrozen.

    If someone else froze objects already (``gc.get_freeze_count() > 0``), it does nothing:
    the freeze is theirs to undo. ``active`` says which.
    """

    def __init__(self, full_collection: bool | None = None):
        self.full_collection = full_collection
        self.active = False

    def __enter__(self) -> FrozenGC:
        self.active = not gc.get_freeze_count()
        if self.active:
            full = uses_accelerator() if self.full_collection is None else self.full_collection
            keras.backend.clear_session(free_memory=False)
            gc.collect(OLDEST if full else YOUNGEST_TWO)  # only live objects get frozen
            gc.freeze()
        return self

    def renew(self) -> None:
        """Freeze what is alive now (after keras-tuner's ``clear_session()`` and collection)."""
        if self.active:
            gc.freeze()

    def __exit__(self, *exc_info) -> None:
        # Free the last trial while the rest is frozen: a full collection walks them all.
        keras.backend.clear_session()
        if self.active:
            gc.unfreeze()
            self.active = False


@contextlib.contextmanager
def kept_young() -> Iterator[None]:
    """Inside the block, no automatic collection runs: what is made there stays in the
    youngest generation, and a :class:`FrozenGC`'s entry frees it if it is garbage by then
    (a search space's build: a whole model, dropped right away)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def uses_accelerator() -> bool:
    """Whether the Keras backend computes on a GPU or TPU in this process."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return any(tf.config.list_logical_devices(kind) for kind in ("GPU", "TPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available() and torch.cuda.is_initialized()
    return False


def release_trial_memory() -> None:
    """Give back what the trial just ended used: JAX's compiled programs, glibc's free pages.

    (keras-tuner's own ``clear_session()`` before each build frees Keras' state.)
    """
    if keras.backend.backend() == "jax":
        import jax

        jax.clear_caches()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None (another C library, another system)."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except (OSError, TypeError):
        return None


__all__ = ["FrozenGC", "kept_young", "release_trial_memory", "uses_accelerator"]
