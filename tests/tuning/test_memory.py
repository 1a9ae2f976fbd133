"""kfx.tuning._memory: the garbage-collector freeze of a search, and a trial's memory released."""

from __future__ import annotations

import gc
import sys
import weakref

import keras
import pytest

from kfx.tuning import _memory


@pytest.fixture
def unfrozen():
    """No freeze of tests/conftest.py's during the test (put back after it)."""
    outer = gc.get_freeze_count() > 0
    gc.unfreeze()
    yield
    if outer:
        gc.freeze()


class _Blob:
    pass


def test_freezes_what_is_alive_and_renews_then_unfreezes(unfrozen):
    with _memory.FrozenGC() as frozen:
        assert frozen.active
        at_start = gc.get_freeze_count()
        assert at_start > 0
        blobs = [_Blob() for _ in range(1000)]
        frozen.renew()  # after a trial's build: its objects join the frozen ones
        assert gc.get_freeze_count() >= at_start + len(blobs)
    assert gc.get_freeze_count() == 0 and not frozen.active


def test_garbage_is_collected_before_the_freeze(unfrozen):
    cycle = _Blob()
    cycle.me = cycle  # garbage that only a collection frees
    alive = weakref.ref(cycle)
    enabled = gc.isenabled()
    gc.disable()  # no automatic collection in between
    try:
        del cycle
        assert alive() is not None
        with _memory.FrozenGC():
            # Collected on entry: frozen, it would have stayed for the whole search.
            assert alive() is None
    finally:
        if enabled:
            gc.enable()


def test_someone_elses_freeze_is_left_alone(unfrozen):
    gc.freeze()
    mine = gc.get_freeze_count()
    try:
        with _memory.FrozenGC() as frozen:
            assert not frozen.active
            blobs = [_Blob() for _ in range(1000)]
            frozen.renew()  # does nothing: the new objects stay out of the frozen ones
            assert gc.get_freeze_count() < mine + len(blobs)
        assert gc.get_freeze_count() > 0  # still frozen: the freeze is not ours to undo
    finally:
        gc.unfreeze()


def test_the_keras_session_is_cleared_on_exit(unfrozen):
    with _memory.FrozenGC():
        first = keras.layers.Dense(1).name
        second = keras.layers.Dense(1).name
    assert first != second  # names count up within a session
    assert keras.layers.Dense(1).name == first  # a new session counts from the start


def test_unfrozen_even_when_the_search_raises(unfrozen):
    with pytest.raises(RuntimeError):
        with _memory.FrozenGC():
            raise RuntimeError("a trial broke the search")
    assert gc.get_freeze_count() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_malloc_trim_is_found_on_glibc():
    trim = _memory._malloc_trim()
    assert trim is not None and trim(0) in (0, 1)


def test_release_clears_jax_compiled_programs(fresh_python):
    out = fresh_python(
        """
        import jax, jax.numpy as jnp
        from kfx.tuning._memory import release_trial_memory

        traced = []

        @jax.jit
        def double(x):
            traced.append(1)  # runs when JAX traces (compiles) the function, not on a cache hit
            return 2 * x

        double(jnp.ones(3)); double(jnp.ones(3))
        before = len(traced)
        release_trial_memory()
        double(jnp.ones(3))
        print("traced", before, len(traced))
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    assert out.split("traced")[-1].split() == ["1", "2"]
