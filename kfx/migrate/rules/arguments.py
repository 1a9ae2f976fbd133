"""Argument rules (K31xx): arguments that Keras 3 renamed or removed.

Keras 3 rejects the Keras 2 spellings with ``TypeError: Unrecognized keyword arguments`` (or
warns and ignores them, which is worse: the numbers change). A pure rename (``lr=`` ->
``learning_rate=``, ``Model(input=)`` -> ``inputs=``, ``nb_epoch=`` -> ``epochs=``) is
rewritten; an argument whose meaning has no one-to-one replacement (an optimizer's
``decay=``, ``ModelCheckpoint(period=2)``) is reported with the Keras 3 way. These rules
only look at modules that import Keras or TensorFlow.

Example:
    >>> from kfx.migrate import fix_source
    >>> code = "import keras\\nmodel = keras.Model(input=x, output=y)\\nmodel.fit(x, y, nb_epoch=3)\\n"
    >>> print(fix_source(code)[0])
    import keras
    model = keras.Model(inputs=x, outputs=y)
    model.fit(x, y, epochs=3)
    <BLANKLINE>
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._nodes import (
    callee_last,
    drop_keywords,
    keyword,
    method_name,
    positional,
    rename_keywords,
    replace_suffix,
    string_value,
)
from kfx.migrate._registry import Hit, register_rule

_OPTIMIZERS = {
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adam",
    "Adamax",
    "Nadam",
    "AdamW",
    "Ftrl",
    "Lion",
}


def _is_keras_class(call: cst.Call, context, module: str, names: set[str]) -> bool:
    """Whether `call` constructs ``<module>.<one of names>`` (also as a bare imported name).

    A bare name that is not imported counts in a module that imports Keras (``from
    keras.optimizers import *`` or a class imported in another cell of a notebook).
    """
    if not context.uses_keras:
        return False
    qualified = context.qualified(call.func)
    last = callee_last(call)
    if last not in names:
        return False
    if qualified is not None:
        return qualified.startswith("keras.") and (
            qualified.rsplit(".", 1)[0] in (module, f"{module}.legacy")
            or qualified == f"keras.{last}"
        )
    return isinstance(call.func, cst.Name)


def _is_optimizer(call: cst.Call, context) -> bool:
    return _is_keras_class(call, context, "keras.optimizers", _OPTIMIZERS)


def _fix_lr(node: cst.Call, context) -> cst.Call:
    return rename_keywords(node, {"lr": "learning_rate"})


@register_rule(
    "K3101",
    "optimizer argument `lr=` is `learning_rate=`",
    nodes=(cst.Call,),
    fix="`learning_rate=`",
    fixer=_fix_lr,
)
def optimizer_lr(node: cst.Call, context) -> Hit | None:
    """Keras 2 optimizers accepted `lr` as an alias of `learning_rate`; Keras 3 rejects it
    (`Argument(s) not recognized: {'lr': ...}`). The keyword is renamed, unless the call also
    passes `learning_rate=` (then it is reported)."""
    if not _is_optimizer(node, context) or keyword(node, "lr") is None:
        return None
    both = keyword(node, "learning_rate") is not None
    return Hit("optimizers take `learning_rate=`, not `lr=`", fixable=not both)


@register_rule(
    "K3102",
    "optimizer argument `decay=` is gone: use a learning-rate schedule",
    nodes=(cst.Call,),
    fix="`learning_rate=keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, "
    "decay_rate=decay)` gives Keras 2's `lr / (1 + decay * iterations)`",
)
def optimizer_decay(node: cst.Call, context) -> Hit | None:
    """Keras 2 optimizers decayed the learning rate by `lr / (1 + decay * iterations)` when
    given `decay=`; Keras 3 optimizers have no such argument (its `weight_decay=` is a
    different thing: decoupled weight decay). `InverseTimeDecay(lr, decay_steps=1,
    decay_rate=decay)` computes the same schedule. Reported, not rewritten: the schedule
    needs the learning rate's value, and `weight_decay` must not be confused with it."""
    if not _is_optimizer(node, context) or keyword(node, "decay") is None:
        return None
    return Hit("optimizers have no `decay=` in Keras 3")


def _is_model(call: cst.Call, context) -> bool:
    return _is_keras_class(call, context, "keras.models", {"Model"})


def _fix_model_io(node: cst.Call, context) -> cst.Call:
    return rename_keywords(node, {"input": "inputs", "output": "outputs"})


@register_rule(
    "K3103",
    "`Model(input=, output=)` is `Model(inputs=, outputs=)`",
    nodes=(cst.Call,),
    fix="`inputs=` and `outputs=`",
    fixer=_fix_model_io,
)
def model_input_output(node: cst.Call, context) -> Hit | None:
    """Keras 2's functional `Model` accepted the old singular keywords `input=` and
    `output=`; Keras 3 accepts only `inputs=` and `outputs=`. The keywords are renamed."""
    if not _is_model(node, context):
        return None
    old = [name for name in ("input", "output") if keyword(node, name) is not None]
    if not old:
        return None
    clash = any(keyword(node, f"{name}s") is not None for name in old)
    return Hit(f"`Model({'=, '.join(old)}=)` is Keras 1/2 only", fixable=not clash)


_FIT_METHODS = {"fit", "fit_generator"}


def _fix_nb_epoch(node: cst.Call, context) -> cst.Call:
    return rename_keywords(node, {"nb_epoch": "epochs"})


@register_rule(
    "K3104",
    "`fit(nb_epoch=)` is `fit(epochs=)`",
    nodes=(cst.Call,),
    fix="`epochs=`",
    fixer=_fix_nb_epoch,
)
def nb_epoch(node: cst.Call, context) -> Hit | None:
    """`nb_epoch` is the Keras 1 name of `fit`'s `epochs`; Keras 2 still took it with a
    warning, Keras 3 rejects it. Renamed in calls of `fit` and `fit_generator`."""
    if not context.uses_keras or method_name(node) not in _FIT_METHODS:
        return None
    if keyword(node, "nb_epoch") is None:
        return None
    return Hit("`nb_epoch=` is `epochs=`", fixable=keyword(node, "epochs") is None)


def _is_checkpoint(call: cst.Call, context) -> bool:
    return _is_keras_class(call, context, "keras.callbacks", {"ModelCheckpoint"})


def _fix_period(node: cst.Call, context) -> cst.Call:
    period = keyword(node, "period")
    new = period.with_changes(keyword=cst.Name("save_freq"), value=cst.SimpleString('"epoch"'))
    return node.with_changes(args=[new if a is period else a for a in node.args])


@register_rule(
    "K3105",
    "`ModelCheckpoint(period=)` is gone: `save_freq=`",
    nodes=(cst.Call,),
    fix='`save_freq="epoch"` saves every epoch; every N epochs: `save_freq=N * steps_per_epoch`',
    fixer=_fix_period,
)
def checkpoint_period(node: cst.Call, context) -> Hit | None:
    """Keras 2's `ModelCheckpoint(period=N)` saved every N epochs; Keras 3 removed `period`
    and counts `save_freq` in batches when it is an integer. `period=1` is rewritten to
    `save_freq="epoch"` (the same behaviour); any other period is reported: the Keras 3 way
    is `save_freq=N * steps_per_epoch` with the number of batches per epoch."""
    if not _is_checkpoint(node, context):
        return None
    period = keyword(node, "period")
    if period is None:
        return None
    one = isinstance(period.value, cst.Integer) and period.value.evaluated_value == 1
    fixable = one and keyword(node, "save_freq") is None
    return Hit("`ModelCheckpoint(period=)` is not in Keras 3", fixable=fixable)


_H5 = (".h5", ".hdf5")
_WEIGHTS = ".weights.h5"


def _weights_path(node: cst.Call, context) -> cst.Arg | None:
    """The path argument of a weights-only save: ``save_weights(p)`` or a weights-only
    ``ModelCheckpoint(p, save_weights_only=True)``."""
    if not context.uses_keras:
        return None
    if method_name(node) == "save_weights":
        args = positional(node)
        return args[0] if args else keyword(node, "filepath")
    if _is_checkpoint(node, context):
        only = keyword(node, "save_weights_only")
        if only is not None and isinstance(only.value, cst.Name) and only.value.value == "True":
            args = positional(node)
            return args[0] if args else keyword(node, "filepath")
    return None


def _fix_weights_path(node: cst.Call, context) -> cst.Call:
    arg = _weights_path(node, context)
    value = string_value(arg.value)
    suffix = next(s for s in _H5 if value.endswith(s))
    new = arg.with_changes(value=replace_suffix(arg.value, suffix, _WEIGHTS))
    return node.with_changes(args=[new if a is arg else a for a in node.args])


@register_rule(
    "K3106",
    "weights-only files must end in `.weights.h5`",
    nodes=(cst.Call,),
    fix="a path ending in `.weights.h5` (or save the whole model to `.keras`)",
    fixer=_fix_weights_path,
)
def weights_suffix(node: cst.Call, context) -> Hit | None:
    """Keras 3's `save_weights` and `ModelCheckpoint(save_weights_only=True)` write only to
    paths ending in `.weights.h5` (`ValueError: The filename must end in .weights.h5`). A
    string literal ending in `.h5` / `.hdf5` gets `.weights.h5`; other paths (variables,
    f-strings, TensorFlow checkpoint prefixes) are reported. Reading the file back with
    `load_weights` needs the new name too: the finding says so."""
    arg = _weights_path(node, context)
    if arg is None:
        return None
    value = string_value(arg.value)
    if value is not None and value.endswith(_WEIGHTS):
        return None
    if value is not None and value.endswith(_H5):
        return Hit(
            f"weights-only path {value!r} must end in `.weights.h5`",
            fixable=True,
            fix="renamed; load it back with `load_weights` under the new name",
        )
    if value is not None or isinstance(arg.value, (cst.FormattedString, cst.BinaryOperation)):
        return Hit("weights-only paths must end in `.weights.h5` in Keras 3")
    return None


_TENSORBOARD_DROPPED = {"write_grads", "batch_size", "embeddings_layer_names", "embeddings_data"}


def _fix_tensorboard(node: cst.Call, context) -> cst.Call:
    return drop_keywords(node, _TENSORBOARD_DROPPED)


@register_rule(
    "K3107",
    "`TensorBoard(write_grads=, batch_size=, embeddings_data=, ...)` are gone",
    nodes=(cst.Call,),
    fix="dropped; for gradients `kfx.callbacks.GradientLogger(data, log_dir=...)`, for "
    "activations `kfx.callbacks.ActivationLogger(data, log_dir=...)`",
    fixer=_fix_tensorboard,
)
def tensorboard_arguments(node: cst.Call, context) -> Hit | None:
    """Keras 3's `TensorBoard` callback has no `write_grads`, `batch_size`,
    `embeddings_layer_names` or `embeddings_data` (`TypeError` on construction). TensorFlow
    2's Keras already ignored all four with a warning, so dropping them keeps what the script
    did; what they were meant to log is in kfx: `kfx.callbacks.GradientLogger` writes
    gradient histograms and `kfx.callbacks.ActivationLogger` records layer activations."""
    if not _is_keras_class(node, context, "keras.callbacks", {"TensorBoard"}):
        return None
    gone = sorted(
        a.keyword.value for a in node.args if a.keyword and a.keyword.value in _TENSORBOARD_DROPPED
    )
    if not gone:
        return None
    return Hit(f"`TensorBoard({'=, '.join(gone)}=)` is not in Keras 3", fixable=True)
