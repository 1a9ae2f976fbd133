"""Behaviour every block shares through kfx/blocks/_primitives.py: names, errors, training, compilation."""

import keras
import numpy as np
import pytest

from kfx import blocks

BACKEND = keras.backend.backend()


def _many_blocks(x):
    x = blocks.conv_bn_act(x, 8)
    x = blocks.residual(x, 8, se_ratio=0.5, drop_path=0.1)
    x = blocks.residual(x, 4, kind="bottleneck", strides=2)
    x = blocks.residual(x, 16, kind="preact")
    x = blocks.inception(x, b1x1=4, b3x3=4, b5x5=4, pool_proj=4, b3x3_reduce=2, b5x5_reduce=2)
    x = blocks.xception(x, 16)
    x = blocks.separable(x, 16)
    x = blocks.squeeze_excite(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = blocks.dense_residual(x, 16, dropout=0.1)
    x = blocks.mlp(x, (8,), norm="batch")
    return keras.layers.Dense(3, activation="softmax")(x)


def every_block_model() -> keras.Model:
    x = keras.Input((16, 16, 3))
    return keras.Model(x, _many_blocks(x))


def test_unnamed_blocks_never_collide():
    model = every_block_model()
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    second = every_block_model()  # a second copy in the same session
    assert not {layer.name for layer in model.layers[1:]} & {
        layer.name for layer in second.layers[1:]
    }


def test_named_block_prefixes_every_layer():
    x = keras.Input((8, 8, 8))
    model = keras.Model(
        x, blocks.residual(x, 8, kind="bottleneck", se_ratio=0.25, drop_path=0.1, name="unit")
    )
    assert all(layer.name.startswith("unit_") for layer in model.layers[1:])


@pytest.mark.parametrize("jit_compile", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_many_blocks_train(jit_compile):
    if jit_compile and BACKEND == "jax":
        pytest.skip("JAX always compiles; covered by jit_compile=False")
    keras.utils.set_random_seed(0)  # initial weights and dropout masks: a fixed descent
    model = every_block_model()
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 16, 16, 3)).astype("float32"), rng.integers(0, 3, 8)
    before = [w.copy() for w in model.get_weights()]
    losses = [model.train_on_batch(x, y) for _ in range(6)]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0]
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=False))


RANK2 = keras.Input((8,))
CALLS = {
    "conv_bn_act": lambda x, **kw: blocks.conv_bn_act(x, **{"filters": 4, **kw}),
    "residual": lambda x, **kw: blocks.residual(x, **{"filters": 4, **kw}),
    "separable": lambda x, **kw: blocks.separable(x, **{"filters": 4, **kw}),
    "xception": lambda x, **kw: blocks.xception(x, **{"filters": 4, **kw}),
    "inception": lambda x, **kw: blocks.inception(
        x, **{"b1x1": 1, "b3x3": 1, "b5x5": 1, "pool_proj": 1, **kw}
    ),
    "squeeze_excite": lambda x, **kw: blocks.squeeze_excite(x, **kw),
    "mlp": lambda x, **kw: blocks.mlp(x, **kw),
    "dense_residual": lambda x, **kw: blocks.dense_residual(x, **{"units": 4, **kw}),
}

BAD = [
    # (block, kwargs, argument named in the message, value shown, accepted text)
    ("conv_bn_act", {}, "x", "rank 2", "rank 3 or 4 or 5"),
    ("residual", {}, "x", "rank 2", "rank 3 or 4 or 5"),
    ("separable", {}, "x", "rank 2", "rank 3 or 4 or 5"),
    ("xception", {}, "x", "rank 2", "rank 3 or 4 or 5"),
    ("inception", {}, "x", "rank 2", "rank 3 or 4 or 5"),
    ("squeeze_excite", {}, "x", "rank 2", "rank 3 or 4 or 5"),
    ("residual", {"kind": "wide"}, "kind", "'wide'", "'basic', 'bottleneck', 'preact'"),
    ("conv_bn_act", {"norm": "group"}, "norm", "'group'", "'batch', 'layer', None"),
    ("mlp", {"norm": "instance"}, "norm", "'instance'", "'batch', 'layer', None"),
    ("dense_residual", {"norm": "rms"}, "norm", "'rms'", "'batch', 'layer', None"),
    ("conv_bn_act", {"activation": "relux"}, "activation", "'relux'", "keras.activations name"),
    ("residual", {"activation": "nope"}, "activation", "'nope'", "keras.activations name"),
    ("mlp", {"activation": "nope"}, "activation", "'nope'", "keras.activations name"),
    ("conv_bn_act", {"filters": 0}, "filters", "0", "a positive int"),
    ("residual", {"filters": -2}, "filters", "-2", "a positive int"),
    ("separable", {"filters": 2.5}, "filters", "2.5", "a positive int"),
    ("xception", {"filters": 0}, "filters", "0", "a positive int"),
    ("inception", {"b3x3": 0}, "b3x3", "0", "a positive int"),
    ("inception", {"b5x5_reduce": -1}, "b5x5_reduce", "-1", "a positive int"),
    ("mlp", {"units": ()}, "units", "()", "non-empty sequence"),
    ("mlp", {"units": (4, 0)}, "units", "0", "a positive int"),
    ("dense_residual", {"units": 0}, "units", "0", "a positive int"),
    ("residual", {"strides": 0}, "strides", "0", "a positive int"),
    ("residual", {"drop_path": 1.0}, "drop_path", "1.0", "[0, 1)"),
    ("residual", {"se_ratio": 0}, "se_ratio", "0", "(0, 1]"),
    ("squeeze_excite", {"ratio": 1.5}, "ratio", "1.5", "(0, 1]"),
    ("mlp", {"dropout": -0.1}, "dropout", "-0.1", "[0, 1)"),
    ("conv_bn_act", {"name": ""}, "name", "''", "non-empty str"),
]


@pytest.mark.parametrize("block,kwargs,arg,value,accepted", BAD, ids=lambda v: str(v)[:20])
def test_bad_input_names_block_argument_value_and_accepted(block, kwargs, arg, value, accepted):
    x = RANK2 if arg == "x" else keras.Input((8, 8, 4))
    with pytest.raises(ValueError) as info:
        CALLS[block](x, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{block}: argument `{arg}`"), message
    assert value in message and accepted in message, message


@pytest.mark.parametrize("block", ["squeeze_excite", "residual", "xception"])
def test_unknown_channel_count_is_rejected(block):
    x = keras.Input((8, 8, None))
    with pytest.raises(ValueError, match=rf"{block}: argument `x`.*known channel dimension"):
        CALLS[block](x)


def test_every_block_passes_data_format_and_dtype_to_every_layer():
    """One model channels_first and bfloat16 while the global settings say otherwise."""
    assert keras.config.image_data_format() == "channels_last"
    options = {"data_format": "channels_first", "dtype": "bfloat16"}
    x = keras.Input((8, 16, 16))
    y = blocks.conv_bn_act(x, 8, strides=2, padding="symmetric", **options)
    y = blocks.residual(y, 8, se_ratio=0.5, drop_path=0.1, **options)
    y = blocks.residual(y, 4, kind="preact_bottleneck", strides=2, **options)
    y = blocks.inception(y, b1x1=4, b3x3=4, b5x5=4, pool_proj=4, **options)
    y = blocks.xception(y, 16, **options)
    y = blocks.separable(y, 8, **options)
    y = blocks.squeeze_excite(y, **options)
    flat = keras.layers.Flatten(data_format="channels_first", dtype="bfloat16")(y)
    z = blocks.dense_residual(
        blocks.mlp(flat, (8,), norm="batch", dtype="bfloat16"), 8, dtype="bfloat16"
    )
    model = keras.Model(x, z)
    assert tuple(y.shape) == (None, 8, 2, 2)  # channels first throughout
    for layer in model.layers[1:]:
        assert layer.dtype_policy.name == "bfloat16", layer.name
        if hasattr(layer, "data_format"):
            assert layer.data_format == "channels_first", layer.name
        if isinstance(layer, keras.layers.BatchNormalization) and len(layer.input.shape) == 4:
            assert layer.axis == 1, layer.name
    out = model(np.zeros((1, 8, 16, 16), "float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"


def test_bad_data_format_is_named():
    with pytest.raises(ValueError, match="conv_bn_act: argument `data_format` got 'nhwc'"):
        blocks.conv_bn_act(keras.Input((8, 8, 3)), 4, data_format="nhwc")
