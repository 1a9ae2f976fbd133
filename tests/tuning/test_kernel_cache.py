"""kfx.tuning._kernel_cache: TensorFlow's eager kernels kept between trials, within a bound."""

from __future__ import annotations

import keras
import pytest

from kfx.tuning import _kernel_cache

TENSORFLOW = keras.backend.backend() == "tensorflow"
tensorflow_only = pytest.mark.skipif(not TENSORFLOW, reason="TensorFlow's eager kernel cache")


def _context():
    from tensorflow.python.eager import context

    return context.context()


def _model(units: int) -> keras.Model:
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)])


@tensorflow_only
def test_clearing_keeps_the_cache_until_enough_new_variables():
    with _kernel_cache.KernelCache(max_new_variables=6) as cache:
        assert cache.active and "clear_kernel_cache" in vars(_context())
        cache.note(_model(4))  # 4 variables: kernel (3, 4), bias (4,), kernel (4, 1), bias (1,)
        keras.backend.clear_session()
        assert cache.emptied == 0
        cache.note(_model(4))  # the same names, shapes and dtypes: nothing new
        keras.backend.clear_session()
        assert cache.emptied == 0
        cache.note(_model(5))  # kernel (3, 5), bias (5,), kernel (5, 1): 7 > 6
        keras.backend.clear_session()
        assert cache.emptied == 1
        keras.backend.clear_session()  # counted again from nothing
        assert cache.emptied == 1
    assert not cache.active and "clear_kernel_cache" not in vars(_context())


@tensorflow_only
def test_an_inner_cache_leaves_the_outer_one_alone():
    with _kernel_cache.KernelCache() as outer:
        with _kernel_cache.KernelCache() as inner:
            assert outer.active and not inner.active
        assert "clear_kernel_cache" in vars(_context())
    assert "clear_kernel_cache" not in vars(_context())


@pytest.mark.skipif(TENSORFLOW, reason="the other backends have no eager kernel cache")
def test_nothing_to_keep_on_other_backends():
    with _kernel_cache.KernelCache() as cache:
        cache.note(_model(4))
        keras.backend.clear_session()
        assert not cache.active and cache.emptied == 0


@tensorflow_only
def test_kept_kernels_are_memory_the_bound_gives_back(fresh_python):
    """The cache's memory, measured: kernels of 600 new variables stay through a kept
    clear, and go at the clear past the bound (resident memory, glibc's free pages returned)."""
    out = fresh_python(
        """
        import ctypes, gc
        import keras, tensorflow as tf
        from kfx.tuning._kernel_cache import KernelCache

        def rss_mb():
            gc.collect()
            ctypes.CDLL(None).malloc_trim(0)
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

        class Model:  # what KernelCache.note reads of a model: its weights
            def __init__(self, weights):
                self.weights = weights

        with KernelCache(max_new_variables=1000) as cache:
            base = rss_mb()
            # Each variable of a new shape adds a kernel; the variables themselves are freed.
            cache.note(Model([tf.Variable(tf.zeros((2, n))) for n in range(1, 601)]))
            grown = rss_mb()
            keras.backend.clear_session()  # kept: 600 <= 1000
            kept = rss_mb()
            cache.note(Model([tf.Variable(tf.zeros((3, n))) for n in range(1, 601)]))
            keras.backend.clear_session()  # 1200 > 1000: emptied
            emptied = rss_mb()
        print("MB", round(grown - base), round(kept - base), round(emptied - base), cache.emptied)
        """
    )
    grown, kept, emptied, times = map(int, out.split("MB")[-1].split())
    assert times == 1
    assert grown > 15  # about 35 to 70 KB a kernel
    assert kept > 0.8 * grown
    assert emptied < 0.5 * grown  # both batches' kernels freed, but for allocator residue
