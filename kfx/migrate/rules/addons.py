"""TensorFlow Addons rules (K34xx): ``tfa`` has no Keras 3 release.

TensorFlow Addons ended without Keras 3 support, so ``import tensorflow_addons`` fails or
pulls Keras 2 into a Keras 3 project. Its layers, optimizers, activations, losses and
callbacks have Keras 3 or kfx equivalents (the table is :data:`kfx.migrate._addons.ADDONS`);
a call is rewritten where passing tfa's defaults keeps the numbers, and reported with the
arguments to pass where the semantics differ.

Example:
    >>> from kfx.migrate import fix_source
    >>> code = "import tensorflow_addons as tfa\\nnorm = tfa.layers.InstanceNormalization()\\n"
    >>> print(fix_source(code)[0])
    import keras
    <BLANKLINE>
    norm = keras.layers.GroupNormalization(groups=-1)
    <BLANKLINE>
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._addons import ADDONS, Equivalent
from kfx.migrate._context import dotted
from kfx.migrate._nodes import append_keywords, expression, keyword, positional
from kfx.migrate._registry import Hit, register_rule
from kfx.migrate._walk import preorder

_PREFIX = "tensorflow_addons."
#: tfa AdamW keywords that mean the same in Keras 3's AdamW.
_ADAMW_SAME = {"beta_1", "beta_2", "epsilon", "amsgrad", "name"}
#: tfa AdamW's default learning rate.
_ADAMW_LEARNING_RATE = "0.001"


def _addons_name(node: cst.BaseExpression, context) -> str | None:
    name = context.qualified(node)
    if name is None or not name.startswith(_PREFIX):
        return None
    short = name[len(_PREFIX) :]
    return short if short in ADDONS else None


def _missing_defaults(node: cst.Call, equivalent: Equivalent) -> dict[str, str] | None:
    """The defaults to add to call `node`, or None when its arguments do not fit."""
    count = len(positional(node))
    if count > len(equivalent.params) or any(a.star for a in node.args):
        return None
    given = {a.keyword.value for a in node.args if a.keyword} | set(equivalent.params[:count])
    return {k: v for k, v in equivalent.defaults.items() if k not in given}


def _number(arg: cst.Arg | None) -> str | None:
    if arg is not None and isinstance(arg.value, (cst.Float, cst.Integer)):
        return arg.value.value
    return None


def _adamw_arguments(node: cst.Call) -> dict[str, str | cst.BaseExpression] | None:
    """Keras 3 AdamW keywords for a tfa AdamW call with literal decay and learning rate."""
    args = positional(node)
    if len(args) > 2 or any(a.star for a in node.args):
        return None
    decay = _number(args[0] if args else keyword(node, "weight_decay"))
    rate_arg = args[1] if len(args) > 1 else keyword(node, "learning_rate")
    rate = _number(rate_arg) if rate_arg is not None else _ADAMW_LEARNING_RATE
    named = [a for a in node.args if a.keyword]
    rest = [a for a in named if a.keyword.value not in ("weight_decay", "learning_rate")]
    if decay is None or rate is None or any(a.keyword.value not in _ADAMW_SAME for a in rest):
        return None
    return {
        "learning_rate": rate,
        "weight_decay": f"{decay} / {rate}",
        **{a.keyword.value: a.value for a in rest},
    }


def _fix_addons(node, context):
    if isinstance(node, cst.Attribute):
        return _target(ADDONS[_addons_name(node, context)], context)
    short = _addons_name(node.func, context)
    equivalent = ADDONS[short]
    if short == "optimizers.AdamW":
        args = append_keywords([], _adamw_arguments(node))
    else:
        args = append_keywords(node.args, _missing_defaults(node, equivalent))
    return node.with_changes(func=_target(equivalent, context), args=args)


def _target(equivalent: Equivalent, context) -> cst.BaseExpression:
    if equivalent.target.startswith("kfx."):
        context.needed_imports.add("kfx")
        return expression(equivalent.target)
    return expression(context.require_keras() + equivalent.target[len("keras") :])


def _call_fixable(node: cst.Call, short: str, context) -> bool:
    if context.keras_name() is None or not isinstance(node.func, cst.Attribute):
        return False
    if short == "optimizers.AdamW":
        return _adamw_arguments(node) is not None
    equivalent = ADDONS[short]
    return equivalent.fixable and _missing_defaults(node, equivalent) is not None


@register_rule(
    "K3401",
    "TensorFlow Addons classes and functions: Keras 3 or kfx equivalents",
    nodes=(cst.Call, cst.Attribute, cst.ImportFrom),
    fix="the Keras 3 or kfx equivalent named in the message",
    fixer=_fix_addons,
)
def addons(node, context) -> Hit | None:
    """TensorFlow Addons has no Keras 3 release (tensorflow/addons#2807; its
    `WeightNormalization` does not work on Keras 3, tensorflow/addons#2869). Each name has a
    Keras 3 or kfx equivalent, rewritten where passing tfa's defaults keeps the numbers (the
    fix adds `import keras` / `import kfx`): `tfa.layers.GroupNormalization` ->
    `keras.layers.GroupNormalization` (same arguments); `InstanceNormalization` ->
    `keras.layers.GroupNormalization(groups=-1)`; `WeightNormalization` ->
    `kfx.layers.WeightNormalization(..., data_init=True)` (tfa's default, kfx's is False);
    `Maxout` -> `kfx.layers.Maxout` (tfa's channel grouping); `tfa.activations.gelu(x)` ->
    `keras.activations.gelu(x, approximate=True)` (tfa's default is the tanh
    approximation); `mish` -> `keras.activations.mish`; `tfa.callbacks.TimeStopping()` ->
    `kfx.callbacks.TimeStopping(seconds=86400)` (tfa's default). `tfa.optimizers.AdamW(wd,
    lr)` takes the decay first and decays by `wd * w` per step, Keras 3 by `wd * lr * w`:
    with literal numbers it becomes `keras.optimizers.AdamW(learning_rate=lr,
    weight_decay=wd / lr)`, otherwise it is reported. Reported with what to pass:
    `StochasticDepth` (tfa takes `[shortcut, branch]` and `survival_probability=p`, kfx
    `shortcut + StochasticDepth(rate=1 - p)(branch)`), `SigmoidFocalCrossEntropy`
    (`keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True)`, which averages over
    the classes where tfa sums, and tfa's default reduction is `none`), a `gelu` passed by
    reference, and `from tensorflow_addons... import` statements. The `import
    tensorflow_addons` line goes when its last use has gone (K3402)."""
    if isinstance(node, cst.ImportFrom):
        module = dotted(node.module) if not node.relative else None
        if module is None or not module.startswith("tensorflow_addons"):
            return None
        names = [] if isinstance(node.names, cst.ImportStar) else node.names
        found = [f"{module[len(_PREFIX) :]}.{dotted(a.name)}" for a in names]
        hints = [f"`{ADDONS[n].target}`" for n in found if n in ADDONS]
        fix = ", ".join(hints) if hints else ""
        return Hit(f"`{module}` (TensorFlow Addons) has no Keras 3 release", fix=fix)
    if isinstance(node, cst.Call):
        short = _addons_name(node.func, context)
        if short is None:
            return None
        fixable = _call_fixable(node, short, context)
        return Hit(_message(short), fixable=fixable, fix=_hint(short))
    short = _addons_name(node, context)
    if short is None or context.is_callee(node):
        return None
    equivalent = ADDONS[short]
    fixable = equivalent.reference and context.keras_name() is not None
    return Hit(_message(short), fixable=fixable, fix=_hint(short))


def _message(short: str) -> str:
    return f"`tfa.{short}` (TensorFlow Addons) has no Keras 3 release"


def _hint(short: str) -> str:
    equivalent = ADDONS[short]
    return f"`{equivalent.target}`: {equivalent.note}"


def _addons_import(node: cst.SimpleStatementLine) -> str | None:
    """The name that ``import tensorflow_addons [as tfa]`` binds, for a line that is only
    that import; else None."""
    if len(node.body) != 1 or not isinstance(node.body[0], cst.Import):
        return None
    names = node.body[0].names
    if len(names) != 1 or dotted(names[0].name) != "tensorflow_addons":
        return None
    alias = names[0].asname
    return dotted(alias.name) if alias is not None else "tensorflow_addons"


def _reads(module: cst.Module, name: str) -> bool:
    """Whether `module` names `name` anywhere but in an import statement."""
    return any(
        isinstance(node, cst.Name) and node.value == name
        for node in preorder(module, prune=(cst.Import, cst.ImportFrom))
    )


def _has_comment(node: cst.SimpleStatementLine) -> bool:
    return node.trailing_whitespace.comment is not None or any(
        line.comment is not None for line in node.leading_lines
    )


def _remove(node: cst.SimpleStatementLine, context) -> cst.RemovalSentinel:
    return cst.RemovalSentinel.REMOVE


@register_rule(
    "K3402",
    "`import tensorflow_addons` that nothing uses any more",
    nodes=(cst.SimpleStatementLine,),
    fix="delete the line",
    fixer=_remove,
)
def unused_addons_import(node: cst.SimpleStatementLine, context) -> Hit | None:
    """Once K3401 has replaced the last `tfa.` name, the `import tensorflow_addons as tfa`
    line is all that is left of TensorFlow Addons, and it still fails where the package
    is not installed (it has no Keras 3 release) or pulls Keras 2 into the environment
    where it is. A top-level import line whose name the module no longer reads is deleted;
    one with a comment on it or above it is reported instead, so that no comment is lost.
    An import that is still used stays: K3401 reports each use."""
    bound = _addons_import(node)
    if bound is None or not any(statement is node for statement in context.module.body):
        return None
    if _reads(context.module, bound):
        return None
    return Hit(
        f"`{bound}` (TensorFlow Addons) is imported but not used any more",
        fixable=not _has_comment(node),
    )
