"""kfx.datasets: small data with no downloads."""

import numpy as np
import pytest

import kfx
from kfx import datasets


def test_is_a_module_reachable_from_kfx():
    assert kfx.datasets is datasets and not hasattr(datasets, "__path__")
    assert kfx.datasets.synthetic_images is datasets.synthetic_images


def test_synthetic_images_are_seeded_and_their_labels_learnable():
    x, y = datasets.synthetic_images(40, (20, 6, 3), num_classes=4, seed=3)
    assert x.shape == (40, 20, 6, 3) and x.dtype == np.float32 and y.dtype == np.int32
    again, labels = datasets.synthetic_images(40, (20, 6, 3), num_classes=4, seed=3)
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, labels)
    # The label is the brightest of the horizontal bands.
    bands = np.array_split(np.arange(20), 4)
    brightness = np.stack([x[:, band].mean(axis=(1, 2, 3)) for band in bands], axis=1)
    np.testing.assert_array_equal(brightness.argmax(axis=1), y)
    assert set(y.tolist()) == {0, 1, 2, 3}


def test_digits_are_scaled_split_and_stratified():
    pytest.importorskip("sklearn")
    (x, y), (xt, yt) = datasets.digits(test_fraction=0.25, seed=1)
    assert x.shape[1:] == (8, 8, 1) and x.dtype == np.float32 and y.dtype == np.int32
    assert len(x) + len(xt) == 1797 and abs(len(xt) - 0.25 * 1797) <= 1
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() == 1.0
    assert np.bincount(yt).min() >= 40  # stratified: every class in the test split
    (same, _), _ = datasets.digits(test_fraction=0.25, seed=1)
    np.testing.assert_array_equal(x, same)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_digits_bad_test_fraction(fraction):
    with pytest.raises(
        ValueError,
        match=r"digits: argument `test_fraction` got .*; expected a float in \(0, 1\)\.",
    ):
        datasets.digits(test_fraction=fraction)
