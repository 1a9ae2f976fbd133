import keras
import numpy as np
import pytest

from kfx import blocks


def test_squeeze_excite_shape(data_format, spatial, make_input, split_shape):
    x = make_input(spatial, 8)
    y = blocks.squeeze_excite(x, 0.25)
    assert tuple(y.shape) == tuple(x.shape)


@pytest.mark.parametrize("channels,ratio,hidden", [(8, 0.25, 2), (3, 0.25, 1), (16, 1.0, 16)])
def test_squeeze_excite_width(make_input, channels, ratio, hidden):
    x = make_input((4, 4), channels)
    model = keras.Model(x, blocks.squeeze_excite(x, ratio, name="se"))
    assert model.get_layer("se_reduce").filters == hidden


def test_squeeze_excite_gates_each_channel(make_input):
    """The output is x times a per-sample, per-channel gate in (0, 1)."""
    x = make_input((4, 4), 3)
    model = keras.Model(x, blocks.squeeze_excite(x, name="se"))
    data = np.random.default_rng(0).uniform(0.5, 1.5, size=(2, 4, 4, 3)).astype("float32")
    gate = model.predict(data, verbose=0) / data
    assert ((gate > 0) & (gate < 1)).all()
    np.testing.assert_allclose(gate, gate[:, :1, :1, :].repeat(4, 1).repeat(4, 2), rtol=1e-5)
