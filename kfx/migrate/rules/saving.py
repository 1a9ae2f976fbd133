"""Saving rules (K33xx): code that trains on Keras 3 but does not reload, or no longer runs.

A ``Lambda`` layer stores Python bytecode, which ``keras.saving.load_model`` refuses under
``safe_mode=True`` (the default) and which breaks across Python versions; Keras 3's
callbacks lost ``self.validation_data``. Both need a change of design, not of spelling, so
they are reported with the kfx or Keras 3 way. These rules only look at modules that import
Keras or TensorFlow.

Example:
    >>> from kfx.migrate import check_source
    >>> code = "from keras import layers\\ny = layers.Lambda(lambda t: t * 2)(x)\\n"
    >>> [(f.rule, f.fixable) for f in check_source(code)]
    [('K3301', False)]
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._nodes import callee_last
from kfx.migrate._registry import Hit, register_rule


@register_rule(
    "K3301",
    "`Lambda` layers do not reload under `safe_mode=True`",
    nodes=(cst.Call,),
    fix="a registered layer with `get_config` (`kfx.layers.L2Normalize`, `kfx.layers.Sampling`, "
    "or `keras.layers.Layer` subclassed under `@keras.saving.register_keras_serializable()`)",
)
def lambda_layers(node: cst.Call, context) -> Hit | None:
    """A model with a `Lambda` layer saves its function as Python bytecode; Keras 3's
    `load_model` refuses to run it under `safe_mode=True` (the default) and the bytecode does
    not load in another Python version. The usual bodies have kfx layers (L2 normalisation:
    `kfx.layers.L2Normalize`; VAE sampling: `kfx.layers.Sampling`); any other body becomes a
    small registered layer."""
    if not context.uses_keras or callee_last(node) != "Lambda":
        return None
    name = context.qualified(node.func)
    if name is not None and not name.startswith("keras."):
        return None
    return Hit("`Lambda` layers do not reload with `safe_mode=True`")


def _is_callback(node: cst.ClassDef) -> bool:
    """Whether a class derives from a Keras ``Callback`` (by its bases' last names)."""
    for base in node.bases:
        value = base.value
        last = value.attr.value if isinstance(value, cst.Attribute) else getattr(value, "value", "")
        if isinstance(last, str) and last.endswith("Callback"):
            return True
    return False


@register_rule(
    "K3302",
    "`Callback.validation_data` is gone: pass the data to the callback",
    nodes=(cst.ClassDef,),
    fix="take the data in `__init__` (`MyCallback(x_val, y_val)`), as "
    "`kfx.callbacks.ActivationLogger(data, ...)` does",
)
def validation_data(node: cst.ClassDef, context) -> Hit | None:
    """Keras 2 set `self.validation_data` on callbacks during `fit`; Keras 3 never does, so
    a callback that reads it fails with `AttributeError` (and `Callback.model` is read-only).
    The callback should take its data as a constructor argument. Reported on the class."""
    if not context.uses_keras or not _is_callback(node):
        return None
    finder = _SelfAttribute("validation_data")
    node.visit(finder)
    if not finder.found or finder.assigned:
        return None
    return Hit(f"callback `{node.name.value}` reads `self.validation_data`")


class _SelfAttribute(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.found = False
        self.assigned = False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        target = node.target
        if isinstance(target, cst.Attribute) and target.attr.value == self.name:
            self.assigned = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if (
            node.attr.value == self.name
            and isinstance(node.value, cst.Name)
            and node.value.value == "self"
        ):
            self.found = True
