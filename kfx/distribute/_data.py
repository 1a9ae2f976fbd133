"""The input pipeline of :func:`kfx.distribute.fit`: arrays or datasets to global batches.

Arrays become a ``tf.data.Dataset`` rebuilt for each epoch, shuffled with numpy and
``seed + epoch`` (whatever TensorFlow's global seed): data sharding hands worker *i* the
*i*-th part of each global batch, so every worker must see one order, and a run resumed at
epoch *k* must read the batches an uninterrupted run would have read. A dataset is taken
as it is, batched with the global batch size. Both are checked against the strategy before
training starts: a global batch that does not divide across the replicas is an error that
names the strategy, not a failure inside the first step.

Example:
    >>> import numpy as np
    >>> from kfx.distribute._data import to_dataset
    >>> make = to_dataset(np.arange(6), None, None, 4, True, 0, "x")  # batch 4, seed 0
    >>> [x.numpy().tolist() for (x,) in make(0)]  # epoch 0: seed 0 + 0, on every worker
    [[3, 2, 5, 4], [0, 1]]
    >>> [x.numpy().tolist() for (x,) in make(1)]  # epoch 1: another order, the same everywhere
    [[4, 0, 2, 1], [5, 3]]
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np

from kfx._validation import fail, is_int
from kfx.distribute._backend import WHERE, tensorflow
from kfx.distribute.strategies import strategy_name

#: Global batch size for array inputs when `batch_size` is None (Keras' default).
DEFAULT_BATCH_SIZE = 32
#: Shuffle seed of array inputs when `seed` is None: every worker must see one order, since
#: data sharding hands worker i the i-th part of each global batch.
DEFAULT_SEED = 1337


def is_dataset(x) -> bool:
    return isinstance(x, tensorflow().data.Dataset)


def to_dataset(x, y, sample_weight, batch_size, shuffle, seed, what: str):
    """``make(epoch) -> batched tf.data.Dataset`` of `x` (a dataset, or arrays to slice).

    Arrays are shuffled with ``seed + epoch`` (numpy, whatever TensorFlow's global seed):
    every worker sees one order (data sharding hands worker i the i-th part of each global
    batch), and a run resumed at epoch k reads the batches an uninterrupted run would have
    read.
    """
    tf = tensorflow()
    if is_dataset(x):
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"{WHERE}: `{what}` is a tf.data.Dataset; it must yield (x, y) itself, "
                "so `y` and `sample_weight` must be None."
            )
        if batch_size is not None:
            raise ValueError(
                f"{WHERE}: `{what}` is a tf.data.Dataset, already batched with the global "
                "batch size; leave `batch_size` None."
            )
        return lambda epoch: x
    if x is None:
        fail(WHERE, what, x, "arrays or a tf.data.Dataset")
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if not is_int(batch_size) or batch_size < 1:
        fail(WHERE, "batch_size", batch_size, "a positive int (the global batch size)")
    parts = (x,) if y is None else (x, y) if sample_weight is None else (x, y, sample_weight)
    parts = tuple(_as_arrays(p) for p in parts)
    count = len(keras.tree.flatten(parts[0])[0])
    options = tf.data.Options()
    # In-memory data has no files to shard by: every worker slices the same batches.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA

    def make(epoch: int):
        epoch_parts = parts
        if shuffle:  # numpy, not tf.data: independent of TensorFlow's global seed
            order = np.random.default_rng(seed + epoch).permutation(count)
            epoch_parts = keras.tree.map_structure(lambda a: a[order], parts)
        dataset = tf.data.Dataset.from_tensor_slices(epoch_parts)
        return dataset.batch(batch_size).with_options(options)

    return make


def _as_arrays(value):
    if isinstance(value, Mapping):
        return {k: _as_arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_as_arrays(v) for v in value)
    return np.asarray(value)


def _expected_rank(model) -> int | None:
    """Rank of the model's first input (batch axis included), None when it has no inputs."""
    try:
        return len(keras.tree.flatten(model.inputs)[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def check_batches(dataset, strategy, what: str, model=None) -> int | None:
    """The global batch size; a ValueError if it does not divide or the data is unbatched."""
    tf = tensorflow()
    replicas = strategy.num_replicas_in_sync
    spec = dataset.element_spec
    x_spec = spec[0] if isinstance(spec, tuple) else spec
    specs = [s for s in tf.nest.flatten(x_spec) if hasattr(s, "shape")]
    expected_rank = _expected_rank(model)
    if (
        not specs
        or specs[0].shape.rank == 0
        or (expected_rank is not None and specs[0].shape.rank == expected_rank - 1)
    ):
        raise ValueError(
            f"{WHERE}: `{what}` yields unbatched elements; batch it with the global batch size "
            f"(a multiple of the {replicas} replicas of {strategy_name(strategy)})."
        )
    size = specs[0].shape[0]
    if size is None:  # unknown statically: look at the first batch
        first = next(iter(dataset.take(1)), None)
        if first is None:
            raise ValueError(f"{WHERE}: `{what}` is empty.")
        size = int(tf.shape(tf.nest.flatten(first)[0])[0])
    if size % replicas:
        raise ValueError(
            f"{WHERE}: the global batch size {size} of `{what}` does not divide across the "
            f"{replicas} replicas of {strategy_name(strategy)}; use a multiple of {replicas} "
            "(the global batch is split evenly, one part per replica)."
        )
    return size


def unpack_validation(validation_data):
    """``(x, y, sample_weight)`` of `validation_data`: a dataset (then y, w are None) or tuple."""
    if validation_data is None or is_dataset(validation_data):
        return validation_data, None, None
    if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
        return (*validation_data, None)[:3]
    fail(WHERE, "validation_data", type(validation_data).__name__, "(x, y), (x, y, w) or a dataset")


def prepare_data(model, strategy, x, y, sample_weight, validation_data, batch_size, shuffle, seed):
    """``(make_train(epoch), validation dataset or None)``, both checked against `strategy`.

    The validation data is batched like the training data (`batch_size`, default 32) when
    it is arrays, never shuffled.
    """
    seed = DEFAULT_SEED if seed is None else seed
    train_data = to_dataset(x, y, sample_weight, batch_size, shuffle, seed, "x")
    check_batches(train_data(0), strategy, "x", model)
    val_x, val_y, val_w = unpack_validation(validation_data)
    if val_x is None:
        return train_data, None
    val_batch = None if is_dataset(val_x) else (batch_size or DEFAULT_BATCH_SIZE)
    val_data = to_dataset(val_x, val_y, val_w, val_batch, False, seed, "validation_data")(0)
    check_batches(val_data, strategy, "validation_data", model)
    return train_data, val_data
