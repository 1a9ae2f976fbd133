"""kfx.models.xception_net: Xception's entry, middle and exit flows, scaled down."""

import pytest

from kfx import models


def _conv_bn(rank: int, channels_in: int, channels_out: int, kernel: int = 1) -> int:
    """Parameters of conv (no bias) + batch norm (gamma, beta, moving mean and variance)."""
    return kernel**rank * channels_in * channels_out + 4 * channels_out


def _separable_bn(rank: int, channels_in: int, channels_out: int) -> int:
    """3x3 depthwise, 1x1 pointwise (no biases), then batch norm."""
    return 3**rank * channels_in + channels_in * channels_out + 4 * channels_out


def _expected_params(rank, channels, stem_filters, widths, middle_blocks, num_classes):
    total = _conv_bn(rank, channels, stem_filters, kernel=3)
    channels_in = stem_filters
    for width in widths:  # entry flow: projection shortcut and two separable convs
        total += _conv_bn(rank, channels_in, width)
        total += _separable_bn(rank, channels_in, width) + _separable_bn(rank, width, width)
        channels_in = width
    total += middle_blocks * 3 * _separable_bn(rank, widths[-1], widths[-1])  # identity shortcut
    total += _separable_bn(rank, widths[-1], 2 * widths[-1])  # exit flow
    return total + 2 * widths[-1] * num_classes + num_classes  # softmax classifier


@pytest.mark.parametrize(
    "input_shape", [(16, 2), (16, 16, 3), (8, 8, 8, 1)], ids=["1d", "2d", "3d"]
)
@pytest.mark.parametrize("middle_blocks", [0, 2])
def test_parameter_count_follows_the_architecture(input_shape, middle_blocks):
    rank, channels = len(input_shape) - 1, input_shape[-1]
    model = models.xception_net(
        input_shape, 5, stem_filters=8, widths=(8, 16), middle_blocks=middle_blocks
    )
    expected = _expected_params(rank, channels, 8, (8, 16), middle_blocks, 5)
    assert model.count_params() == expected
    assert model.output_shape == (None, 5)


def test_flows_downsample_once_per_width_and_double_at_the_exit():
    model = models.xception_net((16, 16, 1), 3, widths=(16, 32), middle_blocks=2)
    names = {layer.name for layer in model.layers}
    assert {"middle1_add", "middle2_add", "exit_sepconv"} <= names
    assert "middle1_proj_conv" not in names  # middle blocks keep the identity shortcut
    assert model.get_layer("entry1_add").output.shape == (None, 8, 8, 16)
    assert model.get_layer("entry2_add").output.shape == (None, 4, 4, 32)
    assert model.get_layer("exit_act").output.shape == (None, 4, 4, 64)
    assert model.name == "xception_net"


def test_headless_and_without_middle_flow():
    model = models.xception_net(
        (32, 32, 3), 3, widths=(8, 16, 32), middle_blocks=0, include_top=False, name="trunk"
    )
    assert model.output_shape == (None, 4, 4, 64)
    assert model.name == "trunk"
    names = {layer.name for layer in model.layers}
    assert not any(name.startswith("middle") for name in names) and "predictions" not in names


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        ({"middle_blocks": -1}, "middle_blocks"),
        ({"middle_blocks": 1.0}, "middle_blocks"),
        ({"middle_blocks": True}, "middle_blocks"),
        ({"stem_filters": 0}, "stem_filters"),
        ({"widths": ()}, "widths"),
        ({"widths": (16, -8)}, "widths"),
        ({"input_shape": (1, 2, 3, 4, 5)}, "input_shape"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_bad_arguments_are_named(kwargs, arg):
    kwargs = {"input_shape": (16, 16, 1), "num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=f"xception_net: argument `{arg}`"):
        models.xception_net(**kwargs)


def test_middle_blocks_message():
    with pytest.raises(ValueError, match="argument `middle_blocks` got -1; expected an int >= 0"):
        models.xception_net((16, 16, 1), 3, middle_blocks=-1)


def test_a_few_training_steps_fit_tiny_data(train_steps_lower_the_loss):
    train_steps_lower_the_loss(
        models.xception_net((8, 8, 3), 3, stem_filters=8, widths=(8,), middle_blocks=1)
    )


def test_keras_file_round_trip(keras_file_round_trip):  # 1D, non-default depth
    keras_file_round_trip(
        models.xception_net((12, 2), 4, stem_filters=8, widths=(8, 16), middle_blocks=2)
    )
