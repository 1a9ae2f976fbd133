"""Symbolic-tensor rules (K35xx): code that treats a functional model's Keras tensors as data.

Keras 2 (``tf.keras``) wrapped a TensorFlow op called on a symbolic tensor in a
``TFOpLambda`` layer; Keras 3's ``KerasTensor`` refuses it ("A KerasTensor cannot be used as
input to a TensorFlow function"), the most reported break of the move. Its batch size is
None while a model is built, so a Python loop over it fails, and symbolic ``add_loss`` /
``add_metric`` on a model are gone. Which values are Keras tensors comes from a small
dataflow over the module (:mod:`kfx.migrate._dataflow`): names bound to ``keras.Input``,
layer calls and ops on them, so plain TensorFlow code is not reported.

Example:
    >>> from kfx.migrate import fix_source
    >>> code = "import tensorflow as tf\\nx = tf.keras.Input((4,))\\ny = tf.reduce_mean(x, axis=1)\\n"
    >>> print(fix_source(code)[0])
    import tensorflow as tf
    import keras
    <BLANKLINE>
    x = tf.keras.Input((4,))
    y = keras.ops.mean(x, axis=1)
    <BLANKLINE>
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._nodes import append_keywords, expression, method_name, no_space_equal
from kfx.migrate._registry import Hit, register_rule
from kfx.migrate.rules._tf_ops import HINTS, OPS, WRAP, Op


def _tf_op(node: cst.Call, context) -> str | None:
    """``concat`` for ``tf.concat(...)`` called on a Keras tensor in model code, else None."""
    if not context.uses_keras:
        return None
    name = context.qualified(node.func)
    if name is None or not name.startswith("tensorflow."):
        return None
    flow = context.dataflow
    if not flow.in_model_code(node):
        return None
    if not any(flow.is_tensor(arg.value, node) for arg in node.args):
        return None
    return name[len("tensorflow.") :]


def _keras_arguments(node: cst.Call, op: Op) -> list[cst.Arg] | None:
    """`node`'s arguments for ``keras.ops.<op.target>``, or None when one has no equivalent."""
    tf_names = op.tf_names()
    args, given = [], set()
    for index, arg in enumerate(node.args):
        if arg.star:
            return None
        if arg.keyword is None and index >= len(tf_names):
            if not op.variadic:
                return None
            args.append(arg)
            continue
        tf_name = tf_names[index] if arg.keyword is None else arg.keyword.value
        keras = op.keras_name(tf_name)
        if not keras:
            return None
        given.add(keras)
        if arg.keyword is None and op.keras_position(keras) == index:
            args.append(arg)
        else:
            equal = arg.equal if arg.keyword is not None else no_space_equal()
            args.append(arg.with_changes(keyword=cst.Name(keras), equal=equal))
    if len(node.args) < op.min_args:
        return None
    return append_keywords(args, {k: v for k, v in op.defaults.items() if k not in given})


def _fix_tf_op(node: cst.Call, context) -> cst.Call:
    op = OPS[context.qualified(node.func)[len("tensorflow.") :]]
    keras = context.require_keras()
    return node.with_changes(
        func=expression(f"{keras}.ops.{op.target}"), args=_keras_arguments(node, op)
    )


@register_rule(
    "K3501",
    "TensorFlow ops on Keras tensors: `keras.ops`",
    nodes=(cst.Call,),
    fix="the `keras.ops` function named in the message, or a layer whose `call` runs the op",
    fixer=_fix_tf_op,
    issue="https://github.com/keras-team/keras/issues/18467",
)
def tf_ops(node: cst.Call, context) -> Hit | None:
    """In Keras 2, `tf.concat(...)` or `tf.reduce_mean(...)` on the output of a layer was
    silently wrapped in a `TFOpLambda` layer; Keras 3 raises "A KerasTensor cannot be used as
    input to a TensorFlow function" (keras-team/keras#18467 lists it first; third-party
    reports: DataCanvasIO/DeepTables#93, taipingeric/yolo-v4-tf.keras#27). A call whose
    `keras.ops` equivalent means the same is rewritten with Keras' argument names
    (`tf.transpose(x, perm=p)` -> `keras.ops.transpose(x, axes=p)`, `tf.concat(values,
    axis)` -> `keras.ops.concatenate`, `tf.reduce_sum(input_tensor=x)` -> `keras.ops.sum(x=x)`,
    `tf.nn.leaky_relu(alpha=)` -> `negative_slope=`) and where TensorFlow's default differs
    it is written out: `tf.nn.gelu` gets `approximate=False`, `tf.argmax`, `tf.math.cumsum`
    and `tf.gather` (-> `keras.ops.take`) get `axis=0`. A call with an argument Keras has no
    equivalent for (`name=`, `transpose_a=`, `tf.where(c)` alone) is reported, as is any other
    TensorFlow function (`tf.shape`, `tf.split`, `tf.image.resize`, ...) with the Keras 3 way.
    Only calls on a value that is plausibly a Keras tensor count: a name bound to
    `keras.Input(...)`, to a layer call, to `model.output`, or to ops and arithmetic on such
    values, outside layer methods and `lambda` bodies (there TensorFlow ops run on real
    tensors)."""
    short = _tf_op(node, context)
    if short is None:
        return None
    message = f"`tf.{short}` on a Keras tensor fails in Keras 3"
    op = OPS.get(short)
    if op is None:
        return Hit(message, fix=HINTS.get(short, WRAP))
    fixable = _keras_arguments(node, op) is not None and context.keras_name() is not None
    fix = f"`keras.ops.{op.target}`"
    if not fixable:
        fix += " (an argument here has no `keras.ops` equivalent: check it, or use a layer)"
    return Hit(message, fixable=fixable, fix=fix)


@register_rule(
    "K3502",
    "`add_metric` is gone and `model.add_loss(tensor)` is not symbolic in Keras 3",
    nodes=(cst.Call,),
    fix="a layer that calls `self.add_loss(...)` in its `call` (metrics: `compile(metrics=...)` "
    "or a `keras.metrics.Metric` updated in `call`)",
    issue="https://github.com/keras-team/keras/issues/20127",
)
def symbolic_losses(node: cst.Call, context) -> Hit | None:
    """Keras 2 let functional code attach losses and metrics built from symbolic tensors:
    `vae.add_loss(kl_loss)`, `model.add_metric(tensor, name=...)`. Keras 3 removed
    `add_metric` from layers and models (`NotImplementedError`; keras-team/keras#19804,
    #20127) and its `add_loss` takes a value computed inside a layer's `call`, not a
    symbolic tensor added to a built model (Keras' migration guide lists "symbolic
    `add_loss()`" as removed). The loss moves into a layer's `call` (`self.add_loss(...)`,
    as the Keras 3 VAE example does in its sampling layer) or into `compute_loss` /
    `train_step`. Reported: `add_metric` anywhere, `add_loss` on anything but `self`."""
    name = method_name(node)
    if not context.uses_keras or name not in ("add_loss", "add_metric"):
        return None
    receiver = node.func.value
    if context.qualified(receiver) is not None and not context.qualified(receiver).startswith(
        "keras"
    ):
        return None  # a module's function, not a layer's method
    if name == "add_metric":
        return Hit(
            "`add_metric` is not in Keras 3",
            fix="`compile(metrics=[...])`, or a "
            "`keras.metrics.Metric` that a layer updates in `call`",
        )
    if isinstance(receiver, cst.Name) and receiver.value == "self":
        return None  # a layer's own loss, added in its call: fine in Keras 3
    return Hit("`add_loss` on a model is not symbolic in Keras 3")


@register_rule(
    "K3503",
    "Python loops over `x.shape[0]` of a Keras tensor: the batch size is None",
    nodes=(cst.For, cst.CompFor),
    fix="vectorise over the batch with `keras.ops`; for a loop over time, "
    "`kfx.layers.LoopRNN` or `keras.layers.RNN` with a cell",
    issue="https://github.com/keras-team/keras/issues/9518",
)
def batch_loops(node, context) -> Hit | None:
    """`for i in range(x.shape[0])` (or `K.int_shape(x)[0]`, `tf.shape(x)[0]`) over a Keras
    tensor's batch dimension: while a functional model is built, and in a layer's `call`
    traced for `fit`, the batch size is None (`range(None)` raises `TypeError`) or a
    symbolic value, and a loop unrolled over one batch size breaks on the last, smaller
    batch (keras-team/keras#9518, #5211). Keras 3 compiles `call` without autograph, so even
    `tf.shape(x)[0]` does not become a graph loop. The computation should be vectorised over
    the batch with `keras.ops`, or written as a recurrent layer. Reported in model code and in
    a layer's `call` (its first input), also through a name (`n = x.shape[0]`), not for
    NumPy arrays."""
    if not context.uses_keras:
        return None
    call = node.iter
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name):
        return None
    if call.func.value != "range":
        return None
    if not any(context.dataflow.is_batch_size(arg.value, node) for arg in call.args):
        return None
    return Hit("a Python loop over the batch size of a Keras tensor")
