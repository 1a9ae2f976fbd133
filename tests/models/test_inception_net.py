"""kfx.models.inception_net: a small GoogLeNet-style network."""

import pytest

from kfx import models
from kfx.models.inception_net import WIDTH_MULTIPLE, check_widths


def _conv_bn(kernel: int, rank: int, channels_in: int, channels_out: int) -> int:
    """Parameters of conv (no bias) + batch norm (gamma, beta, moving mean and variance)."""
    return kernel**rank * channels_in * channels_out + 4 * channels_out


def _module(rank: int, channels_in: int, width: int) -> int:
    """Parameters of an Inception module of `width`, split as GoogLeNet's inception(3a)."""
    return (
        _conv_bn(1, rank, channels_in, width // 4)  # 1x1
        + _conv_bn(1, rank, channels_in, width // 4)  # 3x3 reduce
        + _conv_bn(3, rank, width // 4, width // 2)  # 3x3
        + _conv_bn(1, rank, channels_in, width // 16)  # 5x5 reduce
        + _conv_bn(5, rank, width // 16, width // 8)  # 5x5
        + _conv_bn(1, rank, channels_in, width // 8)  # pool projection
    )


def _expected_params(rank, channels, stem_filters, widths, blocks_per_stage, num_classes):
    total = _conv_bn(3, rank, channels, stem_filters)
    channels_in = stem_filters
    for width in widths:
        for _ in range(blocks_per_stage):
            total += _module(rank, channels_in, width)
            channels_in = width
    return total + widths[-1] * num_classes + num_classes  # softmax classifier


@pytest.mark.parametrize(
    "input_shape", [(16, 2), (16, 16, 3), (8, 8, 8, 1)], ids=["1d", "2d", "3d"]
)
def test_parameter_count_follows_the_architecture(input_shape):
    rank, channels = len(input_shape) - 1, input_shape[-1]
    model = models.inception_net(
        input_shape, 5, stem_filters=8, widths=(16, 32), blocks_per_stage=2
    )
    assert model.count_params() == _expected_params(rank, channels, 8, (16, 32), 2, 5)
    assert model.output_shape == (None, 5)


def test_stages_pool_between_them_and_concatenate_the_widths():
    model = models.inception_net((16, 16, 1), 3, widths=(32, 64, 64), blocks_per_stage=2)
    assert sum(layer.name.endswith("_concat") for layer in model.layers) == 6
    assert [layer.name for layer in model.layers if layer.name.startswith("pool")] == [
        "pool2",
        "pool3",
    ]
    assert model.get_layer("inception1_2_concat").output.shape == (None, 16, 16, 32)
    assert model.get_layer("inception3_1_concat").output.shape == (None, 4, 4, 64)
    assert model.name == "inception_net"


def test_headless_ends_with_the_last_module():
    model = models.inception_net((20, 20, 3), 3, widths=(16, 48), include_top=False, name="trunk")
    assert model.output_shape == (None, 10, 10, 48)
    assert model.name == "trunk"
    assert "predictions" not in {layer.name for layer in model.layers}


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        ({"widths": (24,)}, "widths"),
        ({"widths": (16, 40)}, "widths"),
        ({"widths": ()}, "widths"),
        ({"widths": (16, 0)}, "widths"),
        ({"stem_filters": 0}, "stem_filters"),
        ({"blocks_per_stage": 0}, "blocks_per_stage"),
        ({"blocks_per_stage": True}, "blocks_per_stage"),
        ({"input_shape": (16,)}, "input_shape"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_bad_arguments_are_named(kwargs, arg):
    kwargs = {"input_shape": (16, 16, 1), "num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=f"inception_net: argument `{arg}`"):
        models.inception_net(**kwargs)


def test_widths_not_multiples_of_16_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"inception_net: argument `widths`.*multiples of 16"):
        models.inception_net((16, 16, 1), 3, widths=(24,))
    assert WIDTH_MULTIPLE == 16
    assert check_widths("x", 48) == 48
    with pytest.raises(ValueError, match="x: argument `width` got 8; expected multiples of 16"):
        check_widths("x", 8, arg="width")


def test_a_few_training_steps_fit_tiny_data(train_steps_lower_the_loss):
    train_steps_lower_the_loss(models.inception_net((8, 8, 3), 3, stem_filters=8, widths=(16,)))


def test_keras_file_round_trip(keras_file_round_trip):  # 1D, non-default depth
    keras_file_round_trip(
        models.inception_net((12, 2), 4, stem_filters=8, widths=(16, 32), blocks_per_stage=2)
    )
