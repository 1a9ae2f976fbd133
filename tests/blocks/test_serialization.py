"""A model made only of blocks loads where kfx is not installed, and predicts the same."""

import keras
import numpy as np

from kfx import blocks


def _all_blocks_model():
    image = keras.Input((8, 8, 3), name="image")
    signal = keras.Input((16, 2), name="signal")
    volume = keras.Input((4, 4, 4, 2), name="volume")
    x = blocks.residual(blocks.conv_bn_act(image, 8), 8, se_ratio=0.5, drop_path=0.2)
    x = blocks.residual(x, 4, kind="bottleneck", strides=2)
    x = blocks.residual(x, 8, kind="preact")
    x = blocks.inception(x, b1x1=2, b3x3=2, b5x5=2, pool_proj=2, b3x3_reduce=1)
    x = blocks.xception(x, 8)
    x = keras.layers.GlobalAveragePooling2D()(blocks.squeeze_excite(blocks.separable(x, 8)))
    s = keras.layers.GlobalAveragePooling1D()(blocks.residual(signal, 4, kind="bottleneck"))
    v = keras.layers.GlobalAveragePooling3D()(blocks.separable(volume, 4))
    z = keras.layers.Concatenate()([x, s, v])
    z = blocks.mlp(blocks.dense_residual(z, 8, dropout=0.1), (6,), norm="layer")
    return keras.Model([image, signal, volume], keras.layers.Dense(2)(z))


def test_reload_without_kfx_gives_identical_predictions(tmp_path, fresh_python):
    model = _all_blocks_model()
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(3, *i.shape[1:])).astype("float32") for i in model.inputs]
    expected = model.predict(inputs, verbose=0)
    model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "inputs.npz", *inputs)
    out = fresh_python(
        f"""
        try:
            import kfx
        except ImportError:
            print("kfx unavailable")
        import keras, numpy as np
        m = keras.saving.load_model({str(tmp_path / "m.keras")!r}, safe_mode=True)
        data = np.load({str(tmp_path / "inputs.npz")!r})
        np.save({str(tmp_path / "got.npy")!r}, m.predict([data[k] for k in sorted(data)], verbose=0))
        """,
        without_kfx=True,
    )
    assert "kfx unavailable" in out
    np.testing.assert_allclose(np.load(tmp_path / "got.npy"), expected, rtol=1e-5, atol=1e-6)
