"""Small data that ships with installed packages or is generated: no downloads.

Example:
    >>> from kfx import datasets
    >>> (x, y), (xt, yt) = datasets.digits()
    >>> x.shape[1:], x.dtype.name, int(y.max())
    ((8, 8, 1), 'float32', 9)
"""

from __future__ import annotations

import numpy as np

from kfx._validation import fail

#: The digits data stores 4-bit grey levels, 0..16.
DIGITS_MAX_VALUE = 16.0


def digits(test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's embedded 8x8 handwritten digits (1,797 images, 10 classes).

    Images are scaled to [0, 1] and shaped ``(n, 8, 8, 1)`` (channels last); the split is
    stratified and seeded.

    Args:
        test_fraction: share of the images held out, in (0, 1).
        seed: seed of the shuffle.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as float32 images and int32 labels.
    """
    if not 0 < test_fraction < 1:
        fail("digits", "test_fraction", test_fraction, "a float in (0, 1)")
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as err:
        raise ImportError(
            "kfx.datasets.digits needs scikit-learn (it ships the data): pip install 'kfx[demo]'"
        ) from err
    data = load_digits()
    x = (data.images / DIGITS_MAX_VALUE).astype("float32")[..., None]
    y = data.target.astype("int32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return (x_train, y_train), (x_test, y_test)


def synthetic_images(n: int, shape=(32, 32, 3), num_classes: int = 10, seed: int = 0):
    """Random images with labels that depend on them (learnable), for tests and benchmarks.

    The label is the index of the brightest of `num_classes` horizontal bands.

    Example:
        >>> from kfx.datasets import synthetic_images
        >>> x, y = synthetic_images(4, (16, 16, 3), 4)
        >>> x.shape, y.shape
        ((4, 16, 16, 3), (4,))
    """
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    bands = np.array_split(np.arange(shape[0]), num_classes)
    y = rng.integers(0, num_classes, size=n).astype("int32")
    for i, label in enumerate(y):
        x[i, bands[label]] += 0.5
    return x, y
