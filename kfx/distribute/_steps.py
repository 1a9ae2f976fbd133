"""The per-replica train and test steps of :func:`kfx.distribute.fit`, and global metrics.

Each step runs the model's own ``train_step`` / ``test_step`` (its loss, metrics, optimizer
and any overridden step) inside ``strategy.run`` inside a ``tf.function``, then sums the
metric state over replicas and workers with ``strategy.reduce``: the logs are the global
values, read with ``Metric.stateless_result`` (a metric's own ``result()`` under a strategy
would report one replica). The steps hold no host-side Python (no ``.numpy()``, no Python
branches on tensors), so they compile for ``TPUStrategy`` as they are.

Example:
    >>> import numpy as np, keras, tensorflow as tf
    >>> from kfx.distribute._steps import Steps, build
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse", metrics=["mae"])
    >>> strategy = tf.distribute.get_strategy()
    >>> data = tf.data.Dataset.from_tensor_slices((np.ones((4, 2)), np.zeros((4, 1)))).batch(4)
    >>> build(model, strategy, data)
    >>> steps = Steps(model, strategy)
    >>> sorted(steps.logs(steps.test(next(iter(data)))))
    ['loss', 'mae']
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np

from kfx.distribute._backend import tensorflow


def _pack(values):
    """One float64 vector: one all-reduce per step whatever the number and shapes of the
    variables (counts stay exact up to 2**53)."""
    tf = tensorflow()
    if not values:
        return tf.zeros([0], tf.float64)
    return tf.concat([tf.reshape(tf.cast(v, tf.float64), [-1]) for v in values], 0)


def _unpack(vector, like):
    """The inverse of :func:`_pack`: tensors of the shapes and dtypes of `like`."""
    tf = tensorflow()
    sizes = [int(np.prod(v.shape)) for v in like]
    parts = tf.split(vector, sizes) if like else []
    return [tf.cast(tf.reshape(p, v.shape), v.dtype) for p, v in zip(parts, like, strict=True)]


def _replica_synced(model) -> list:
    """Non-trainable float variables without an aggregation (BatchNormalization's moving
    statistics): updated per replica, so averaged at each epoch end, so that every replica
    and worker evaluates and saves the same model."""
    return [
        v
        for v in model.non_trainable_variables
        if getattr(v, "aggregation", "none") == "none" and "float" in str(v.dtype)
    ]


class Steps:
    """The distributed train/test steps and the metric read-out of one model.

    Everything inside the ``tf.function`` s is graph code: ``strategy.run`` of the model's
    own step, then ``strategy.reduce``; no host Python, so the same steps compile on TPUs.
    """

    def __init__(self, model, strategy):
        tf = tensorflow()
        self.model = model
        self.strategy = strategy
        self.synced = _replica_synced(model)
        sum_ = tf.distribute.ReduceOp.SUM
        state = [v for m in model.metrics for v in m.variables]

        def reduce(op, per_replica, like):
            return _unpack(strategy.reduce(op, per_replica, axis=None), like)

        def train_replica(data):
            model.train_step(data)
            return _pack([v.value for v in state])

        def test_replica(data):
            model.test_step(data)
            return _pack([v.value for v in state])

        # Closures, not methods: tf.function counts retracing per Python function, and a
        # method would be shared by every fit() call of the process.
        def train(batch):
            return reduce(sum_, strategy.run(train_replica, args=(batch,)), state)

        def test(batch):
            return reduce(sum_, strategy.run(test_replica, args=(batch,)), state)

        def any_worker(flag):
            return strategy.reduce(sum_, strategy.run(tf.identity, args=(flag,)), axis=None)

        def sync():
            values = strategy.run(lambda: _pack([v.value for v in self.synced]))
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
        tf = tensorflow()
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


def build(model, strategy, dataset) -> None:
    """Create the optimizer, loss and metric variables eagerly under the strategy's scope.

    ``train_step`` creates them lazily on its first call, which ``strategy.run`` inside a
    ``tf.function`` refuses; one eager forward pass on a few samples creates them first.
    """
    tf = tensorflow()
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
