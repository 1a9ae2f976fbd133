"""kfx/distribute/_data.py: arrays or datasets to global batches, checked against a strategy."""

from __future__ import annotations

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    from kfx.distribute._data import (
        DEFAULT_BATCH_SIZE,
        check_batches,
        prepare_data,
        to_dataset,
        unpack_validation,
    )

    STRATEGY = tf.distribute.get_strategy()


def rows(dataset):
    return [tuple(np.asarray(part).tolist() for part in batch) for batch in dataset]


def model(inputs=(3,)):
    return keras.Sequential([keras.Input(inputs), keras.layers.Dense(1)])


def test_arrays_are_shuffled_by_seed_plus_epoch():
    x = np.arange(10)
    make = to_dataset(x, x * 10, None, 4, True, 5, "x")
    assert rows(make(0)) == rows(make(0))  # every worker, every call: one order
    assert rows(make(0)) != rows(make(1))  # each epoch its own
    assert rows(to_dataset(x, x * 10, None, 4, True, 6, "x")(0)) == rows(make(1))  # resume
    epoch = rows(make(3))
    assert [len(b[0]) for b in epoch] == [4, 4, 2]
    assert sorted(v for b in epoch for v in b[0]) == list(range(10))
    assert all(np.array_equal(np.array(b[1]), np.array(b[0]) * 10) for b in epoch)  # pairs kept


def test_unshuffled_arrays_keep_their_order_and_structure():
    x = {"a": np.arange(6.0), "b": np.arange(6).reshape(6, 1)}
    make = to_dataset(x, np.arange(6), np.ones(6), None, False, 0, "x")
    first = next(iter(make(0)))
    assert len(first) == 3 and set(first[0]) == {"a", "b"}  # (x, y, sample_weight)
    np.testing.assert_array_equal(first[0]["a"], np.arange(6.0))
    whole = to_dataset(np.zeros((100, 2)), None, None, None, False, 0, "x")(0)
    assert [b[0].shape[0] for b in whole] == [DEFAULT_BATCH_SIZE] * 3 + [4]


def test_a_dataset_is_taken_as_it_is():
    dataset = tf.data.Dataset.from_tensor_slices((np.zeros((4, 3)), np.zeros((4, 1)))).batch(2)
    make = to_dataset(dataset, None, None, None, True, 0, "x")
    assert make(0) is dataset and make(7) is dataset


def test_input_errors():
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((4, 3))).batch(2)
    with pytest.raises(ValueError, match=r"`x` is a tf.data.Dataset.*must be None"):
        to_dataset(dataset, np.zeros(4), None, None, True, 0, "x")
    with pytest.raises(
        ValueError, match=r"`validation_data` is a tf.data.Dataset.*leave `batch_size`"
    ):
        to_dataset(dataset, None, None, 8, True, 0, "validation_data")
    with pytest.raises(ValueError) as info:
        to_dataset(None, None, None, None, True, 0, "x")
    assert str(info.value) == (
        "kfx.distribute.fit: argument `x` got None; expected arrays or a tf.data.Dataset."
    )
    for bad in (0, True, 2.0):
        with pytest.raises(
            ValueError, match=rf"argument `batch_size` got {bad!r}; expected a positive"
        ):
            to_dataset(np.zeros(4), None, None, bad, True, 0, "x")


def test_check_batches_returns_the_global_batch_size():
    x = np.zeros((10, 3), "float32")
    assert check_batches(tf.data.Dataset.from_tensor_slices(x).batch(4), STRATEGY, "x") == 4
    unknown = tf.data.Dataset.from_tensor_slices(x).batch(4).filter(lambda b: True)
    assert check_batches(unknown, STRATEGY, "x") == 4  # read from the first batch


def test_check_batches_errors():
    x = np.zeros((10, 3), "float32")
    with pytest.raises(
        ValueError, match=r"`x` yields unbatched elements.*1 replicas of the default"
    ):
        check_batches(tf.data.Dataset.from_tensor_slices(x), STRATEGY, "x", model())
    scalars = tf.data.Dataset.from_tensor_slices(np.zeros(4))
    with pytest.raises(ValueError, match=r"unbatched"):
        check_batches(scalars, STRATEGY, "x")
    empty = tf.data.Dataset.from_tensor_slices(x).batch(4).filter(lambda b: False)
    with pytest.raises(ValueError, match=r"^kfx.distribute.fit: `validation_data` is empty.$"):
        check_batches(empty, STRATEGY, "validation_data")


def test_unpack_validation():
    x, y, w = np.zeros((4, 3)), np.zeros((4, 1)), np.ones(4)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    assert unpack_validation(None) == (None, None, None)
    assert unpack_validation(dataset) == (dataset, None, None)
    assert unpack_validation((x, y))[1] is y and unpack_validation([x, y])[2] is None
    assert unpack_validation((x, y, w))[2] is w
    for bad in ({"x": x}, (x,), x):
        with pytest.raises(ValueError) as info:
            unpack_validation(bad)
        assert str(info.value) == (
            f"kfx.distribute.fit: argument `validation_data` got {type(bad).__name__!r}; "
            "expected (x, y), (x, y, w) or a dataset."
        )


def test_prepare_data_batches_validation_arrays_like_the_training_ones():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    train, val = prepare_data(model((2,)), STRATEGY, x, y, None, (x, y), 4, True, None)
    assert [b[0].shape[0] for b in val] == [4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in val]), y)  # never shuffled
    assert rows(train(0)) == rows(to_dataset(x, y, None, 4, True, 1337, "x")(0))  # default seed
    assert prepare_data(model((2,)), STRATEGY, x, y, None, None, 4, True, 0)[1] is None
