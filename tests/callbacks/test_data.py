"""kfx.callbacks._data: a logger's data is read once, cut to the samples it records."""

import numpy as np
import pytest

from kfx.callbacks._data import read_data

X = np.arange(40, dtype=np.float32).reshape(10, 4)
Y = np.arange(10)


def test_arrays_tuples_lists_and_dicts_are_cut_to_max_samples():
    x, y = read_data(X, 3, "Logger")
    np.testing.assert_array_equal(x, X[:3])
    assert y is None
    x, y = read_data((X, Y, np.ones(10)), 4, "Logger")  # the sample weights are dropped
    np.testing.assert_array_equal(x, X[:4])
    np.testing.assert_array_equal(y, Y[:4])
    (x,), y = read_data(([X],), 2, "Logger")
    assert x.shape == (2, 4) and y is None
    x, _ = read_data({"image": X, "meta": Y}, 5, "Logger")
    assert sorted(x) == ["image", "meta"] and x["meta"].tolist() == [0, 1, 2, 3, 4]


def test_max_samples_beyond_the_data_keeps_everything():
    x, y = read_data((X, Y), 100, "Logger")
    assert len(x) == 10 and len(y) == 10


def test_a_dataset_is_read_only_as_far_as_needed():
    tf = pytest.importorskip("tensorflow")
    endless = tf.data.Dataset.from_tensor_slices((X, Y)).batch(3).repeat()  # never ends
    x, y = read_data(endless, 5, "Logger")
    np.testing.assert_array_equal(x, X[:5])
    np.testing.assert_array_equal(y, Y[:5])
    x, y = read_data(tf.data.Dataset.from_tensor_slices(X).batch(4), 6, "Logger")
    assert x.shape == (6, 4) and y is None


@pytest.mark.parametrize(
    "data, match",
    [
        ((X, Y, Y, Y), "Logger: argument `data` got 'a tuple of 4 items'"),
        ((), "a tuple of 0 items"),
        (np.float32(3.0), r"an array of shape \(\)"),
        (np.zeros((0, 3)), r"an array of shape \(0, 3\)"),
    ],
)
def test_bad_data_names_the_caller_and_what_is_accepted(data, match):
    with pytest.raises(ValueError, match=match) as info:
        read_data(data, 2, "Logger")
    assert "tf.data.Dataset" in str(info.value)


def test_an_empty_dataset():
    tf = pytest.importorskip("tensorflow")
    with pytest.raises(ValueError, match="an empty dataset"):
        read_data(tf.data.Dataset.from_tensor_slices(X).take(0).batch(2), 2, "Logger")
