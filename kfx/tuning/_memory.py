"""The process memory of a search: garbage-collector freeze, and what a trial leaves behind.

keras-tuner collects garbage (twice) before every trial's build, and in a Keras process a
full collection walks every object of the process. :class:`FrozenGC` moves the objects
that are alive when a trial starts out of the collector's way (``gc.freeze``), so that a
trial's collections walk only that trial's objects, and gives them back when the search
ends.

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

import ctypes
import functools
import gc

import keras


class FrozenGC:
    """A context manager: objects alive at its start, and at each :meth:`renew`, are frozen.

    On entry the process' garbage is collected (with Keras' session cleared) and what is
    left is frozen; :meth:`renew` freezes what is alive then (call it right after
    keras-tuner's own collection, at a trial's build). On exit the last trial's objects
    are freed while the rest is still frozen, then everything is unfrozen.

    If someone else froze objects already (``gc.get_freeze_count() > 0``), it does nothing:
    the freeze is theirs to undo. ``active`` says which.
    """

    def __init__(self):
        self.active = False

    def __enter__(self) -> FrozenGC:
        self.active = not gc.get_freeze_count()
        if self.active:
            keras.backend.clear_session()  # also collects garbage: only live objects get frozen
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


__all__ = ["FrozenGC", "release_trial_memory"]
