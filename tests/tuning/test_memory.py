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


def _garbage(old: bool) -> weakref.ref:
    """A reference cycle that only a collection frees, in the oldest generation if `old`."""
    cycle = _Blob()
    cycle.me = cycle
    if old:
        gc.collect()  # survivors of a full collection are in the oldest generation
    return weakref.ref(cycle)


@pytest.fixture
def no_automatic_collection():
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()


def test_young_garbage_is_collected_before_the_freeze(unfrozen, no_automatic_collection):
    alive = _garbage(old=False)
    assert alive() is not None
    with _memory.FrozenGC(full_collection=False):
        # Collected on entry: frozen, it would have stayed for the whole search.
        assert alive() is None


def test_old_garbage_waits_for_the_search_end_unless_a_full_collection(
    unfrozen, no_automatic_collection
):
    alive = _garbage(old=True)
    with _memory.FrozenGC(full_collection=False):
        gc.collect()
        assert alive() is not None  # frozen with the live objects: no collection sees it
    gc.collect()
    assert alive() is None  # unfrozen: Python's own collections free it

    alive = _garbage(old=True)
    with _memory.FrozenGC(full_collection=True):
        assert alive() is None


def test_by_default_a_full_collection_only_for_an_accelerator(unfrozen, no_automatic_collection):
    alive = _garbage(old=True)
    with _memory.FrozenGC():
        assert (alive() is None) == _memory.uses_accelerator()


def test_what_is_made_while_kept_young_is_freed_by_the_young_collection(
    unfrozen, no_automatic_collection
):
    gc.enable()  # as in a user's process: automatic collections promote what survives them
    with _memory.kept_young():
        assert not gc.isenabled()
        cycle = _Blob()
        cycle.me = cycle
        cycle.model = [[_Blob() for _ in range(10)] for _ in range(10_000)]  # a build's objects
        alive = weakref.ref(cycle)
        del cycle
    assert gc.isenabled()
    gc.disable()
    with _memory.FrozenGC(full_collection=False):
        assert alive() is None


def test_kept_young_leaves_a_disabled_collector_disabled(no_automatic_collection):
    with _memory.kept_young():
        pass
    assert not gc.isenabled()


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


def test_a_search_frees_its_search_space_model_when_it_starts(unfrozen, tmp_path):
    """keras-tuner builds one model before the search to learn its space; kfx's tuners build
    it while the collector keeps it young, so the search's entry frees it, not its end."""
    import numpy as np

    from kfx.tuning import search

    built: list[weakref.ref] = []
    alive_at_build: list[bool] = []

    def build(hp):
        alive_at_build.append(bool(built) and built[0]() is not None)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 2, 64))])
        model.compile("sgd", "mse")
        built.append(weakref.ref(model))
        return model

    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    search(build, x, x, max_trials=2, epochs=1, directory=str(tmp_path), seed=1)
    assert len(alive_at_build) == 3  # the search space's build, then the two trials'
    assert alive_at_build[1:] == [False, False]
