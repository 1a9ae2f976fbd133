"""Import rules (K30xx): Keras 2 modules that Keras 3 moved or removed.

Keras 2 exposed its implementation modules (``keras.layers.merge``, ``keras.layers.core``,
``keras.engine``, ``keras.utils.np_utils``) and many scripts imported from them; Keras 3
keeps only the public packages, so these imports fail with ``ModuleNotFoundError``. Where
every imported name lives in one public module the import is rewritten; otherwise a finding
names the module to use. ``tensorflow.python.keras`` is TensorFlow's private copy of Keras 2,
and the ``keras.backend`` functions that Keras 3 dropped become ``keras.ops`` calls where the
op means the same.

Example:
    >>> from kfx.migrate import fix_source
    >>> print(fix_source("from keras.layers.core import Dense, Dropout  # head\\n")[0])
    from keras.layers import Dense, Dropout  # head
    <BLANKLINE>
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._context import canonical, dotted
from kfx.migrate._nodes import append_keywords, expression, keyword, positional
from kfx.migrate._registry import Hit, register_rule

#: Keras 2 layer submodules whose layers are all in ``keras.layers`` on Keras 3 (K3003).
_LAYER_SUBMODULES = (
    "advanced_activations",
    "convolutional",
    "convolutional_recurrent",
    "cudnn_recurrent",
    "embeddings",
    "local",
    "noise",
    "normalization",
    "pooling",
    "recurrent",
    "wrappers",
)
#: Public Keras 3 modules: where ``tensorflow.python.keras.X`` may go as ``keras.X`` (K3007).
_PUBLIC = {
    "keras",
    *(
        f"keras.{name}"
        for name in (
            "activations applications backend callbacks constraints datasets initializers "
            "layers losses metrics mixed_precision models ops optimizers optimizers.schedules "
            "preprocessing random regularizers saving utils"
        ).split()
    ),
}


def _rewrite_prefix(name: str, target: str) -> str:
    """`target` (canonical) spelled with `name`'s Keras prefix (``tensorflow.keras`` stays)."""
    tail = canonical(name)[len("keras") :]
    prefix = name[: len(name) - len(tail)] if tail else name
    return prefix + target[len("keras") :]


def _module_move(rule_id: str, summary: str, olds: tuple[str, ...], target: str, what: str):
    """Register a rule for Keras 2 modules `olds` whose contents all live in `target`."""
    message_of = {old: f"`{old}` is gone: its {what} are in `{target}`" for old in olds}

    def detect(node, context) -> Hit | None:
        if isinstance(node, cst.ImportFrom):
            module = canonical(dotted(node.module)) if not node.relative else None
            return Hit(message_of[module], fixable=True) if module in message_of else None
        if isinstance(node, cst.Import):
            found = [canonical(dotted(a.name)) for a in node.names]
            found = [m for m in found if m in message_of]
            return Hit(message_of[found[0]], fixable=True) if found else None
        name = context.qualified(node)
        return Hit(message_of[name], fixable=True) if name in message_of else None

    def fix(node, context):
        if isinstance(node, cst.ImportFrom):
            new = _rewrite_prefix(dotted(node.module), target)
            return node.with_changes(module=expression(new))
        if isinstance(node, cst.Import):
            names = [
                alias.with_changes(name=expression(_rewrite_prefix(dotted(alias.name), target)))
                if canonical(dotted(alias.name)) in message_of
                else alias
                for alias in node.names
            ]
            return node.with_changes(names=names)
        return node.value  # keras.layers.merge.add -> keras.layers.add

    assert all(old.rsplit(".", 1)[0] == target for old in olds)
    return register_rule(
        rule_id,
        summary,
        nodes=(cst.ImportFrom, cst.Import, cst.Attribute),
        fix=f"from {target} import ...",
        fixer=fix,
        docs=(
            f"Keras 2 had its {what} in `{'`, `'.join(olds)}`; Keras 3 removed these modules "
            f"and exports the same names from `{target}`, so the import fails with "
            "`ModuleNotFoundError`. The fix rewrites the module in `from ... import` "
            "statements, plain imports and attribute chains; the imported names and their "
            "aliases stay."
        ),
    )(detect)


_module_move(
    "K3001",
    "`keras.layers.merge` is `keras.layers`",
    ("keras.layers.merge",),
    "keras.layers",
    "layers",
)
_module_move(
    "K3002",
    "`keras.layers.core` is `keras.layers`",
    ("keras.layers.core",),
    "keras.layers",
    "layers",
)
_module_move(
    "K3003",
    "other Keras 2 layer submodules are `keras.layers`",
    tuple(f"keras.layers.{name}" for name in _LAYER_SUBMODULES),
    "keras.layers",
    "layers",
)
_module_move(
    "K3005",
    "`keras.utils.np_utils` is `keras.utils`",
    ("keras.utils.np_utils",),
    "keras.utils",
    "functions (`to_categorical`, `normalize`)",
)

#: Names Keras 2 code imports from ``keras.engine.*`` -> their public Keras 3 module.
_ENGINE_NAMES = {
    "Layer": "keras.layers",
    "InputSpec": "keras.layers",
    "InputLayer": "keras.layers",
    "Input": "keras",
    "Model": "keras",
    "Sequential": "keras",
}


def _engine_target(node: cst.ImportFrom) -> str | None:
    if isinstance(node.names, cst.ImportStar):
        return None
    targets = {_ENGINE_NAMES.get(dotted(alias.name)) for alias in node.names}
    return targets.pop() if len(targets) == 1 and None not in targets else None


def _is_engine(name: str | None) -> bool:
    return name is not None and (name == "keras.engine" or name.startswith("keras.engine."))


def _fix_engine(node, context):
    target = _engine_target(node)
    return node.with_changes(module=expression(_rewrite_prefix(dotted(node.module), target)))


@register_rule(
    "K3004",
    "`keras.engine` is private: import from `keras` / `keras.layers`",
    nodes=(cst.ImportFrom, cst.Import, cst.Attribute),
    fix="`keras.layers.Layer`, `keras.layers.InputSpec`, `keras.Model`, `keras.Input`",
    fixer=_fix_engine,
)
def engine(node, context) -> Hit | None:
    """Keras 2 scripts import `Layer`, `InputSpec` or `Model` from `keras.engine`,
    `keras.engine.topology` or `keras.engine.base_layer`; Keras 3 has no `keras.engine`
    (its internals are in the private `keras.src`). A `from keras.engine... import` whose
    names all live in one public module (`Layer`, `InputSpec`, `InputLayer` in
    `keras.layers`; `Model`, `Sequential`, `Input` in `keras`) is rewritten; any other use is
    reported."""
    if isinstance(node, cst.ImportFrom):
        module = canonical(dotted(node.module)) if not node.relative else None
        if not _is_engine(module):
            return None
        fixable = _engine_target(node) is not None
        return Hit(f"`{module}` is not public in Keras 3", fixable=fixable)
    if isinstance(node, cst.Import):
        names = [canonical(dotted(a.name)) for a in node.names]
        found = [n for n in names if _is_engine(n)]
        return Hit(f"`{found[0]}` is not public in Keras 3") if found else None
    name = context.qualified(node)
    if _is_engine(name) and isinstance(node.value, cst.Attribute) and name.count(".") == 1:
        return Hit("`keras.engine` is not public in Keras 3")
    return None


@register_rule(
    "K3006",
    "`keras.wrappers.scikit_learn` is gone: use scikeras",
    nodes=(cst.ImportFrom, cst.Import),
    fix="`pip install scikeras`; `from scikeras.wrappers import KerasClassifier, KerasRegressor` "
    "(`build_fn=` is `model=`)",
)
def scikit_learn(node, context) -> Hit | None:
    """Keras 2's scikit-learn wrappers (`KerasClassifier`, `KerasRegressor`) were removed;
    their maintained successor is the scikeras package, whose wrappers take the model
    builder as `model=` (not `build_fn=`) and route arguments with prefixes (`model__units`).
    The API differs, so this is reported, not rewritten."""
    if isinstance(node, cst.ImportFrom):
        names = [canonical(dotted(node.module))] if not node.relative else []
    else:
        names = [canonical(dotted(a.name)) for a in node.names]
    for name in names:
        if name is not None and name.startswith("keras.wrappers"):
            return Hit(f"`{name}` does not exist in Keras 3")
    return None


def _private_target(name: str | None) -> str | None:
    """``keras.layers`` for ``tensorflow.python.keras.layers`` when that is a module to go to."""
    if name is None or not (
        name == "tensorflow.python.keras" or name.startswith("tensorflow.python.keras.")
    ):
        return None
    return canonical(name)


def _movable(target: str) -> bool:
    """Whether `target` is public in Keras 3 or a module another import rule moves."""
    moved = {"keras.layers.merge", "keras.layers.core", "keras.utils.np_utils"}
    moved |= {f"keras.layers.{name}" for name in _LAYER_SUBMODULES}
    return target in _PUBLIC or target in moved


def _fix_private(node, context):
    if isinstance(node, cst.ImportFrom):
        return node.with_changes(module=expression(_private_target(dotted(node.module))))
    names = [
        alias.with_changes(name=expression(_private_target(dotted(alias.name))))
        if _private_target(dotted(alias.name))
        else alias
        for alias in node.names
    ]
    return node.with_changes(names=names)


@register_rule(
    "K3007",
    "`tensorflow.python.keras` is TensorFlow's private Keras 2: import `keras`",
    nodes=(cst.ImportFrom, cst.Import),
    fix="import the same names from `keras` (Keras 3)",
    fixer=_fix_private,
)
def tensorflow_python_keras(node, context) -> Hit | None:
    """`tensorflow.python.keras` is the copy of Keras 2 inside TensorFlow's private
    `tensorflow.python` package. On TensorFlow 2.16+ it is a different library from the Keras
    3 that `tf.keras` and `keras` are: its layers and models cannot be mixed with Keras 3
    ones, and it disappears in later releases. `from tensorflow.python.keras.X import ...` is
    rewritten to `from keras.X import ...` where `keras.X` is a public Keras 3 module (or one
    that another import rule then moves); `import tensorflow.python.keras as K2` becomes
    `import keras as K2`. Other uses are reported."""
    if isinstance(node, cst.ImportFrom):
        if node.relative:
            return None
        target = _private_target(dotted(node.module))
        if target is None:
            return None
        return Hit("`tensorflow.python.keras` is private Keras 2", fixable=_movable(target))
    for alias in node.names:
        target = _private_target(dotted(alias.name))
        if target is not None:
            ok = alias.asname is not None and _movable(target)
            return Hit("`tensorflow.python.keras` is private Keras 2", fixable=ok)
    return None


#: ``keras.backend`` functions that Keras 3 keeps.
_BACKEND_KEPT = {
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "get_uid",
    "image_data_format",
    "is_float_dtype",
    "is_int_dtype",
    "is_keras_tensor",
    "result_type",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "standardize_dtype",
}
#: Reported by K3205 (sessions and symbolic graph functions), not here.
_BACKEND_SESSION = {"function", "gradients", "get_session", "set_session"}
#: Dropped backend functions whose ``keras.ops`` (or ``keras.random``) namesake means the
#: same for the same positional arguments.
_SAME_OPS = {
    name: f"ops.{name}"
    for name in (
        "abs all any cast clip cos equal exp greater greater_equal less less_equal log "
        "maximum minimum not_equal ones_like reshape round sigmoid sign sin softmax softplus "
        "softsign sqrt square stack std sum tanh transpose var zeros_like mean max min prod "
        "dot"
    ).split()
}
_SAME_OPS.update(
    pow="ops.power",
    permute_dimensions="ops.transpose",
    random_normal="random.normal",
    random_uniform="random.uniform",
)
#: Keywords that mean the same in the Keras 2 function and its keras.ops namesake. A seed is
#: not among them: an integer seed draws the same numbers at every call in keras.random.
_SAME_KEYWORDS = {"axis", "keepdims", "dtype", "mean", "stddev", "minval", "maxval"}
#: Dropped functions whose Keras 2 default axis was -1 where keras.ops has another default:
#: fixed with an explicit ``axis=-1`` when the call gives no axis.
_AXIS_LAST = {"concatenate": "ops.concatenate", "argmax": "ops.argmax", "argmin": "ops.argmin"}
#: Hints for dropped functions without a same-meaning replacement.
_BACKEND_HINTS = {
    "int_shape": "`x.shape` (a tuple; None for unknown dimensions)",
    "shape": "`keras.ops.shape(x)` (a tuple in Keras 3)",
    "get_value": "`keras.ops.convert_to_numpy(x)` or `variable.numpy()`",
    "set_value": "`variable.assign(value)`",
    "batch_get_value": "`[keras.ops.convert_to_numpy(v) for v in variables]`",
    "variable": "`keras.Variable(value)`",
    "placeholder": "`keras.Input(shape)`",
    "learning_phase": "pass `training=` to the layer call",
    "set_learning_phase": "pass `training=` to the layer call",
    "l2_normalize": "`keras.ops.normalize(x, axis=..., order=2)` or `kfx.layers.L2Normalize`",
    "expand_dims": "`keras.ops.expand_dims(x, axis)` (axis is required)",
    "batch_dot": "`keras.ops.einsum` with the axes spelled out",
    "relu": "`keras.ops.relu(x)` (no alpha / max_value: `keras.layers.ReLU`)",
}


def _backend_name(node: cst.BaseExpression, context) -> str | None:
    name = context.qualified(node)
    if name is None or not name.startswith("keras.backend."):
        return None
    short = name[len("keras.backend.") :]
    dropped = "." not in short and short not in _BACKEND_KEPT | _BACKEND_SESSION
    return short if dropped else None


def _fix_backend(node: cst.Call, context) -> cst.Call:
    short = dotted(node.func).rsplit(".", 1)[-1]
    new = _SAME_OPS.get(short) or _AXIS_LAST[short]
    keras = context.require_keras()
    node = node.with_changes(func=expression(f"{keras}.{new}"))
    if short in _AXIS_LAST and len(positional(node)) < 2 and keyword(node, "axis") is None:
        node = node.with_changes(args=append_keywords(node.args, {"axis": "-1"}))
    return node


@register_rule(
    "K3008",
    "`keras.backend` functions that Keras 3 dropped: `keras.ops`",
    nodes=(cst.Call, cst.ImportFrom),
    fix="the `keras.ops` function of the same name",
    fixer=_fix_backend,
)
def backend_functions(node, context) -> Hit | None:
    """Keras 3's `keras.backend` keeps only configuration (`epsilon`, `floatx`,
    `image_data_format`, `clear_session`, ...); the math that Keras 2 code calls as `K.mean`,
    `K.square` or `K.concatenate` moved to `keras.ops`. A call `K.f(...)` whose `keras.ops`
    namesake means the same is rewritten (`K.pow` -> `keras.ops.power`,
    `K.permute_dimensions` -> `keras.ops.transpose`, `K.random_normal` ->
    `keras.random.normal`); `K.concatenate`, `K.argmax` and `K.argmin` get an explicit
    `axis=-1`, their Keras 2 default, which `keras.ops` does not share. Functions without a
    same-meaning op (`K.int_shape`, `K.get_value`, `K.batch_dot`, ...) and names imported
    with `from keras.backend import f` are reported with the Keras 3 way."""
    if isinstance(node, cst.ImportFrom):
        module = canonical(dotted(node.module)) if not node.relative else None
        if module != "keras.backend" or isinstance(node.names, cst.ImportStar):
            return None
        names = [dotted(a.name) for a in node.names]
        gone = [n for n in names if n not in _BACKEND_KEPT | _BACKEND_SESSION]
        if not gone:
            return None
        return Hit(f"`keras.backend` has no `{'`, `'.join(gone)}` in Keras 3", fix="keras.ops")
    short = _backend_name(node.func, context)
    if short is None:
        return None
    message = f"`keras.backend.{short}` is not in Keras 3"
    if short in _SAME_OPS or short in _AXIS_LAST:
        fixable = (
            isinstance(node.func, cst.Attribute)
            and context.keras_name() is not None
            and all(a.keyword is None or a.keyword.value in _SAME_KEYWORDS for a in node.args)
            and not any(a.star for a in node.args)
        )
        new = _SAME_OPS.get(short) or _AXIS_LAST[short]
        return Hit(message, fixable=fixable, fix=f"`keras.{new}`")
    return Hit(message, fix=_BACKEND_HINTS.get(short, "`keras.ops`"))
