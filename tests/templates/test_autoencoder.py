"""autoencoder: encoder and decoder models chained as layers, weights shared."""

import keras
import numpy as np
import pytest

from kfx.templates import autoencoder


def _encoder(name="encoder", code=4):
    x = keras.Input((6, 6, 1))
    return keras.Model(x, keras.layers.Dense(code)(keras.layers.Flatten()(x)), name=name)


def _decoder(name="decoder", code=4):
    z = keras.Input((code,))
    y = keras.layers.Reshape((6, 6, 1))(keras.layers.Dense(36, activation="sigmoid")(z))
    return keras.Model(z, y, name=name)


def test_models_used_as_layers_and_trained_together():
    encoder, decoder = _encoder(), _decoder()
    model = autoencoder(encoder, decoder, name="ae")
    assert [layer.name for layer in model.layers] == ["ae_input", "encoder", "decoder"]
    assert model.get_layer("encoder") is encoder and model.get_layer("decoder") is decoder
    x = np.random.default_rng(0).random((8, 6, 6, 1)).astype("float32")
    np.testing.assert_allclose(
        model.predict(x, verbose=0),
        decoder.predict(encoder.predict(x, verbose=0), verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )
    before = keras.ops.convert_to_numpy(encoder.weights[0]).copy()
    model.compile("adam", "mse")
    history = model.fit(x, x, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(keras.ops.convert_to_numpy(encoder.weights[0]), before)


def test_same_names_do_not_collide():
    encoder, decoder = _encoder(name="net"), _decoder(name="net")
    model = autoencoder(encoder, decoder, name="ae")
    assert [layer.name for layer in model.layers] == ["ae_input", "net", "ae_net"]
    assert decoder.name == "net"  # the user's model is not renamed
    assert model.predict(np.zeros((1, 6, 6, 1)), verbose=0).shape == (1, 6, 6, 1)


def test_sequential_models():
    encoder = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)], name="enc")
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(5)], name="dec")
    assert autoencoder(encoder, decoder).output_shape == (None, 5)


def test_code_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"taking inputs of shape \(3,\).*of shape \(4,\)"):
        autoencoder(_encoder(), _decoder(code=3))


@pytest.mark.parametrize("which", ["encoder", "decoder"])
def test_models_without_graph(which):
    args = {"encoder": _encoder(), "decoder": _decoder()}
    args[which] = keras.layers.Dense(4)
    with pytest.raises(ValueError, match=rf"autoencoder: argument `{which}`"):
        autoencoder(**args)
