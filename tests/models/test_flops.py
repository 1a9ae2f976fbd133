"""kfx.models.flops: hand-computed counts, nested models, "not counted", keras.applications."""

import json

import keras
import pytest

from kfx import models


def _model(shape, *layers):
    x = keras.Input(shape)
    y = x
    for layer in layers:
        y = layer(y)
    return keras.Model(x, y)


def _row(report, path):
    (row,) = [r for r in report.layers if r.path == path]
    return row


def test_hand_computed_macs_of_each_layer_kind():
    x = keras.Input((8, 8, 4))
    conv = keras.layers.Conv2D(6, 3, padding="same", name="conv")(x)  # bias, no activation
    depth = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(conv)
    sep = keras.layers.SeparableConv2D(5, 3, strides=2, padding="same", use_bias=False, name="sep")(
        depth
    )
    up = keras.layers.Conv2DTranspose(2, 2, strides=2, use_bias=False, name="up")(sep)
    bn = keras.layers.BatchNormalization(name="bn")(up)
    act = keras.layers.Activation("relu", name="relu")(bn)
    added = keras.layers.Add(name="add")([act, act])
    pool = keras.layers.MaxPooling2D(2, name="pool")(added)
    gap = keras.layers.GlobalAveragePooling2D(name="gap")(pool)
    dense = keras.layers.Dense(3, activation="softmax", name="dense")(gap)
    report = models.flops(keras.Model(x, dense), batch_size=2)
    assert _row(report, "conv").macs == 2 * 8 * 8 * 6 * 3 * 3 * 4
    assert _row(report, "conv").flops == 2 * _row(report, "conv").macs + 2 * 8 * 8 * 6
    assert _row(report, "dw").macs == 2 * 8 * 8 * 6 * 9
    assert _row(report, "sep").macs == 2 * 4 * 4 * 6 * 9 + 2 * 4 * 4 * 6 * 5
    assert _row(report, "up").macs == 2 * 4 * 4 * 5 * (2 * 2 * 2)
    assert _row(report, "bn").flops == 2 * (2 * 8 * 8 * 2)
    assert _row(report, "relu").flops == _row(report, "add").flops == 2 * 8 * 8 * 2
    assert _row(report, "pool").flops == 2 * 4 * 4 * 2 * 4
    assert _row(report, "gap").flops == 2 * 4 * 4 * 2
    assert _row(report, "dense").macs == 2 * 2 * 3
    assert _row(report, "dense").flops == 2 * 12 + 2 * 3 + 3 * 2 * 3  # bias and softmax
    assert _row(report, "dense").output_bytes == 2 * 3 * 4  # float32
    assert report.params == report.to_dict()["params"] == keras.Model(x, dense).count_params()
    assert report.macs == sum(row.macs for row in report.layers)


def test_conv1d_conv3d_einsum_and_attention():
    conv1 = _model((10, 3), keras.layers.Conv1D(4, 3, use_bias=False))
    assert models.flops(conv1).macs == 8 * 4 * 3 * 3
    conv3 = _model((4, 4, 4, 2), keras.layers.Conv3D(3, 2, use_bias=False))
    assert models.flops(conv3).macs == 27 * 3 * 8 * 2
    einsum = _model((5, 6), keras.layers.EinsumDense("abc,cd->abd", (5, 7)))
    assert models.flops(einsum).macs == 5 * 7 * 6
    q = keras.Input((5, 8))
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")
    report = models.flops(keras.Model(q, mha(q, q)))
    projections = 3 * 5 * 8 * 2 * 4 + 5 * 2 * 4 * 8
    assert _row(report, "mha").macs == projections + 2 * 5 * 5 * (4 + 4)


def test_nested_models_are_expanded_with_paths():
    inner = _model((4,), keras.layers.Dense(3, name="d1"))
    inner.name = "inner"
    x = keras.Input((4,))
    outer = keras.Model(x, keras.layers.Dense(2, name="head")(inner(x)), name="outer")
    report = models.flops(outer)
    assert [row.path for row in report.layers if row.macs] == ["inner/d1", "head"]
    assert report.macs == 4 * 3 + 3 * 2
    assert report.params == outer.count_params()


def test_unknown_layers_are_listed_as_not_counted():
    model = _model((5, 3), keras.layers.LSTM(4, name="lstm"), keras.layers.Dense(2, name="d"))
    report = models.flops(model)
    assert report.not_counted == ["lstm"]
    assert _row(report, "lstm").macs == 0 and not _row(report, "lstm").counted
    assert "not counted: lstm" in report.totals() and "not counted" in report.table()
    json.dumps(report.to_dict())


def test_bad_arguments():
    with pytest.raises(ValueError, match="flops: argument `batch_size` got 0"):
        models.flops(_model((3,), keras.layers.Dense(1)), batch_size=0)
    with pytest.raises(ValueError, match="flops: argument `model`"):
        models.flops("resnet50")


#: Convolution and dense multiply-accumulates of keras.applications' layouts at 224x224.
REFERENCE_GMACS = {
    "ResNet50": 3.858,
    "ResNet101": 7.570,
    "ResNet152": 11.282,
    "ResNet50V2": 3.482,
}


@pytest.mark.parametrize(
    "name",
    [
        n if n in ("ResNet50", "ResNet50V2") else pytest.param(n, marks=pytest.mark.slow)
        for n in REFERENCE_GMACS
    ],
)
def test_keras_applications_resnets_at_224(name):
    model = getattr(keras.applications, name)(weights=None)
    report = models.flops(model)
    conv_dense = sum(row.macs for row in report.layers if row.kind in ("Conv2D", "Dense"))
    assert conv_dense / 1e9 == pytest.approx(REFERENCE_GMACS[name], rel=0.005)
    assert report.params == model.count_params() and not report.not_counted
    ours = models.create(name.lower(), num_classes=1000)
    # kfx folds the convolution biases away, so only their additions differ.
    assert models.flops(ours).macs == report.macs
