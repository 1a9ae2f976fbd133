import keras
import pytest

from kfx import blocks


def test_inception_shape(data_format, spatial, make_input, split_shape):
    y = blocks.inception(make_input(spatial, 6), b1x1=2, b3x3=3, b5x5=4, pool_proj=5, b3x3_reduce=2)
    out_spatial, channels = split_shape(y)
    assert (out_spatial, channels) == (spatial, 2 + 3 + 4 + 5)


@pytest.mark.parametrize("reduce", [None, 2])
def test_inception_reductions(make_input, reduce):
    x = make_input((8, 8), 6)
    model = keras.Model(
        x,
        blocks.inception(
            x,
            b1x1=2,
            b3x3=3,
            b5x5=4,
            pool_proj=5,
            b3x3_reduce=reduce,
            b5x5_reduce=reduce,
            name="inc",
        ),
    )
    names = {layer.name for layer in model.layers}
    assert ("inc_3x3_reduce_conv" in names) is (reduce is not None)
    assert ("inc_5x5_reduce_conv" in names) is (reduce is not None)
    assert model.get_layer("inc_5x5_conv").kernel_size == (5, 5)
