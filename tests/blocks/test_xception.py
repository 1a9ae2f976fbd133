import keras
import pytest

from kfx import blocks


@pytest.mark.parametrize("strides", [1, 2])
def test_xception_shape(data_format, spatial, strides, make_input, split_shape):
    y = blocks.xception(make_input(spatial, 4), 6, strides=strides)
    out_spatial, channels = split_shape(y)
    assert (out_spatial, channels) == (tuple(s // strides for s in spatial), 6)


def test_xception_identity_block_has_no_projection(make_input):
    x = make_input((8, 8), 6)
    model = keras.Model(x, blocks.xception(x, 6, strides=1, repeats=3, name="mid"))
    names = {layer.name for layer in model.layers}
    assert "mid_proj_conv" not in names and "mid_pool" not in names
    assert {"mid_1_sepconv", "mid_2_sepconv", "mid_3_sepconv"} <= names
