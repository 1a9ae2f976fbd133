"""Feature extraction: any layers' outputs, nested models included, keyed by layer path."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras

from kfx import nodes
from kfx._validation import fail
from kfx.blocks._primitives import block_name
from kfx.templates._graphs import fresh_inputs, graph_model, is_graph_model, model_input
from kfx.templates._listing import listing

#: Separates the names of nested models in a path: ``"resnet50/conv2_block1_out"``.
SEP = "/"


@dataclass
class _Step:
    """One call in a model's graph, with the paths of its outputs."""

    call: Any
    #: The layer's path for this call, without an output index: ``name`` or ``name:k``.
    base: str
    paths: list[str]
    #: The nested model's own features when the call is of a nested model we can enter.
    inner: _Graph | None = None


@dataclass
class _Graph:
    """The features of one (nested) model's graph; paths are relative to that model."""

    steps: list[_Step] = field(default_factory=list)
    #: Every path in graph order, a nested model's paths right after its own.
    paths: list[str] = field(default_factory=list)


def _graph(model: keras.Model, nested: bool, cache: dict | None = None) -> _Graph:
    """Paths of the layers in `model`'s graph (input layers excluded).

    The k-th call (k > 0) of a layer in one graph is ``name:k``; a layer with several output
    tensors gives ``name[0]``, ``name[1]``, ...; layers of a nested model are
    ``model name/layer path``.
    """
    cache = {} if cache is None else cache
    if id(model) in cache:
        return cache[id(model)]
    calls = nodes.graph_calls(model)
    rank: dict[tuple[int, int], int] = {}
    for layer_id in {id(c.operation) for c in calls}:
        indices = sorted(c.node_index for c in calls if id(c.operation) == layer_id)
        rank.update({(layer_id, index): k for k, index in enumerate(indices)})
    graph = _Graph()
    for call in calls:
        layer = call.operation
        if not isinstance(layer, keras.layers.Layer):  # a raw keras.ops operation
            graph.steps.append(_Step(call, "", []))
            continue
        k = rank[(id(layer), call.node_index)]
        base = layer.name + (f":{k}" if k else "")
        many = len(call.outputs) > 1
        paths = [f"{base}[{j}]" if many else base for j in range(len(call.outputs))]
        step = _Step(call, base, paths)
        graph.paths += step.paths
        # A nested model called with exactly its own inputs can be entered; one called with
        # extra tensor arguments (a mask, say) is kept as a single layer.
        if nested and is_graph_model(layer) and len(call.inputs) == len(layer.inputs):
            step.inner = _graph(layer, nested, cache)
            graph.paths += [base + SEP + path for path in step.inner.paths]
        graph.steps.append(step)
    cache[id(model)] = graph
    return graph


def _inner_wanted(step: _Step, wanted: set[str]) -> set[str]:
    """The wanted paths inside the nested model of `step`, relative to it."""
    if step.inner is None:
        return set()
    prefix = step.base + SEP
    return {p[len(prefix) :] for p in wanted if p.startswith(prefix)}


def _expose(model: keras.Model, graph: _Graph, wanted: set[str], need_outputs: bool):
    """``(inputs, outputs, features)``: a graph computing the `wanted` paths of `model`.

    `outputs` are `model`'s outputs in that graph when `need_outputs` (else None), and
    `features` maps each wanted path to its tensor. Without nested models to enter, the graph
    is `model`'s own. Otherwise the calls that the wanted features need are replayed on fresh
    inputs, calling the same layers (weights are shared), with each entered nested model
    replaced by a view of it: a functional model of the same name, over the same layers,
    that outputs the inner features (and its outputs where later calls need them). Keeping the
    original nested model *and* a view of it in one model would put the same layers into two
    nested models, which Keras saves once but would load twice.
    """
    steps = graph.steps
    enter: dict[int, set[str]] = {}
    for step in steps:
        inner = _inner_wanted(step, wanted)
        if inner:
            enter.setdefault(id(step.call.operation), set()).update(inner)
    if not enter:
        features = {}
        for step in steps:
            features.update(
                (path, tensor)
                for path, tensor in zip(step.paths, step.call.outputs, strict=False)
                if path in wanted
            )
        return model_input(model), list(model.outputs) if need_outputs else None, features
    needed, consumed = _needed_calls(model, steps, wanted, need_outputs)
    views = _views(steps, needed, consumed, enter)
    inputs = fresh_inputs(model_input(model), None)  # same names as the model's inputs
    tensors = {
        id(old): new for old, new in zip(model.inputs, keras.tree.flatten(inputs), strict=True)
    }
    features = _replay(steps, needed, views, wanted, tensors)
    outputs = [tensors[id(t)] for t in model.outputs] if need_outputs else None
    return inputs, outputs, features


def _needed_calls(
    model: keras.Model, steps: list[_Step], wanted: set[str], need_outputs: bool
) -> tuple[set[int], set[int]]:
    """``(needed, consumed)``: the steps to replay and the ids of the tensors used after them.

    Needed are the steps behind wanted tensors, the entered nested calls and, when
    `need_outputs`, those behind the model's outputs. Consumed are the tensors that needed
    calls take, and the wanted and output tensors.
    """
    producer = {id(t): i for i, step in enumerate(steps) for t in step.call.outputs}
    wanted_ids = {
        id(t)
        for step in steps
        for path, t in zip(step.paths, step.call.outputs, strict=False)
        if path in wanted
    }
    output_ids = {id(t) for t in model.outputs} if need_outputs else set()
    stack = [*wanted_ids, *output_ids]
    stack += [id(t) for step in steps if _inner_wanted(step, wanted) for t in step.call.outputs]
    needed: set[int] = set()
    while stack:
        i = producer.get(stack.pop())
        if i is not None and i not in needed:
            needed.add(i)
            stack += [id(t) for t in steps[i].call.inputs]
    consumed = {id(t) for i in needed for t in steps[i].call.inputs} | wanted_ids | output_ids
    return needed, consumed


def _views(
    steps: list[_Step], needed: set[int], consumed: set[int], enter: dict[int, set[str]]
) -> dict[int, tuple[keras.Model, bool, list[str]]]:
    """``{id(nested model): _view(...)}`` for each entered nested model among the needed steps.

    A view keeps the nested model's own outputs only when a later call (or the result)
    consumes them.
    """
    views: dict[int, tuple[keras.Model, bool, list[str]]] = {}
    for i in sorted(needed):
        layer = steps[i].call.operation
        if id(layer) in enter and id(layer) not in views:
            keep = any(
                id(t) in consumed
                for j in needed
                if steps[j].call.operation is layer
                for t in steps[j].call.outputs
            )
            views[id(layer)] = _view(layer, steps[i].inner, enter[id(layer)], keep)
    return views


def _replay(
    steps: list[_Step],
    needed: set[int],
    views: dict[int, tuple[keras.Model, bool, list[str]]],
    wanted: set[str],
    tensors: dict[int, Any],
) -> dict[str, Any]:
    """Replay the needed steps in order, nested models through their views: ``{path: tensor}``.

    `tensors` maps ``id(original tensor)`` to its replayed tensor; it starts with the inputs
    and is filled in as the calls are replayed.
    """
    features = {}
    for i in sorted(needed):
        step = steps[i]
        layer = step.call.operation
        if id(layer) in views:
            view, keep, inner_paths = views[id(layer)]
            outputs = step.call.replay(tensors, view)
            if keep:
                tensors.update(
                    (id(old), new) for old, new in zip(step.call.outputs, outputs, strict=False)
                )
            prefix = step.base + SEP
            inner_outputs = outputs[len(step.call.outputs) :] if keep else outputs
            features.update(
                (prefix + path, tensor)
                for path, tensor in zip(inner_paths, inner_outputs, strict=True)
                if prefix + path in wanted
            )
        else:
            outputs = step.call.replay(tensors)
            tensors.update(
                (id(old), new) for old, new in zip(step.call.outputs, outputs, strict=False)
            )
        features.update(
            (path, tensors[id(old)])
            for path, old in zip(step.paths, step.call.outputs, strict=False)
            if path in wanted and id(old) in tensors
        )
    return features


def _view(
    model: keras.Model, graph: _Graph, wanted: set[str], keep_outputs: bool
) -> tuple[keras.Model, bool, list[str]]:
    """A model named like `model`, same layers: ``[*its outputs if keep_outputs, *features]``."""
    inputs, outputs, features = _expose(model, graph, wanted, keep_outputs)
    paths = [path for path in graph.paths if path in features]
    heads = outputs if keep_outputs else []
    view = keras.Model(inputs, [*heads, *(features[p] for p in paths)], name=model.name)
    return view, keep_outputs, paths


def _select(paths: list[str], layers: Any, nested: bool) -> set[str]:
    where = "feature_extractor"
    hint = "" if nested else " (nested=False: layers inside nested models are not offered)"
    if isinstance(layers, str) and layers == "all":
        return set(paths)
    if isinstance(layers, str):
        try:
            pattern = re.compile(layers)
        except re.error as error:
            fail(where, "layers", layers, f"'all', a list of paths, or a valid regex ({error})")
        chosen = {path for path in paths if pattern.search(path)}
        if not chosen:
            fail(
                where,
                "layers",
                layers,
                f"a regex that matches at least one layer path; the paths are: {listing(paths)}{hint}",
            )
        return chosen
    if (
        not isinstance(layers, Sequence)
        or not layers
        or not all(isinstance(p, str) for p in layers)
    ):
        fail(where, "layers", layers, "'all', a non-empty list of layer paths, or a regex")
    known = set(paths)
    unknown = [p for p in layers if p not in known]
    if unknown:
        fail(
            where,
            "layers",
            f"{listing(unknown)}, which match{'es' if len(unknown) == 1 else ''} no layer path",
            f"paths of layers in the model: {listing(paths)}{hint}",
        )
    return set(layers)


def feature_extractor(
    model: keras.Model,
    layers: str | Sequence[str] = "all",
    *,
    nested: bool = True,
    name: str | None = None,
) -> keras.Model:
    """A model with `model`'s inputs whose outputs are the chosen layers' outputs, by path.

    A layer's path is its name, prefixed by the names of the nested models it sits in
    (``"resnet50/conv2_block1_out"``), never by `model`'s own name. A layer called several
    times in one graph gives ``path``, ``path:1``, ``path:2``, ... (one per call); a layer with
    several output tensors gives ``path[0]``, ``path[1]``, ... Input layers are not features.

    The extractor shares its layers and weights with `model`, so it sees training progress.
    Reaching into a nested model replaces it, in the extractor, by a view of the same name
    over the same layers that also outputs the inner features; the layers around it are
    called once more to wire the view in (Keras records one more node on each).

    Args:
        model: a functional (or built Sequential) model.
        layers: ``"all"``, a list of paths, or any other string: a regex searched in each path
            (``re.search``; anchor it with ``^...$`` for whole paths).
        nested: whether to reach into nested models (their own outputs are features either way).
        name: the extractor's name; unique when None.

    Returns:
        A functional ``keras.Model`` with `model`'s inputs whose output is a dict
        ``{path: tensor}`` in graph order; :func:`feature_info` describes it.

    Raises:
        NotAGraphModelError: `model` has no graph (a subclassed model); a ValueError.
        ValueError: a path that matches no layer, or a regex that matches nothing (the
            message lists the paths that exist).

    Example:
        >>> import keras, numpy as np
        >>> from kfx.templates import feature_extractor
        >>> x = keras.Input((8,))
        >>> inner = keras.Model(x, keras.layers.Dense(4, name="dense")(x), name="encoder")
        >>> y = keras.Input((8,), name="features")
        >>> model = keras.Model(y, keras.layers.Dense(1, name="score")(inner(y)), name="outer")
        >>> extractor = feature_extractor(model)
        >>> list(extractor.predict(np.zeros((2, 8)), verbose=0))
        ['encoder', 'encoder/dense', 'score']
        >>> list(feature_extractor(model, "^encoder/").output)
        ['encoder/dense']
    """
    where = "feature_extractor"
    graph_model(model, where, "model")
    name = block_name(name, where)
    graph = _graph(model, bool(nested))
    if not graph.paths:
        fail(where, "model", f"model {model.name!r} with no layers", "a model with layers")
    selected = _select(graph.paths, layers, bool(nested))
    inputs, _, features = _expose(model, graph, selected, need_outputs=False)
    outputs = {path: features[path] for path in graph.paths if path in features}
    return keras.Model(inputs, outputs, name=name)


def feature_info(extractor: keras.Model) -> list[dict]:
    """Name, shape, dtype and layer class of each output of a :func:`feature_extractor` model.

    Works on a reloaded extractor too.

    Args:
        extractor: a model returned by :func:`feature_extractor` (or loaded from its file).

    Returns:
        One dict per output, in the order of ``extractor.output``:
        ``{"name": path, "shape": (None, ...), "dtype": "float32", "class_name": "Dense"}``.

    Raises:
        ValueError: `extractor` is not a model whose output is a dict keyed by layer path.

    Example:
        >>> import keras
        >>> from kfx.templates import feature_extractor, feature_info
        >>> x = keras.Input((8,))
        >>> model = keras.Model(x, keras.layers.Dense(2, name="dense")(x))
        >>> feature_info(feature_extractor(model))
        [{'name': 'dense', 'shape': (None, 2), 'dtype': 'float32', 'class_name': 'Dense'}]
    """
    where = "feature_info"
    if not is_graph_model(extractor) or not isinstance(extractor.output, dict):
        fail(where, "extractor", extractor, "a model made by feature_extractor (dict outputs)")
    calls: dict[int, list] = {}

    def producer(model: keras.Model, tensor: Any, depth: int):
        """The layer behind `tensor`, `depth` nested models down."""
        if id(model) not in calls:
            calls[id(model)] = nodes.graph_calls(model)
        for call in calls[id(model)]:
            for j, output in enumerate(call.outputs):
                if output is tensor:
                    if depth == 0:
                        return call.operation
                    if is_graph_model(call.operation):
                        return producer(call.operation, call.operation.outputs[j], depth - 1)
        fail(where, "extractor", extractor.name, "a model made by feature_extractor")

    info = []
    for path, tensor in extractor.output.items():
        layer = producer(extractor, tensor, path.count(SEP))
        info.append(
            {
                "name": path,
                "shape": tuple(tensor.shape),
                "dtype": str(tensor.dtype),
                "class_name": type(layer).__name__,
            }
        )
    return info
