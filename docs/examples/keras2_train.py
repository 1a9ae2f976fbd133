"""A Keras 2 era training script, the kind the tutorials of 2017-2020 taught."""

import numpy as np
import tensorflow_addons as tfa
from keras import backend as K
from keras import optimizers
from keras.callbacks import ModelCheckpoint
from keras.layers import Dense, Input, Lambda
from keras.layers.merge import concatenate
from keras.models import Model

left = Input(shape=(16,))
right = Input(shape=(16,))
x = concatenate([Dense(32, activation="relu")(left), Dense(32)(right)])
x = tfa.layers.InstanceNormalization()(x)
x = Lambda(lambda t: K.l2_normalize(t, axis=1))(x)  # unit-length embeddings
model = Model(input=[left, right], output=Dense(1, activation="sigmoid")(x))
model.compile(optimizers.Adam(lr=1e-3), "binary_crossentropy", metrics=["accuracy"])


def batches(size=32):
    while True:
        yield [np.random.rand(size, 16), np.random.rand(size, 16)], np.random.randint(0, 2, size)


checkpoint = ModelCheckpoint("weights.h5", save_weights_only=True, period=5)
model.fit_generator(batches(), steps_per_epoch=10, nb_epoch=20, callbacks=[checkpoint])
model.save("saved_model")
