"""kfx.nodes: per-call inputs and outputs of shared layers (Keras 2's get_output_at & co)."""

import ast
import pathlib

import keras
import numpy as np
import pytest

import kfx
from kfx import nodes


def _shared_lstm():
    """The tutorial's shared LSTM: two tweets through one layer."""
    lstm = keras.layers.LSTM(4, name="shared_lstm")
    tweet_a, tweet_b = keras.Input((6, 3), name="tweet_a"), keras.Input((9, 3), name="tweet_b")
    return lstm, tweet_a, tweet_b, lstm(tweet_a), lstm(tweet_b)


def test_per_node_tensors_and_shapes():
    lstm, tweet_a, tweet_b, encoded_a, encoded_b = _shared_lstm()
    assert nodes.num_nodes(lstm) == 2
    assert nodes.output_at(lstm, 0) is encoded_a
    assert nodes.output_at(lstm, 1) is encoded_b
    assert nodes.input_at(lstm, 0) is tweet_a
    assert nodes.input_at(lstm, 1) is tweet_b
    assert nodes.input_shape_at(lstm, 0) == (None, 6, 3)
    assert nodes.input_shape_at(lstm, 1) == (None, 9, 3)
    assert nodes.output_shape_at(lstm, 1) == (None, 4)
    # What kfx.nodes is for: Keras 3's `.output` silently answers for the first call only.
    assert lstm.output is encoded_a


def test_negative_index_counts_from_last_call():
    lstm, _, tweet_b, _, encoded_b = _shared_lstm()
    assert nodes.output_at(lstm, -1) is encoded_b
    assert nodes.input_at(lstm, -1) is tweet_b
    assert nodes.output_at(lstm, np.int64(1)) is encoded_b


@pytest.mark.parametrize("index", [2, 7, -3])
def test_index_out_of_range_says_how_many_nodes_exist(index):
    lstm, *_ = _shared_lstm()
    for fn in (nodes.output_at, nodes.input_at, nodes.output_shape_at, nodes.input_shape_at):
        with pytest.raises(ValueError, match=r"'shared_lstm' has 2 nodes") as info:
            fn(lstm, index)
        assert str(index) in str(info.value) and fn.__name__ in str(info.value)


@pytest.mark.parametrize("index", [1.0, "0", None, True])
def test_non_int_index(index):
    lstm, *_ = _shared_lstm()
    with pytest.raises(ValueError, match="node_index"):
        nodes.output_at(lstm, index)


def test_layer_never_called():
    dense = keras.layers.Dense(2, name="lonely")
    assert nodes.num_nodes(dense) == 0
    with pytest.raises(ValueError, match="'lonely' has 0 nodes"):
        nodes.output_at(dense, 0)


def test_not_a_layer():
    with pytest.raises(ValueError, match="layer"):
        nodes.num_nodes("dense")


def test_several_inputs_and_outputs_give_lists():
    a, b = keras.Input((3,)), keras.Input((5,))
    concat = keras.layers.Concatenate()
    merged = concat([a, b])
    assert nodes.input_at(concat, 0) == [a, b]
    assert nodes.input_shape_at(concat, 0) == [(None, 3), (None, 5)]
    assert nodes.output_at(concat, 0) is merged

    lstm = keras.layers.LSTM(2, return_state=True)
    outputs = lstm(keras.Input((4, 3)))
    assert nodes.output_at(lstm, 0) == list(outputs)
    assert nodes.output_shape_at(lstm, 0) == [(None, 2)] * 3


def test_input_layer_node_is_the_input_itself():
    x = keras.Input((3,), name="x")
    model = keras.Model(x, keras.layers.Dense(1)(x))
    input_layer = model.get_layer("x")
    assert nodes.num_nodes(input_layer) == 1
    assert nodes.input_at(input_layer, 0) is x
    assert nodes.output_at(input_layer, 0) is x


def test_model_used_as_layer_twice():
    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, keras.layers.Dense(2)(inner_in), name="inner")
    a, b = keras.Input((3,)), keras.Input((3,))
    ya, yb = inner(a), inner(b)
    assert nodes.num_nodes(inner) == 2
    assert nodes.output_at(inner, 0) is ya and nodes.output_at(inner, 1) is yb


def test_reloaded_model_keeps_its_shared_layer_nodes(tmp_path):
    lstm, tweet_a, tweet_b, encoded_a, encoded_b = _shared_lstm()
    merged = keras.layers.Concatenate()([encoded_a, encoded_b])
    model = keras.Model([tweet_a, tweet_b], keras.layers.Dense(1)(merged))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    shared = loaded.get_layer("shared_lstm")
    assert nodes.num_nodes(shared) == 2
    assert nodes.input_shape_at(shared, 0) == (None, 6, 3)
    assert nodes.input_shape_at(shared, 1) == (None, 9, 3)


def test_graph_calls_only_lists_the_models_own_calls():
    dense = keras.layers.Dense(2, name="d")
    x1, x2 = keras.Input((3,)), keras.Input((3,))
    first = keras.Model(x1, dense(x1))
    second = keras.Model(x2, keras.layers.Dense(1, name="head")(dense(dense(x2)[:, :1] * 0 + x2)))
    calls = nodes.graph_calls(first)
    assert [(c.operation.name, c.node_index) for c in calls] == [("d", 0)]
    names = [(c.operation.name, c.node_index) for c in nodes.graph_calls(second)]
    assert ("d", 1) in names and ("d", 2) in names and ("d", 0) not in names
    assert names[-1] == ("head", 0)  # inputs first, outputs last
    assert nodes.graph_calls(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]))


def test_graph_calls_are_public_and_replay_on_new_tensors():
    class Subclassed(keras.Model):
        def call(self, x):
            return x

    assert {"Call", "graph_calls"} <= set(nodes.__all__)
    assert nodes.graph_calls(Subclassed()) == []
    x = keras.Input((3,))
    dense = keras.layers.Dense(2, name="d")
    model = keras.Model(x, keras.ops.relu(dense(x)))
    first, second = nodes.graph_calls(model)
    assert first.operation is dense and isinstance(first, nodes.Call)
    assert (
        first.inputs == [x] and second.inputs == first.outputs and second.outputs == model.outputs
    )
    y = keras.Input((3,))
    (replayed,) = first.replay({id(x): y})
    assert nodes.num_nodes(dense) == 2 and nodes.output_at(dense, 1) is replayed
    other = keras.layers.Dense(5)
    assert tuple(first.replay({id(x): y}, other)[0].shape) == (None, 5)


PRIVATE_NODE_ATTRS = {"_inbound_nodes", "_outbound_nodes", "_keras_history", "_nodes_by_depth"}


def _private_node_reads(path: pathlib.Path) -> list[str]:
    """Names of the functions in `path` that read Keras' private node attributes."""
    tree = ast.parse(path.read_text())
    found = []
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [
                func.name
                for node in ast.walk(func)
                if isinstance(node, ast.Attribute) and node.attr in PRIVATE_NODE_ATTRS
            ]
    module_level = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_NODE_ATTRS
    ]
    assert len(module_level) == len(found), f"{path}: private node access outside a function"
    return found


def test_only_nodes_py_reads_private_node_bookkeeping():
    package = pathlib.Path(kfx.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "nodes.py" and _private_node_reads(path)
    ]
    assert not offenders
    assert _private_node_reads(package / "nodes.py") == ["_inbound_nodes"]


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(nodes, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
