"""Per-call inputs and outputs of layers called more than once (Keras 2's ``get_output_at``).

Keras 2 had ``layer.get_output_at(i)``, ``get_input_at``, ``get_output_shape_at`` and
``get_input_shape_at``; Keras 3 removed them, and ``layer.output`` of a shared layer silently
returns the tensor of its *first* call. Every call of a layer on symbolic tensors creates a
*node*; node ``i`` holds the tensors of the ``i``-th call, counted over every graph the layer
was called in. These functions give the per-node accessors back, and :func:`graph_calls`
lists the calls that make up one model's graph (what :func:`kfx.templates.feature_extractor`
walks).

This is the one kfx module that reads Keras' private node bookkeeping, and only through
:func:`_inbound_nodes`.

Example:
    >>> import keras, kfx
    >>> lstm = keras.layers.LSTM(4)
    >>> a, b = keras.Input((5, 3)), keras.Input((7, 3))
    >>> encoded_a, encoded_b = lstm(a), lstm(b)
    >>> kfx.nodes.num_nodes(lstm)
    2
    >>> kfx.nodes.output_at(lstm, 1) is encoded_b
    True
    >>> kfx.nodes.input_shape_at(lstm, 1)
    (None, 7, 3)
"""

from __future__ import annotations

import heapq
import operator
from typing import Any, NamedTuple

import keras

from kfx._validation import fail

__all__ = [
    "Call",
    "graph_calls",
    "input_at",
    "input_shape_at",
    "num_nodes",
    "output_at",
    "output_shape_at",
]


def _inbound_nodes(layer: Any) -> list:
    """The nodes of `layer`, one per call on symbolic tensors, in call order.

    This is the only place where kfx reads a private Keras attribute. Keras 3 records each
    call of an operation (every layer is one) on symbolic tensors by appending a ``Node`` to
    ``operation._inbound_nodes``. Keras 2 exposed that list through ``get_output_at(i)`` & co;
    Keras 3 dropped those accessors and offers no public replacement, so we read the list here
    and nowhere else. Past this function only the Node's own non-underscore attributes are
    used: ``input_tensors`` and ``output_tensors`` (the flat tensors of that call) and
    ``arguments`` (the call's arguments, to replay it). If a Keras release renames any of
    them, this module is the one to change; tests/test_nodes.py pins the behaviour and checks
    that no other kfx module reads node internals.
    """
    if not isinstance(layer, keras.Operation):
        fail("kfx.nodes", "layer", layer, "a Keras layer (or another keras.Operation)")
    return list(layer._inbound_nodes)


def _node(layer: Any, node_index: int, fn: str):
    nodes = _inbound_nodes(layer)
    try:
        index = operator.index(node_index)
    except TypeError:
        index = None
    if index is None or isinstance(node_index, bool):
        fail(fn, "node_index", node_index, "an int")
    count = len(nodes)
    if count == 0:
        raise ValueError(
            f"{fn}: layer {layer.name!r} has 0 nodes: it has never been called on symbolic "
            "tensors (a keras.Input or another layer's output), so it has no inputs or outputs "
            "to read."
        )
    if not -count <= index < count:
        fail(
            fn,
            "node_index",
            node_index,
            f"an int in [0, {count - 1}] (or [-{count}, -1]): layer {layer.name!r} has "
            f"{count} node{'s' if count > 1 else ''}, one per call",
        )
    return nodes[index]


def _one_or_list(tensors: list):
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _outputs(layer: Any, node_index: int, fn: str):
    return _one_or_list(_node(layer, node_index, fn).output_tensors)


def _inputs(layer: Any, node_index: int, fn: str):
    node = _node(layer, node_index, fn)
    # An InputLayer's node has no inputs; as in Keras 2, its input is the input tensor itself.
    return _one_or_list(node.input_tensors or node.output_tensors)


def _shape(tensors):
    if isinstance(tensors, list):
        return [tuple(t.shape) for t in tensors]
    return tuple(tensors.shape)


def num_nodes(layer: Any) -> int:
    """How many times `layer` has been called on symbolic tensors (in any graph).

    Args:
        layer: a Keras layer (a model used as a layer counts too).

    Returns:
        The number of nodes; valid node indices are ``0 .. num_nodes(layer) - 1``.

    Example:
        >>> import keras, kfx
        >>> dense = keras.layers.Dense(2)
        >>> kfx.nodes.num_nodes(dense)
        0
        >>> _ = dense(keras.Input((3,))), dense(keras.Input((3,)))
        >>> kfx.nodes.num_nodes(dense)
        2
    """
    return len(_inbound_nodes(layer))


def output_at(layer: Any, node_index: int):
    """The output tensor(s) of the `node_index`-th call of `layer` (Keras 2's ``get_output_at``).

    Args:
        layer: a Keras layer.
        node_index: which call, counted from 0; negative indices count from the last call.

    Returns:
        A Keras tensor, or a list of them when that call returned several.

    Raises:
        ValueError: `node_index` out of range (the message says how many nodes exist).

    Example:
        >>> import keras, kfx
        >>> shared = keras.layers.Dense(2)
        >>> a, b = keras.Input((3,)), keras.Input((3,))
        >>> ya, yb = shared(a), shared(b)
        >>> kfx.nodes.output_at(shared, 0) is ya, kfx.nodes.output_at(shared, 1) is yb
        (True, True)
    """
    return _outputs(layer, node_index, "output_at")


def input_at(layer: Any, node_index: int):
    """The input tensor(s) of the `node_index`-th call of `layer` (Keras 2's ``get_input_at``).

    For an ``InputLayer``, as in Keras 2, this is the input tensor itself.

    Args:
        layer: a Keras layer.
        node_index: which call, counted from 0; negative indices count from the last call.

    Returns:
        A Keras tensor, or a flat list of them when that call took several.

    Raises:
        ValueError: `node_index` out of range (the message says how many nodes exist).

    Example:
        >>> import keras, kfx
        >>> shared = keras.layers.Dense(2)
        >>> a, b = keras.Input((3,)), keras.Input((3,))
        >>> _ = shared(a), shared(b)
        >>> kfx.nodes.input_at(shared, 1) is b
        True
    """
    return _inputs(layer, node_index, "input_at")


def output_shape_at(layer: Any, node_index: int):
    """The output shape(s) of the `node_index`-th call of `layer`.

    Args:
        layer: a Keras layer.
        node_index: which call, counted from 0; negative indices count from the last call.

    Returns:
        A shape tuple, or a list of them when that call returned several tensors.

    Example:
        >>> import keras, kfx
        >>> pool = keras.layers.GlobalAveragePooling1D()
        >>> _ = pool(keras.Input((5, 3))), pool(keras.Input((9, 8)))
        >>> kfx.nodes.output_shape_at(pool, 1)
        (None, 8)
    """
    return _shape(_outputs(layer, node_index, "output_shape_at"))


def input_shape_at(layer: Any, node_index: int):
    """The input shape(s) of the `node_index`-th call of `layer`.

    Args:
        layer: a Keras layer.
        node_index: which call, counted from 0; negative indices count from the last call.

    Returns:
        A shape tuple, or a list of them when that call took several tensors.

    Example:
        >>> import keras, kfx
        >>> pool = keras.layers.GlobalAveragePooling1D()
        >>> _ = pool(keras.Input((5, 3))), pool(keras.Input((9, 8)))
        >>> kfx.nodes.input_shape_at(pool, 0)
        (None, 5, 3)
    """
    return _shape(_inputs(layer, node_index, "input_shape_at"))


class Call(NamedTuple):
    """One call of an operation inside a model's graph, as :func:`graph_calls` lists it.

    Attributes:
        operation: the layer (or other ``keras.Operation``) that was called.
        node_index: which of its nodes this call is (see :func:`output_at`).
        inputs: the call's flat input tensors.
        outputs: the call's flat output tensors.
        node: Keras' record of the call, kept to :meth:`replay` it.
    """

    operation: Any
    node_index: int
    inputs: list
    outputs: list
    node: Any

    def replay(self, tensors: dict[int, Any], operation: Any = None) -> list:
        """Call `operation` (default: the same one) with this call's arguments, tensors swapped.

        Args:
            tensors: maps ``id(original tensor)`` to its replacement; it must hold every
                input of this call.
            operation: the operation to call instead, with the same arguments.

        Returns:
            The flat outputs of the new call.

        Example:
            >>> import keras, kfx
            >>> x = keras.Input((3,))
            >>> model = keras.Model(x, keras.layers.Dense(2, name="dense")(x))
            >>> (call,) = kfx.nodes.graph_calls(model)
            >>> y = keras.Input((3,))
            >>> (output,) = call.replay({id(x): y})
            >>> tuple(output.shape)
            (None, 2)
        """
        args, kwargs = self.node.arguments.fill_in(tensors)
        return keras.tree.flatten((operation or self.operation)(*args, **kwargs))


#: A call's key while sorting: (position of its operation in the model, node index).
_Key = tuple[int, int]


def graph_calls(model: keras.Model) -> list[Call]:
    """Every call of an operation inside `model`'s own graph, in an order that can be replayed.

    A shared layer may also have nodes in other graphs (another model it was used in), so the
    calls that belong to `model` are found by walking back from ``model.outputs`` to
    ``model.inputs``. Calls come inputs first, each after the calls it depends on, otherwise
    in the order of ``model.layers``. The model's input layers are not listed. This is what
    :func:`kfx.templates.feature_extractor` names layer paths from.

    Args:
        model: a Keras model; a model without a graph (subclassed) has no calls.

    Returns:
        A list of :class:`Call`, one per call of a layer or ``keras.ops`` operation.

    Example:
        >>> import keras, kfx
        >>> shared = keras.layers.Dense(3, name="shared")
        >>> x = keras.Input((3,))
        >>> model = keras.Model(x, keras.layers.Dense(1, name="head")(shared(shared(x))))
        >>> " ".join(f"{c.operation.name}:{c.node_index}" for c in kfx.nodes.graph_calls(model))
        'shared:0 shared:1 head:0'
    """
    if isinstance(model, keras.Function):
        operations = model.operations
    elif isinstance(model, keras.Sequential):
        operations = model.layers
    else:
        return []
    producer = _producers(operations)
    stop = {id(t) for t in model.inputs}

    def parents(tensors: list) -> list[tuple[_Key, Call]]:
        return [producer[id(t)] for t in tensors if id(t) not in stop and id(t) in producer]

    # The calls the outputs depend on.
    calls: dict[_Key, Call] = {}
    stack = parents(model.outputs)
    while stack:
        key, call = stack.pop()
        if key not in calls:
            calls[key] = call
            stack.extend(parents(call.inputs))
    return _in_dependency_order(
        calls, {key: {k for k, _ in parents(c.inputs)} for key, c in calls.items()}
    )


def _producers(operations: list) -> dict[int, tuple[_Key, Call]]:
    """``{id(tensor): (key, call)}``: the call that produced each tensor of `operations`' nodes."""
    producer = {}
    for position, operation in enumerate(operations):
        for index, node in enumerate(_inbound_nodes(operation)):
            call = Call(operation, index, list(node.input_tensors), list(node.output_tensors), node)
            for tensor in node.output_tensors:
                producer[id(tensor)] = ((position, index), call)
    return producer


def _in_dependency_order(calls: dict[_Key, Call], waiting: dict[_Key, set[_Key]]) -> list[Call]:
    """Kahn's topological sort of `calls` (`waiting`: each one's parents), ties by key."""
    children: dict[_Key, list[_Key]] = {key: [] for key in calls}
    for key, deps in waiting.items():
        for dep in deps:
            children[dep].append(key)
    ready = [key for key, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    ordered = []
    while ready:
        key = heapq.heappop(ready)
        ordered.append(calls[key])
        for child in children[key]:
            waiting[child].discard(key)
            if not waiting[child]:
                heapq.heappush(ready, child)
    return ordered
