import keras
import pytest

from kfx import blocks


@pytest.mark.parametrize("norm", [None, "batch", "layer"])
def test_mlp_layers(norm):
    x = keras.Input((10,))
    model = keras.Model(x, blocks.mlp(x, (8, 4), dropout=0.5, norm=norm, name="m"))
    assert model.output_shape == (None, 4)
    names = [layer.name for layer in model.layers[1:]]
    expected = []
    for i in (1, 2):
        expected += (
            [f"m_{i}_dense"] + ([f"m_{i}_norm"] if norm else []) + [f"m_{i}_act", f"m_{i}_dropout"]
        )
    assert names == expected


def test_mlp_single_int_units():
    x = keras.Input((3,))
    assert tuple(blocks.mlp(x, 7).shape) == (None, 7)
