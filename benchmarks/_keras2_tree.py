"""A generated tree of Keras 2 era scripts, for timing ``kfx migrate`` (benchmarks/migrate.py).

Every file is a realistic training script of the TensorFlow 2.x / Keras 2 years: imports
from moved modules (``keras.layers.core``), ``K.`` backend math, optimizers with ``lr=``,
``fit_generator(nb_epoch=)``, ``ModelCheckpoint(period=1)``, a ``Lambda`` layer and a
callback reading ``self.validation_data``, mixed with ordinary code (helpers, a custom
layer, loops, comments) so that most lines are not findings. Files are padded to their
length with NumPy helpers; one file in ten is plain NumPy code without Keras, as in a
real project.

Example:
    >>> import tempfile
    >>> lines = write_tree(tempfile.mkdtemp(), files=4, lines=400)
    >>> 300 < lines <= 400
    True
"""

from __future__ import annotations

from pathlib import Path

_HEADER = '''"""Training script {index}: a small convolutional classifier (Keras 2 style)."""
import os
import numpy as np
import tensorflow as tf
from keras import backend as K
from keras.layers.core import Dense, Dropout, Activation, Flatten
from keras.layers.convolutional import Conv2D, MaxPooling2D
from keras.layers.merge import concatenate, add
from keras.models import Sequential, Model
from keras.layers import Input, Lambda, BatchNormalization
from keras.callbacks import ModelCheckpoint, TensorBoard, Callback
from keras.utils.np_utils import to_categorical
from keras import optimizers

BATCH_SIZE = 32
NUM_CLASSES = 10
'''

_UNIT = '''

def block_{index}_{unit}(x, filters={filters}, name="b{unit}"):
    """A conv block: two convolutions, a residual add and pooling."""
    shortcut = Conv2D(filters, 1, padding="same", name=name + "_proj")(x)
    y = Conv2D(filters, 3, padding="same", activation="relu", name=name + "_c1")(x)
    y = BatchNormalization(name=name + "_bn")(y)
    y = Conv2D(filters, 3, padding="same", name=name + "_c2")(y)
    y = add([y, shortcut])  # residual
    return MaxPooling2D(2, name=name + "_pool")(y)


def scaled_loss_{unit}(y_true, y_pred):
    """Mean squared error scaled by the batch mean (Keras 2 backend math)."""
    error = K.square(y_pred - y_true)
    return K.mean(error, axis=-1) / (K.mean(K.abs(y_true)) + K.epsilon())


class Monitor{unit}(Callback):
    def on_epoch_end(self, epoch, logs=None):
        x_val, y_val = self.validation_data[0], self.validation_data[1]
        score = np.mean(np.argmax(self.model.predict(x_val), -1) == np.argmax(y_val, -1))
        print("epoch", epoch, "accuracy", score)


def build_{index}_{unit}(shape=(32, 32, 3)):
    inputs = Input(shape=shape)
    x = block_{index}_{unit}(inputs, {filters})
    x = block_{index}_{unit}(x, {filters} * 2, name="c{unit}")
    x = Flatten()(x)
    x = Dense(128, activation="relu")(x)
    x = Lambda(lambda t: K.l2_normalize(t, axis=-1))(x)
    x = Dropout(0.5)(x)
    outputs = Dense(NUM_CLASSES, activation="softmax")(x)
    model = Model(input=inputs, output=outputs)
    model.compile(
        optimizer=optimizers.Adam(lr=0.001, decay=1e-6),
        loss=scaled_loss_{unit},
        metrics=["accuracy"],
    )
    return model


def train_{index}_{unit}(batches, steps, out_dir="runs"):
    model = build_{index}_{unit}()
    callbacks = [
        ModelCheckpoint(os.path.join(out_dir, "best.h5"), save_best_only=True, period=1),
        TensorBoard(log_dir=out_dir, write_grads=True, batch_size=BATCH_SIZE),
    ]
    history = model.fit_generator(batches, steps_per_epoch=steps, nb_epoch=10,
                                  callbacks=callbacks)
    model.save_weights(os.path.join(out_dir, "weights.h5"))
    return model
'''

_PLAIN = '''"""Data helpers {index} (NumPy only)."""
import numpy as np


def normalise(images, mean=None, std=None):
    """Scale images to zero mean and unit variance per channel."""
    images = np.asarray(images, dtype="float32")
    mean = images.mean(axis=(0, 1, 2)) if mean is None else mean
    std = images.std(axis=(0, 1, 2)) + 1e-7 if std is None else std
    return (images - mean) / std, mean, std
'''

_PLAIN_UNIT = '''

def batches_{unit}(x, y, size=32, seed={unit}):
    """Shuffled batches of (x, y), forever."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x) - size + 1, size):
            chosen = order[start : start + size]
            yield x[chosen], y[chosen]
'''


def script(index: int, lines: int) -> str:
    """One generated file of about `lines` lines (at least its header and one unit)."""
    plain = index % 10 == 9
    text = (_PLAIN if plain else _HEADER).format(index=index)
    unit = 0
    if not plain:
        text += _UNIT.format(index=index, unit=unit, filters=16 * (1 + index % 4))
    while unit == 0 or text.count("\n") + _PLAIN_UNIT.count("\n") <= lines:
        text += _PLAIN_UNIT.format(unit=unit)
        unit += 1
    return text


def write_tree(root: str | Path, files: int = 500, lines: int = 50_000) -> int:
    """Write `files` scripts totalling about `lines` lines under `root` (10 per folder);
    return the number of lines written."""
    root = Path(root)
    total = 0
    for index in range(files):
        path = root / f"pkg{index // 10:03d}" / f"train_{index:04d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = script(index, lines // files)
        path.write_text(text)
        total += text.count("\n")
    return total
