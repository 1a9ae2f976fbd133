import keras
import numpy as np
import pytest

from kfx import blocks


@pytest.mark.parametrize("kind,expansion", [("basic", 1), ("bottleneck", 4), ("preact", 1)])
@pytest.mark.parametrize("strides", [1, 2])
def test_residual_shape(data_format, spatial, kind, expansion, strides, make_input, split_shape):
    y = blocks.residual(make_input(spatial, 8), 8, kind=kind, strides=strides)
    out_spatial, channels = split_shape(y)
    assert channels == expansion * 8
    assert out_spatial == tuple(s // strides for s in spatial)


@pytest.mark.parametrize(
    "in_channels,filters,kind,strides,projected",
    [
        (8, 8, "basic", 1, False),
        (8, 8, "basic", 2, True),
        (4, 8, "basic", 1, True),
        (32, 8, "bottleneck", 1, False),
        (8, 8, "bottleneck", 1, True),
        (8, 8, "preact", 1, False),
        (8, 16, "preact", 1, True),
    ],
)
def test_identity_or_projection_shortcut(
    make_input, in_channels, filters, kind, strides, projected
):
    x = make_input((8, 8), in_channels)
    model = keras.Model(x, blocks.residual(x, filters, kind=kind, strides=strides, name="b"))
    names = {layer.name for layer in model.layers}
    assert ("b_0_conv" in names) is projected


def test_identity_block_adds_input(make_input):
    """With a zeroed branch the block returns act(x) (basic) or x (preact)."""
    x = make_input((4, 4), 3)
    for kind, expected in [("basic", np.maximum), ("preact", lambda v, _: v)]:
        model = keras.Model(x, blocks.residual(x, 3, kind=kind, name=f"id_{kind}"))
        last_conv = model.get_layer(f"id_{kind}_2_conv")
        last_conv.set_weights([np.zeros_like(w) for w in last_conv.get_weights()])
        if kind == "basic":
            bn = model.get_layer(f"id_{kind}_2_bn")
            bn.set_weights([np.zeros_like(w) for w in bn.get_weights()[:2]] + bn.get_weights()[2:])
        data = np.random.default_rng(1).normal(size=(2, 4, 4, 3)).astype("float32")
        np.testing.assert_allclose(model.predict(data, verbose=0), expected(data, 0), atol=1e-5)


def test_preact_output_is_not_activated(make_input):
    x = make_input((4, 4), 4)
    model = keras.Model(x, blocks.residual(x, 4, kind="preact"))
    out = model.predict(np.random.default_rng(0).normal(size=(4, 4, 4, 4)), verbose=0)
    assert (out < 0).any()


def test_se_and_drop_path_options(make_input):
    x = make_input((8, 8), 8)
    model = keras.Model(x, blocks.residual(x, 8, se_ratio=0.25, drop_path=0.2, name="r"))
    assert model.get_layer("r_se_reduce").filters == 2
    drop = model.get_layer("r_drop_path")
    assert isinstance(drop, keras.layers.Dropout)
    assert tuple(drop.noise_shape) == (None, 1, 1, 1)


def test_drop_path_drops_whole_samples_and_rescales(make_input):
    x = make_input((4, 4), 2)
    y = blocks._primitives.drop_path(x, 0.5, "dp")
    model = keras.Model(x, y)
    keras.utils.set_random_seed(3)
    out = keras.ops.convert_to_numpy(model(np.ones((64, 4, 4, 2), "float32"), training=True))
    per_sample = out.reshape(64, -1)
    assert set(np.unique(per_sample).round(5)) <= {0.0, 2.0}
    assert (per_sample == per_sample[:, :1]).all()  # one decision per sample
    assert 10 < (per_sample[:, 0] == 0).sum() < 54
    np.testing.assert_array_equal(
        model(np.ones((3, 4, 4, 2)), training=False), np.ones((3, 4, 4, 2))
    )


@pytest.mark.parametrize("in_units,projected", [(16, False), (10, True)])
def test_dense_residual(in_units, projected):
    x = keras.Input((in_units,))
    model = keras.Model(x, blocks.dense_residual(x, 16, dropout=0.1, name="d"))
    assert model.output_shape == (None, 16)
    assert ("d_proj" in {layer.name for layer in model.layers}) is projected


def test_dense_residual_sequence_input():
    x = keras.Input((5, 12))
    assert tuple(blocks.dense_residual(x, 12, norm="batch").shape) == (None, 5, 12)


def test_preact_bottleneck_is_keras_applications_v2_block(make_input):
    x = make_input((8, 8), 16)
    model = keras.Model(
        x, blocks.residual(x, 4, kind="preact_bottleneck", strides=2, padding="symmetric", name="b")
    )
    names = {layer.name for layer in model.layers}
    # 16 channels in and out, strided: a 1x1 max pool subsamples the input, no projection
    assert "b_0_pool" in names and "b_0_conv" not in names
    assert model.get_layer("b_2_conv").strides == (2, 2) and "b_2_pad" in names
    assert model.get_layer("b_3_conv").use_bias and "b_3_bn" not in names
    assert model.output_shape == (None, 4, 4, 16)
    wide = blocks.residual(make_input((8, 8), 8), 4, kind="preact_bottleneck", name="w")
    assert tuple(wide.shape) == (None, 8, 8, 16)


def test_symmetric_padding_pads_both_sides_like_keras_applications(make_input):
    x = make_input((9, 9), 2)
    for padding, pads in [("same", False), ("symmetric", True)]:
        y = blocks.conv_bn_act(x, 4, 3, strides=2, padding=padding, name=f"c_{padding}")
        model = keras.Model(x, y)
        assert ("c_symmetric_pad" in {layer.name for layer in model.layers}) is pads
        assert model.output_shape == (None, 5, 5, 4)
    with pytest.raises(ValueError, match="residual: argument `padding` got 'valid'"):
        blocks.residual(x, 4, padding="valid")
