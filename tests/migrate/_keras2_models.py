"""Write real Keras 2 (tf-keras) model files for tests/migrate/test_saved_models.py.

Run as its own process (``python tests/migrate/_keras2_models.py OUT``): tf-keras and
Keras 3 do not belong in one process. For each model it writes ``OUT/<name>.h5`` and
``OUT/<name>.npz`` with the fixed inputs (``x0``, ``x1``, ...) and the Keras 2 model's
outputs on them (``y0``, ``y1``, ...); plus a weights-only file and a SavedModel folder.
The ``Addons>`` classes are stand-ins for TensorFlow Addons' layers, with its exact config
keys and weights, since tensorflow-addons does not install next to TensorFlow 2.21.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

L = keras.layers
serializable = keras.utils.register_keras_serializable


@serializable(package="Addons")
class WeightNormalization(L.Wrapper):
    """tfa.layers.WeightNormalization's weights (g, initialized, the data-init clone)."""

    def __init__(self, layer, data_init=True, **kwargs):
        super().__init__(layer, **kwargs)
        self.data_init = data_init

    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = self.layer.kernel
        self.layer_depth = int(kernel.shape[-1])
        self.kernel_norm_axes = list(range(kernel.shape.rank - 1))
        self.g = self.add_weight(name="g", shape=(self.layer_depth,), initializer="ones")
        self.v = kernel
        self._initialized = self.add_weight(
            name="initialized", shape=None, initializer="zeros", dtype=tf.bool, trainable=False
        )
        if self.data_init:
            with tf.name_scope("data_dep_init"):
                config = L.serialize(self.layer)
                config["config"]["trainable"] = False
                self._naked_clone_layer = L.deserialize(config)
                self._naked_clone_layer.build(input_shape)
                self._naked_clone_layer.set_weights(self.layer.get_weights())
                self._naked_clone_layer.activation = None
        self.built = True

    def call(self, inputs):
        # Saved after initialisation (the tests set g and `initialized`): no init branch.
        kernel = tf.nn.l2_normalize(self.v, axis=self.kernel_norm_axes) * self.g
        self.layer.kernel = kernel
        return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}


@serializable(package="Addons")
class GroupNormalization(L.Layer):
    """tfa.layers.GroupNormalization (same config keys, weights and arithmetic)."""

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.groups, self.axis, self.epsilon = groups, axis, epsilon
        self.center, self.scale = center, scale
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)

    def build(self, input_shape):
        dim = input_shape[self.axis]
        if self.groups == -1:
            self.groups = dim
        shape = (dim,)
        self.gamma = self.add_weight(shape=shape, name="gamma", initializer=self.gamma_initializer)
        self.beta = self.add_weight(shape=shape, name="beta", initializer=self.beta_initializer)
        super().build(input_shape)

    def call(self, inputs):
        shape = inputs.shape
        axis = self.axis % len(shape)
        grouped = list(shape)
        grouped[0] = -1
        grouped[axis] = shape[axis] // self.groups
        grouped.insert(axis, self.groups)
        x = tf.reshape(inputs, grouped)
        axes = [i for i in range(1, len(grouped)) if i != axis]
        mean, variance = tf.nn.moments(x, axes, keepdims=True)
        bshape = [1] * len(grouped)
        bshape[axis] = self.groups
        bshape[axis + 1] = shape[axis] // self.groups
        gamma = tf.reshape(self.gamma, bshape)
        beta = tf.reshape(self.beta, bshape)
        x = tf.nn.batch_normalization(x, mean, variance, beta, gamma, self.epsilon)
        return tf.reshape(x, tf.shape(inputs))

    def get_config(self):
        s = keras.initializers.serialize
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": s(self.beta_initializer),
            "gamma_initializer": s(self.gamma_initializer),
            "beta_regularizer": keras.regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": keras.regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": keras.constraints.serialize(self.beta_constraint),
            "gamma_constraint": keras.constraints.serialize(self.gamma_constraint),
        }


@serializable(package="Addons")
class InstanceNormalization(GroupNormalization):
    """tfa.layers.InstanceNormalization: GroupNormalization with one group per channel."""

    def __init__(self, **kwargs):
        kwargs["groups"] = -1
        super().__init__(**kwargs)


@serializable(package="Addons")
class Maxout(L.Layer):
    """tfa.layers.Maxout."""

    def __init__(self, num_units, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.num_units, self.axis = num_units, axis

    def call(self, inputs):
        shape = inputs.shape.as_list()
        shape[0] = -1
        axis = self.axis % len(shape)
        expand = shape[:]
        expand[axis] = self.num_units
        expand.insert(axis, shape[axis] // self.num_units)
        return tf.math.reduce_max(tf.reshape(inputs, expand), axis)

    def get_config(self):
        return {**super().get_config(), "num_units": self.num_units, "axis": self.axis}


@serializable(package="Addons")
class StochasticDepth(L.Layer):
    """tfa.layers.StochasticDepth: ``[shortcut, residual]``; inference scales the branch."""

    def __init__(self, survival_probability=0.5, **kwargs):
        super().__init__(**kwargs)
        self.survival_probability = survival_probability

    def call(self, x, training=None):
        shortcut, residual = x
        return shortcut + self.survival_probability * residual

    def get_config(self):
        return {**super().get_config(), "survival_probability": self.survival_probability}


def _randomise(model, rng):
    """Random weights, positive where they are variances, so outputs depend on all of them."""
    for weight in model.weights:
        if weight.dtype == tf.bool:
            weight.assign(True)
            continue
        value = rng.normal(size=weight.shape).astype("float32")
        if "moving_variance" in weight.name or "gamma" in weight.name:
            value = np.abs(value) + 0.5
        weight.assign(value)


def cnn():
    return keras.Sequential(
        [
            L.Conv2D(4, 3, padding="same", input_shape=(8, 8, 3), name="conv"),
            L.BatchNormalization(name="bn"),
            L.Activation("relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dropout(0.3),
            L.Dense(5, activation="softmax", kernel_regularizer="l2"),
        ],
        name="cnn",
    )


def multi_io():
    image = L.Input((6, 6, 2), name="image")
    meta = L.Input((3,), name="meta")
    x = L.Conv2D(3, 2, activation="relu")(image)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Concatenate()([x, L.Dense(4, activation="tanh")(meta)])
    x = L.BatchNormalization(axis=-1)(x)
    score = L.Dense(1, name="score")(x)
    label = L.Dense(3, activation="softmax", name="label")(x)
    return keras.Model([image, meta], [score, label], name="multi_io")


def _siamese(encoder, name):
    left, right = L.Input((5,), name="left"), L.Input((5,), name="right")
    # The second call is used first: node indices, not call order, pick the tensors.
    b, a = encoder(right), encoder(left)
    diff = L.Subtract()([a, b])
    return keras.Model([left, right], L.Dense(1)(L.Concatenate()([diff, a])), name=name)


def siamese():
    inputs = L.Input((5,))
    x = L.Dense(6, activation="relu", name="enc_dense")(inputs)
    x = L.Lambda(lambda t: keras.backend.l2_normalize(t, axis=-1), name="enc_l2")(x)
    return _siamese(keras.Model(inputs, x, name="encoder"), "siamese")


def siamese_sequential():
    encoder = keras.Sequential(
        [L.InputLayer((5,)), L.Dense(6, activation="relu"), L.BatchNormalization()],
        name="seq_encoder",
    )
    return _siamese(encoder, "siamese_sequential")


def lambda_l2():
    return keras.Sequential(
        [
            L.Dense(4, input_shape=(3,)),
            L.Lambda(lambda x: tf.math.l2_normalize(x, axis=1), name="normalise"),
        ],
        name="lambda_l2",
    )


def lambda_other():
    return keras.Sequential(
        [L.Dense(4, input_shape=(3,)), L.Lambda(lambda x: x * 2.0 + 1.0, name="affine")],
        name="lambda_other",
    )


def addons():
    inputs = L.Input((6, 8))
    x = WeightNormalization(L.Dense(8), data_init=True, name="wn")(inputs)
    x = GroupNormalization(groups=2, epsilon=1e-3, name="gn")(x)
    x = InstanceNormalization(name="inorm")(x)
    branch = Maxout(4, name="maxout")(x)
    shortcut = WeightNormalization(L.Dense(4), data_init=False, name="wn_plain")(x)
    x = StochasticDepth(survival_probability=0.8, name="sd")([shortcut, branch])
    return keras.Model(inputs, L.Dense(2)(L.Flatten()(x)), name="addons")


def tf_ops():
    """TensorFlow functions on Keras tensors: Keras 2 saves them as TFOpLambda layers."""
    inputs = L.Input((4,))
    a, b = L.Dense(3, name="a")(inputs), L.Dense(3, name="b")(inputs)
    x = tf.nn.relu(a * 2.0 + b) - tf.math.exp(-tf.abs(b)) / 3.0
    x = tf.concat([x, tf.nn.softmax(a, axis=-1)], axis=-1)
    x = tf.reduce_mean(tf.reshape(x, (-1, 2, 3)), axis=1, keepdims=True)
    return keras.Model(inputs, tf.transpose(x, perm=[0, 2, 1])[:, :2, 0], name="tf_ops")


def tf_op_unknown():
    inputs = L.Input((4,))
    return keras.Model(inputs, tf.math.cumsum(L.Dense(3)(inputs), axis=1), name="tf_op_unknown")


MODELS = {
    "cnn": cnn,
    "multi_io": multi_io,
    "siamese": siamese,
    "siamese_sequential": siamese_sequential,
    "lambda_l2": lambda_l2,
    "lambda_other": lambda_other,
    "addons": addons,
    "tf_ops": tf_ops,
    "tf_op_unknown": tf_op_unknown,
}


def write(out: Path) -> None:
    rng = np.random.default_rng(0)
    for name, build in MODELS.items():
        model = build()
        _randomise(model, rng)
        inputs = [rng.normal(size=(4, *t.shape[1:])).astype("float32") for t in model.inputs]
        outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        model.save(out / f"{name}.h5")
        arrays = {f"x{i}": x for i, x in enumerate(inputs)}
        arrays.update({f"y{i}": np.asarray(y) for i, y in enumerate(outputs)})
        np.savez(out / f"{name}.npz", **arrays)
    model = cnn()
    model.save_weights(out / "weights_only.h5")
    model.save(out / "saved_model_dir", save_format="tf")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
