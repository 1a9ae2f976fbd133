"""Method rules (K32xx): methods and TensorFlow 1 APIs that Keras 3 code cannot call.

``fit_generator`` and its siblings were thin aliases of ``fit`` / ``evaluate`` / ``predict``
in Keras 2 and are gone; they are rewritten. The node accessors (``get_output_at`` & co.,
``layer.output_shape``) and SavedModel saving through ``model.save("dir")`` have no
drop-in replacement and are reported with the kfx or Keras 3 way, as are the graph-mode
helpers of TensorFlow 1 (``K.function``, ``K.gradients``, sessions). These rules only look
at modules that import Keras or TensorFlow.

Example:
    >>> from kfx.migrate import check_source, fix_source
    >>> print(fix_source("import keras\\nmodel.fit_generator(batches, epochs=2)\\n")[0])
    import keras
    model.fit(batches, epochs=2)
    <BLANKLINE>
    >>> [f.rule for f in check_source("import keras\\nshape = layer.get_output_shape_at(1)\\n")]
    ['K3202']
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._nodes import (
    drop_keywords,
    keyword,
    method_name,
    positional,
    rename_keywords,
    string_value,
)
from kfx.migrate._registry import Hit, register_rule

_GENERATOR_METHODS = {
    "fit_generator": "fit",
    "evaluate_generator": "evaluate",
    "predict_generator": "predict",
}
#: Keras 2 generator arguments that Keras 3 moved to ``keras.utils.PyDataset(...)``.
_WORKER_ARGUMENTS = {"max_queue_size", "workers", "use_multiprocessing"}


def _fix_generator_method(node: cst.Call, context) -> cst.Call:
    new = _GENERATOR_METHODS[method_name(node)]
    node = node.with_changes(func=node.func.with_changes(attr=cst.Name(new)))
    return rename_keywords(node, {"generator": "x"})


@register_rule(
    "K3201",
    "`fit_generator` / `evaluate_generator` / `predict_generator` are `fit` / `evaluate` / `predict`",
    nodes=(cst.Call,),
    fix="`fit` / `evaluate` / `predict`, which take generators and `keras.utils.PyDataset`",
    fixer=_fix_generator_method,
)
def generator_methods(node: cst.Call, context) -> Hit | None:
    """Keras 2.4+ implemented `fit_generator`, `evaluate_generator` and `predict_generator` as
    calls of `fit`, `evaluate` and `predict`, which accept Python generators and
    `keras.utils.PyDataset` directly; Keras 3 removed the aliases. The call is renamed (a
    `generator=` keyword becomes `x=`). Calls with more than one positional argument
    (positions differ between the two signatures) or with `workers`, `use_multiprocessing`
    or `max_queue_size` (Keras 3 takes those in `PyDataset(...)`'s constructor) are
    reported."""
    name = method_name(node)
    if not context.uses_keras or name not in _GENERATOR_METHODS:
        return None
    workers = sorted(
        a.keyword.value for a in node.args if a.keyword and a.keyword.value in _WORKER_ARGUMENTS
    )
    fixable = len(positional(node)) <= 1 and not workers and not any(a.star for a in node.args)
    fix = ""
    if workers:
        fix = (
            f"`{_GENERATOR_METHODS[name]}`; pass `{'=, '.join(workers)}=` to a "
            "`keras.utils.PyDataset` subclass's `super().__init__`"
        )
    return Hit(f"`{name}` is not in Keras 3", fixable=fixable, fix=fix)


_NODE_METHODS = {
    "get_output_at": "output_at",
    "get_input_at": "input_at",
    "get_output_shape_at": "output_shape_at",
    "get_input_shape_at": "input_shape_at",
    "get_output_mask_at": None,
    "get_input_mask_at": None,
}


@register_rule(
    "K3202",
    "`layer.get_output_at(i)` & co. are gone: `kfx.nodes`",
    nodes=(cst.Call,),
    fix="`kfx.nodes.output_at(layer, i)`, `input_at`, `output_shape_at`, `input_shape_at`",
)
def node_methods(node: cst.Call, context) -> Hit | None:
    """Keras 3 removed the per-node accessors of a layer called more than once
    (`get_output_at`, `get_input_at`, `get_output_shape_at`, `get_input_shape_at`, the mask
    ones). `kfx.nodes` gives them back as functions (`kfx.nodes.output_at(layer, i)`).
    Reported, not rewritten: the fix needs `import kfx` and kfx as a dependency."""
    name = method_name(node)
    if not context.uses_keras or name not in _NODE_METHODS:
        return None
    new = _NODE_METHODS[name]
    fix = (
        f"`kfx.nodes.{new}(layer, i)`"
        if new
        else "`layer.output._keras_mask` is gone: compute the mask"
    )
    return Hit(f"`layer.{name}` is not in Keras 3", fix=fix)


_SHAPE_ATTRIBUTES = {"output_shape": "output", "input_shape": "input"}


@register_rule(
    "K3203",
    "`layer.output_shape` / `layer.input_shape` are gone",
    nodes=(cst.Attribute,),
    fix="`layer.output.shape` (`kfx.nodes.output_shape_at(layer, i)` for a shared layer)",
)
def shape_attributes(node: cst.Attribute, context) -> Hit | None:
    """Keras 3 layers have no `output_shape` / `input_shape` attributes (`AttributeError`).
    The shape of a layer's output in a functional model is `layer.output.shape`; for a layer
    called more than once, `kfx.nodes.output_shape_at(layer, i)`. Not reported in modules
    that assign such an attribute themselves (a custom class with its own `output_shape`)."""
    name = node.attr.value
    if not context.uses_keras or name not in _SHAPE_ATTRIBUTES:
        return None
    if name in context.assigned_attributes or name in context.defined:
        return None
    if context.qualified(node) is not None:
        return None  # a module attribute, not a layer's
    which = _SHAPE_ATTRIBUTES[name]
    return Hit(
        f"`layer.{name}` is not in Keras 3",
        fix=f"`layer.{which}.shape` (`kfx.nodes.{name}_at(layer, i)` for a shared layer)",
    )


_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def _save_path(node: cst.Call) -> cst.Arg | None:
    args = positional(node)
    return args[0] if args else keyword(node, "filepath")


def _fix_save(node: cst.Call, context) -> cst.Call:
    return drop_keywords(node, {"save_format"})


@register_rule(
    "K3204",
    '`model.save("dir")` and `save_format="tf"`: `.keras`, or `model.export` to serve',
    nodes=(cst.Call,),
    fix='`model.save("model.keras")`; for serving `model.export("dir")`, reloaded as '
    '`keras.layers.TFSMLayer("dir", call_endpoint="serve")`',
    fixer=_fix_save,
)
def save_savedmodel(node: cst.Call, context) -> Hit | None:
    """Keras 3's `model.save` writes `.keras` (or legacy `.h5`) files only: a path without
    one of these suffixes, Keras 2's SavedModel folder, raises `ValueError`, and so does
    `save_format="tf"`. What a SavedModel was for has two Keras 3 ways: `model.keras` to
    reload and train on, `model.export("dir")` to serve (reload with
    `keras.layers.TFSMLayer`). Which one is meant cannot be told from the code, so these are
    reported. `save_format=` next to a `.keras` / `.h5` path is redundant in Keras 3 and
    dropped."""
    if not context.uses_keras or method_name(node) != "save":
        return None
    receiver = context.qualified(node.func.value)
    if receiver is not None and not receiver.startswith("keras"):
        return None  # np.save, pickle-like module functions
    path = _save_path(node)
    value = string_value(path.value) if path is not None else None
    fmt = keyword(node, "save_format")
    fmt_value = string_value(fmt.value) if fmt is not None else None
    if fmt is not None and fmt_value in ("tf", "savedmodel"):
        return Hit('`save_format="tf"` (SavedModel) is not in Keras 3')
    if fmt is not None and value is not None and value.endswith(_MODEL_SUFFIXES):
        return Hit("`save_format=` is not needed in Keras 3", fixable=True, fix="dropped")
    if value is not None:
        last = value.rstrip("/").rsplit("/", 1)[-1]
        if "." not in last or value.endswith(("/", ".tf")):
            return Hit(f"`model.save({value!r})` (a SavedModel folder) fails in Keras 3")
    return None


_SESSION_FUNCTIONS = {
    "function": "a `keras.Model(inputs, outputs)`; call it, or `model.predict`",
    "gradients": "`tf.GradientTape` (`tape.gradient(loss, model.trainable_weights)`)",
    "get_session": "no sessions in TensorFlow 2: run eagerly; `tf.config` for devices",
    "set_session": "no sessions in TensorFlow 2: `tf.config` for devices and memory growth",
}


@register_rule(
    "K3205",
    "`K.function`, `K.gradients`, `K.get_session`, `K.set_session` are gone",
    nodes=(cst.Call,),
    fix="the Keras 3 way named in the message",
)
def backend_graph(node: cst.Call, context) -> Hit | None:
    """These backend functions built or ran TensorFlow 1 graphs: `K.function` compiled a
    function of symbolic tensors, `K.gradients` took symbolic gradients, `K.get_session` /
    `K.set_session` handled the session. Keras 3 has none of them: a sub-model
    `keras.Model(inputs, outputs)` replaces `K.function`, `tf.GradientTape` replaces
    `K.gradients`, and TensorFlow 2 has no sessions (`tf.config` sets devices and memory
    growth). Reported with the replacement for each."""
    name = context.qualified(node.func)
    if name is None or not name.startswith("keras.backend."):
        return None
    short = name[len("keras.backend.") :]
    if short not in _SESSION_FUNCTIONS:
        return None
    return Hit(f"`keras.backend.{short}` is not in Keras 3", fix=_SESSION_FUNCTIONS[short])


_TF1 = {
    "Session": "no sessions in TensorFlow 2: run eagerly, `tf.function` for graphs",
    "InteractiveSession": "no sessions in TensorFlow 2: run eagerly",
    "ConfigProto": "`tf.config` (e.g. `tf.config.experimental.set_memory_growth(gpu, True)`)",
    "GPUOptions": "`tf.config.experimental.set_memory_growth(gpu, True)`",
    "placeholder": "`keras.Input(shape)`",
    "global_variables_initializer": "not needed: variables initialise on creation",
    "get_default_graph": "not needed in TensorFlow 2 (eager)",
    "reset_default_graph": "`keras.backend.clear_session()`",
}


@register_rule(
    "K3206",
    "TensorFlow 1 sessions and graphs (`tf.Session`, `tf.ConfigProto`, ...)",
    nodes=(cst.Attribute,),
    fix="TensorFlow 2's eager execution and `tf.config`",
)
def tensorflow_sessions(node: cst.Attribute, context) -> Hit | None:
    """TensorFlow 2 runs eagerly: `tf.Session`, `tf.ConfigProto`, `tf.placeholder` and
    their kin exist only under `tf.compat.v1`, and a Keras 3 model does not run inside a
    session at all (Keras 2 code set one with `K.set_session(tf.Session(config=...))` for
    GPU memory growth). Reported with the TensorFlow 2 way; `tf.compat.v1.X` too, since
    Keras 3 ignores the session it would create."""
    name = context.qualified(node)
    if name is None:
        return None
    for prefix in ("tensorflow.compat.v1.", "tensorflow."):
        if name.startswith(prefix) and name[len(prefix) :] in _TF1:
            short = name[len(prefix) :]
            return Hit(f"`tf.{short}` is TensorFlow 1", fix=_TF1[short])
    return None
