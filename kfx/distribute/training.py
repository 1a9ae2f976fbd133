"""``fit()``: train a compiled Keras model under any tf.distribute strategy.

Keras 3's own ``Model.fit`` fails under ``MultiWorkerMirroredStrategy`` ("Attempt to convert a
value (PerReplica:{...}) with an unsupported type", keras-team/keras issue 20585). :func:`fit`
runs the model's own ``train_step`` / ``test_step`` (so its loss, metrics, optimizer and any
overridden step) inside ``strategy.run`` inside a ``tf.function``, and does on the host what
Keras' loop does: a progress bar, a ``History``, callbacks, validation. In addition:

- Metric state is summed over replicas and workers with ``strategy.reduce`` inside the step
  and read with ``Metric.stateless_result``, so the logs are the global values (a metric's
  own ``result()`` would report one replica).
- Callbacks with side effects (checkpoints, TensorBoard, CSV, kfx loggers) run on the chief
  only; ``model.stop_training`` is all-reduced at each epoch end, so every worker stops at
  the same epoch.
- With ``checkpoint_dir``, weights, optimizer state and the epoch are saved at every epoch
  end through ``tf.train.CheckpointManager`` (non-chief workers write to a temporary folder
  that they delete, as TensorFlow's multi-worker guide does); a rerun restores the last
  checkpoint and trains the remaining epochs.

The step holds no host-side Python (no ``.numpy()``, no Python branches on tensors), so it
compiles for ``TPUStrategy`` as it is.

Example:
    >>> import numpy as np, keras, tensorflow as tf
    >>> from kfx.distribute import fit
    >>> strategy = tf.distribute.get_strategy()  # the default strategy: one device
    >>> with strategy.scope():
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile("sgd", "mse", metrics=["mae"])
    >>> x, y = np.ones((16, 4), "float32"), np.zeros((16, 1), "float32")
    >>> history = fit(model, x, y, batch_size=8, epochs=2, verbose=0)
    >>> sorted(history.history), len(history.history["loss"])
    (['loss', 'mae'], 2)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from kfx._validation import fail

WHERE = "kfx.distribute.fit"

#: Global batch size for array inputs when `batch_size` is None (Keras' default).
DEFAULT_BATCH_SIZE = 32
#: Shuffle seed of array inputs when `seed` is None: every worker must see one order, since
#: data sharding hands worker i the i-th part of each global batch.
DEFAULT_SEED = 1337
#: Checkpoints kept in `checkpoint_dir`.
MAX_TO_KEEP = 3

#: Callbacks that write files or talk to a server: chief only.
_CHIEF_ONLY_NAMES = ("ModelCheckpoint", "TensorBoard", "CSVLogger", "RemoteMonitor")
#: Callbacks whose work fit() cannot do under a strategy: name -> what to use instead.
_UNSUPPORTED = {
    "BackupAndRestore": (
        "it restores through Model.fit's internal epoch counter, which kfx.distribute.fit "
        "does not use; pass checkpoint_dir= instead (it resumes after a worker dies)"
    ),
}


def _tf():
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"{WHERE}: tf.distribute needs KERAS_BACKEND=tensorflow; "
            f"the backend is {keras.backend.backend()!r}."
        )
    import tensorflow as tf

    return tf


def strategy_name(strategy) -> str:
    """The class name of a strategy, e.g. ``"MirroredStrategy"``; the default one by its role."""
    name = type(strategy).__name__
    return "the default strategy" if name.startswith("_Default") else name


def task_info(strategy=None) -> tuple[str | None, int | None]:
    """``(task_type, task_id)`` of this process in a multi-worker cluster, ``(None, None)`` alone."""
    tf = _tf()
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy=None) -> bool:
    """Whether this process is the chief: the one that writes files.

    A process outside a cluster is its own chief; in a cluster, the task of type ``"chief"``,
    else worker 0 (TensorFlow's rule).

    Example:
        >>> from kfx.distribute import is_chief
        >>> is_chief()
        True
    """
    task_type, task_id = task_info(strategy)
    return task_type in (None, "chief") or (task_type == "worker" and task_id == 0)


def _check_model(model, strategy) -> None:
    name = strategy_name(strategy)
    if not isinstance(model, keras.Model):
        fail(WHERE, "model", model, "a keras.Model")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise ValueError(
            f"{WHERE}: the model {model.name!r} is not compiled; call model.compile(optimizer, "
            f"loss, metrics) inside `with strategy.scope():` before fit (strategy {name})."
        )
    if not model.built:
        raise ValueError(
            f"{WHERE}: the model {model.name!r} is not built; give it an Input (or call it "
            f"once) inside `with strategy.scope():` (strategy {name})."
        )
    for variable in model.variables:
        if not strategy.extended.variable_created_in_scope(variable.value):
            raise ValueError(
                f"{WHERE}: variable {variable.path!r} of model {model.name!r} was not created "
                f"under this {name}; build and compile the model inside "
                f"`with strategy.scope():` (strategy {name})."
            )


def _is_dataset(x) -> bool:
    tf = _tf()
    return isinstance(x, tf.data.Dataset)


def _to_dataset(x, y, sample_weight, batch_size, shuffle, seed, what: str):
    """``make(epoch) -> batched tf.data.Dataset`` of `x` (a dataset, or arrays to slice).

    Arrays are shuffled with ``seed + epoch`` (numpy, whatever TensorFlow's global seed):
    every worker sees one order (data sharding hands worker i the i-th part of each global
    batch), and a run resumed at epoch k reads the batches an uninterrupted run would have
    read.
    """
    tf = _tf()
    if _is_dataset(x):
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
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
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


def _check_batches(dataset, strategy, what: str, model=None) -> int | None:
    """The global batch size; a ValueError if it does not divide or the data is unbatched."""
    tf = _tf()
    replicas = strategy.num_replicas_in_sync
    spec = dataset.element_spec
    x_spec = spec[0] if isinstance(spec, tuple) else spec
    specs = [s for s in tf.nest.flatten(x_spec) if hasattr(s, "shape")]
    expected_rank = None
    try:
        expected_rank = len(keras.tree.flatten(model.inputs)[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        pass
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


def _split_callbacks(callbacks, strategy, chief: bool) -> list:
    """The callbacks this process runs; a ValueError for one that cannot run under fit()."""
    callbacks = list(callbacks or [])
    kept = []
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            fail(WHERE, "callbacks", callback, "keras.callbacks.Callback instances")
        names = {cls.__name__ for cls in type(callback).__mro__}
        for name, why in _UNSUPPORTED.items():
            if name in names:
                raise ValueError(
                    f"{WHERE}: callback {type(callback).__name__} cannot run under "
                    f"{strategy_name(strategy)} here: {why}."
                )
        if not chief and _chief_only(callback, names):
            continue
        kept.append(callback)
    return kept


def _chief_only(callback, names: set[str]) -> bool:
    if getattr(callback, "chief_only", None) is not None:
        return bool(callback.chief_only)
    if names & set(_CHIEF_ONLY_NAMES):
        return True
    # kfx loggers (ActivationLogger, GradientLogger, ...) write TensorBoard or npz files.
    module = type(callback).__module__
    return module.startswith("kfx.callbacks") and any(n.endswith("Logger") for n in names)


def _unpack_validation(validation_data):
    if validation_data is None or _is_dataset(validation_data):
        return validation_data, None, None
    if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
        return (*validation_data, None)[:3]
    fail(WHERE, "validation_data", type(validation_data).__name__, "(x, y), (x, y, w) or a dataset")


class _Checkpointer:
    """Per-epoch checkpoints; the chief writes `directory`, other workers a temp folder."""

    def __init__(self, directory, model, strategy, chief: bool):
        tf = _tf()
        self.chief = chief
        self.directory = os.fspath(directory)
        with strategy.scope():
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="kfx_epoch")
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, epoch=self.epoch
        )
        self.write_dir = self.directory if chief else tempfile.mkdtemp(prefix="kfx-ckpt-")
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.write_dir, max_to_keep=MAX_TO_KEEP
        )

    def restore(self) -> int:
        """Restore the last checkpoint of the chief's folder; the epoch to start from."""
        tf = _tf()
        latest = tf.train.latest_checkpoint(self.directory)
        if latest is None:
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.epoch.numpy())

    def save(self, epochs_done: int) -> None:
        self.epoch.assign(epochs_done)
        # Every worker saves (the save may run collectives); only the chief keeps its files.
        self.manager.save(checkpoint_number=epochs_done)
        if not self.chief:
            shutil.rmtree(self.write_dir, ignore_errors=True)

    def close(self) -> None:
        if not self.chief:
            shutil.rmtree(self.write_dir, ignore_errors=True)


class _Steps:
    """The distributed train/test steps and the metric read-out of one model.

    Everything inside the ``tf.function`` s is graph code: ``strategy.run`` of the model's
    own step, then ``strategy.reduce``; no host Python, so the same steps compile on TPUs.
    """

    def __init__(self, model, strategy):
        tf = _tf()
        self.model = model
        self.strategy = strategy
        sum_ = tf.distribute.ReduceOp.SUM
        # Non-trainable float variables without an aggregation (BatchNormalization's moving
        # statistics) are updated per replica; they are averaged at each epoch end so that
        # every replica and worker evaluates and saves the same model.
        self.synced = [
            v
            for v in model.non_trainable_variables
            if getattr(v, "aggregation", "none") == "none" and "float" in str(v.dtype)
        ]

        state = [v for m in model.metrics for v in m.variables]

        def pack(values):
            # One float64 vector: one all-reduce per step whatever the number and shapes
            # of the variables (counts stay exact up to 2**53).
            if not values:
                return tf.zeros([0], tf.float64)
            return tf.concat([tf.reshape(tf.cast(v, tf.float64), [-1]) for v in values], 0)

        def unpack(vector, like):
            sizes = [int(np.prod(v.shape)) for v in like]
            parts = tf.split(vector, sizes) if like else []
            return [
                tf.cast(tf.reshape(p, v.shape), v.dtype) for p, v in zip(parts, like, strict=True)
            ]

        def reduce(op, per_replica, like):
            return unpack(strategy.reduce(op, per_replica, axis=None), like)

        def train_replica(data):
            model.train_step(data)
            return pack([v.value for v in state])

        def test_replica(data):
            model.test_step(data)
            return pack([v.value for v in state])

        # Closures, not methods: tf.function counts retracing per Python function, and a
        # method would be shared by every fit() call of the process.
        def train(batch):
            return reduce(sum_, strategy.run(train_replica, args=(batch,)), state)

        def test(batch):
            return reduce(sum_, strategy.run(test_replica, args=(batch,)), state)

        def any_worker(flag):
            return strategy.reduce(sum_, strategy.run(tf.identity, args=(flag,)), axis=None)

        def sync():
            values = strategy.run(lambda: pack([v.value for v in self.synced]))
            means = reduce(tf.distribute.ReduceOp.MEAN, values, self.synced)
            for variable, mean in zip(self.synced, means, strict=True):
                variable.value.assign(mean)
            return tf.constant(0)

        self.train = tf.function(train, reduce_retracing=True)
        self.test = tf.function(test, reduce_retracing=True)
        self._any = tf.function(any_worker)
        self._sync = tf.function(sync)

    def any_worker(self, flag: bool) -> bool:
        """Whether `flag` is true on any worker (every worker gets the same answer)."""
        tf = _tf()
        return bool(self._any(tf.constant(1.0 if flag else 0.0)).numpy() > 0)

    def sync_replicas(self) -> None:
        """Average the per-replica non-trainable variables over every replica and worker."""
        if self.synced and self.strategy.num_replicas_in_sync > 1:
            self._sync()

    def logs(self, state) -> dict[str, float]:
        """Metric results from summed metric variables, as ``Model.fit`` names them."""
        logs: dict[str, float] = {}
        position = 0
        for metric in self.model.metrics:
            count = len(metric.variables)
            result = metric.stateless_result(list(state[position : position + count]))
            position += count
            if isinstance(result, Mapping):
                logs.update(result)
            else:
                logs[metric.name] = result
        return {k: float(np.asarray(v)) for k, v in logs.items()}


def _build(model, strategy, dataset) -> None:
    """Create the optimizer, loss and metric variables eagerly under the strategy's scope.

    ``train_step`` creates them lazily on its first call, which ``strategy.run`` inside a
    ``tf.function`` refuses; one eager forward pass on a few samples creates them first.
    """
    tf = _tf()
    batch = next(iter(dataset.take(1)))
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
    x, y, sample_weight = tf.nest.map_structure(
        lambda t: None if t is None else t[:1], (x, y, sample_weight)
    )
    with strategy.scope():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        y_pred = model(x, training=False)
        model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        model.compute_metrics(x, y, y_pred, sample_weight)
        model.reset_metrics()


def fit(
    model: keras.Model,
    x: Any = None,
    y: Any = None,
    *,
    sample_weight: Any = None,
    strategy=None,
    epochs: int = 1,
    batch_size: int | None = None,
    steps_per_epoch: int | None = None,
    validation_data: Any = None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    verbose: str | int = "auto",
) -> keras.callbacks.History:
    """Train a compiled model under `strategy`, as ``model.fit`` would, on any number of workers.

    Build and compile the model inside ``strategy.scope()``. Run the same script on every
    worker (see :func:`kfx.distribute.launch`): each worker gets its part of every global
    batch, gradients are summed across all replicas, and every worker ends with the same
    weights.

    Args:
        model: a built, compiled ``keras.Model`` whose variables were created under
            `strategy`; its ``train_step`` / ``test_step`` run per replica.
        x: input arrays (or dict/tuple of arrays) or a ``tf.data.Dataset`` of ``(x, y)`` or
            ``(x, y, sample_weight)`` batched with the *global* batch size. Datasets are
            auto-sharded (by file when read from files, else by data).
        y: targets for array `x`.
        sample_weight: per-sample weights for array `x`.
        strategy: a ``tf.distribute.Strategy`` (default: ``tf.distribute.get_strategy()``).
        epochs: index of the last epoch (as in ``Model.fit``); with a checkpoint, training
            resumes after the last saved epoch.
        batch_size: global batch size for array inputs (default 32); a multiple of
            ``strategy.num_replicas_in_sync``.
        steps_per_epoch: batches per epoch (default: one pass over `x`); with it, `x` is
            repeated and read on across epochs.
        validation_data: ``(x, y)``, ``(x, y, sample_weight)`` or a batched dataset,
            evaluated at each epoch end; logs get the ``val_`` prefix.
        callbacks: Keras callbacks. ``ModelCheckpoint``, ``TensorBoard``, ``CSVLogger``,
            ``RemoteMonitor``, kfx loggers and any callback with ``chief_only = True`` run on
            the chief only; the others everywhere. ``BackupAndRestore``: ``ValueError``
            (use `checkpoint_dir`).
        checkpoint_dir: folder of per-epoch ``tf.train`` checkpoints (weights, optimizer,
            epoch); if it holds one, training resumes from it.
        shuffle: shuffle array inputs each epoch (same order on every worker).
        seed: shuffle seed for array inputs (default: a fixed one, identical on every worker).
        verbose: ``"auto"`` or 1 (progress bar), 2 (one line per epoch), 0 (silent); workers
            other than the chief are silent.

    Returns:
        A ``keras.callbacks.History`` (also ``model.history``) of the global metric values.

    Raises:
        ValueError: the model is not compiled or not built under `strategy`; a global batch
            that does not divide across the replicas; a callback that cannot run here. The
            message names the strategy and the offending argument.
    """
    tf = _tf()
    strategy = strategy or tf.distribute.get_strategy()
    _check_model(model, strategy)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        fail(WHERE, "epochs", epochs, "an int >= 0")
    if steps_per_epoch is not None and (
        isinstance(steps_per_epoch, bool)
        or not isinstance(steps_per_epoch, int)
        or steps_per_epoch < 1
    ):
        fail(WHERE, "steps_per_epoch", steps_per_epoch, "None or a positive int")
    chief = is_chief(strategy)
    kept = _split_callbacks(callbacks, strategy, chief)
    seed = DEFAULT_SEED if seed is None else seed

    train_data = _to_dataset(x, y, sample_weight, batch_size, shuffle, seed, "x")
    _check_batches(train_data(0), strategy, "x", model)
    val_x, val_y, val_w = _unpack_validation(validation_data)
    val_data = None
    if val_x is not None:
        val_batch = None if _is_dataset(val_x) else (batch_size or DEFAULT_BATCH_SIZE)
        val_data = _to_dataset(val_x, val_y, val_w, val_batch, False, seed, "validation_data")(0)
        _check_batches(val_data, strategy, "validation_data", model)

    _build(model, strategy, train_data(0))
    steps = _Steps(model, strategy)
    dist_val = None if val_data is None else strategy.experimental_distribute_dataset(val_data)

    checkpointer = None
    initial_epoch = 0
    if checkpoint_dir is not None:
        checkpointer = _Checkpointer(checkpoint_dir, model, strategy, chief)
        initial_epoch = min(checkpointer.restore(), epochs)
    repeated = None
    if steps_per_epoch is not None:  # one iterator read on across epochs
        repeated = iter(
            strategy.experimental_distribute_dataset(train_data(initial_epoch).repeat())
        )

    verbose = 1 if verbose == "auto" else verbose
    callback_list = keras.callbacks.CallbackList(
        kept,
        add_history=True,
        add_progbar=bool(verbose) and chief,
        model=model,
        verbose=verbose if chief else 0,
        epochs=epochs,
        steps=steps_per_epoch,
    )
    model.stop_training = False
    logs: dict[str, float] = {}
    try:
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            model.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            batches = (
                (next(repeated) for _ in range(steps_per_epoch))
                if repeated is not None
                else iter(strategy.experimental_distribute_dataset(train_data(epoch)))
            )
            for step, batch in enumerate(batches):
                callback_list.on_train_batch_begin(step)
                logs = steps.logs(steps.train(batch))
                callback_list.on_train_batch_end(step, logs)
            steps.sync_replicas()
            epoch_logs = dict(logs)
            if dist_val is not None:
                epoch_logs.update(_evaluate(model, steps, dist_val, callback_list))
            callback_list.on_epoch_end(epoch, epoch_logs)
            if checkpointer is not None:
                checkpointer.save(epoch + 1)
            if steps.any_worker(bool(model.stop_training)):
                model.stop_training = True
                break
        callback_list.on_train_end(logs)
    finally:
        if checkpointer is not None:
            checkpointer.close()
    return model.history


def _evaluate(model, steps: _Steps, dist_val, callback_list) -> dict[str, float]:
    model.reset_metrics()
    callback_list.on_test_begin()
    logs: dict[str, float] = {}
    for step, batch in enumerate(dist_val):
        callback_list.on_test_batch_begin(step)
        logs = steps.logs(steps.test(batch))
        callback_list.on_test_batch_end(step, logs)
    callback_list.on_test_end(logs)
    return {f"val_{k}": v for k, v in logs.items()}
