"""Head and compile_args: heads own their activation, loss and metrics."""

import keras
import pytest

from kfx.templates import Head, compile_args

EXPECTED = {
    "binary": (1, "sigmoid", "binary_crossentropy", ["binary_accuracy"]),
    "multiclass": (
        5,
        "softmax",
        "sparse_categorical_crossentropy",
        ["sparse_categorical_accuracy"],
    ),
    "multilabel": (3, "sigmoid", "binary_crossentropy", ["binary_accuracy"]),
    "regression": (2, "linear", "mean_squared_error", ["mean_absolute_error"]),
}


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_task_sets_activation_loss_metrics(task):
    units, activation, loss, metrics = EXPECTED[task]
    head = Head("out", units, task)
    assert (head.activation, head.loss, head.metrics) == (activation, loss, metrics)
    assert tuple(head(keras.Input((7,))).shape) == (None, units)


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_head_layer_is_a_named_dense(task):
    units, activation, *_ = EXPECTED[task]
    x = keras.Input((7,))
    model = keras.Model(x, Head("out", units, task)(x))
    dense = model.get_layer("out")
    assert isinstance(dense, keras.layers.Dense) and dense.units == units
    assert dense.activation is keras.activations.get(activation)
    assert model.output_names == ["out"]


def test_binary_is_the_default_task():
    assert Head("label", 1).task == "binary"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(name="x", units=1, task="ranking"), r"`task` got 'ranking'.*'binary'.*'regression'"),
        (dict(name="x", units=2, task="binary"), r"`units` got 2.*multilabel"),
        (dict(name="x", units=1, task="multiclass"), r"`units` got 1.*at least 2"),
        (dict(name="x", units=0, task="regression"), r"`units` got 0.*positive int"),
        (dict(name="a/b", units=1), r"`name` got 'a/b'"),
        (dict(name="", units=1), r"`name` got ''"),
        (dict(name="x", units=1, loss_weight=-1), r"`loss_weight` got -1"),
        (dict(name="x", units=1, loss_weight=float("nan")), r"`loss_weight` got nan"),
    ],
)
def test_bad_head(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        Head(**kwargs)
    assert str(info.value).startswith("Head: ")


def test_compile_args_keyed_by_head_name():
    heads = [
        Head("age", 1, "regression", loss_weight=0.25),
        Head("income", 4, "multiclass"),
        Head("gender", 1, loss_weight=10),
    ]
    args = compile_args(heads)
    assert args == {
        "loss": {
            "age": "mean_squared_error",
            "income": "sparse_categorical_crossentropy",
            "gender": "binary_crossentropy",
        },
        "loss_weights": {"age": 0.25, "income": 1.0, "gender": 10.0},
        "metrics": {
            "age": ["mean_absolute_error"],
            "income": ["sparse_categorical_accuracy"],
            "gender": ["binary_accuracy"],
        },
    }
    assert compile_args(heads[0]) == compile_args([heads[0]])


def test_compile_args_rejects_duplicate_names():
    with pytest.raises(ValueError, match=r"compile_args: .*repeated: 'age'") as info:
        compile_args([Head("age", 1, "regression"), Head("age", 1)])
    assert "['age', 'age']" in str(info.value)


@pytest.mark.parametrize("heads", [[], "age", [("age", 1)], None])
def test_compile_args_rejects_non_heads(heads):
    with pytest.raises(ValueError, match="compile_args: argument `heads`"):
        compile_args(heads)


def test_head_on_a_scalar_tensor():
    with pytest.raises(ValueError, match="Head 'out'"):
        Head("out", 1)(keras.ops.ones(()))
