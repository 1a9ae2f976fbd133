"""kfx.templates._vectors: a template's parts must give (batch, features) vectors."""

import keras
import pytest

from kfx.templates._vectors import check_vector


def test_a_vector_passes():
    assert check_vector(keras.Input((8,)), "siamese", "encoder") is None


@pytest.mark.parametrize(
    "tensor, got",
    [
        (keras.Input((4, 4, 3)), r"output of shape \(None, 4, 4, 3\)"),
        (keras.Input(()), r"output of shape \(None,\)"),
        ([1, 2], "output of shape list"),
    ],
)
def test_other_shapes_name_the_fix(tensor, got):
    with pytest.raises(
        ValueError, match=rf"multi_io: argument `encoder 'text'` got '{got}'"
    ) as info:
        check_vector(tensor, "multi_io", "encoder 'text'")
    assert "Flatten or a global pooling layer" in str(info.value)
