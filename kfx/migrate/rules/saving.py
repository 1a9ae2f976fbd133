"""Saving rules (K33xx): code that trains on Keras 3 but does not reload, or no longer runs.

A ``Lambda`` layer stores Python bytecode, which ``keras.saving.load_model`` refuses under
``safe_mode=True`` (the default) and which breaks across Python versions: the usual bodies
(L2 normalisation, VAE sampling) become kfx layers, others are reported. A custom layer
without ``get_config`` or registration saves but does not reload (registration is added);
Keras 3's callbacks lost ``self.validation_data``. These rules only look at modules that
import Keras or TensorFlow.

Example:
    >>> from kfx.migrate import check_source
    >>> code = "from keras import layers\\ny = layers.Lambda(lambda t: t * 2)(x)\\n"
    >>> [(f.rule, f.fixable) for f in check_source(code)]
    [('K3301', False)]
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._nodes import append_keywords, callee_last, expression, keyword, positional
from kfx.migrate._registry import Hit, register_rule
from kfx.migrate._walk import visit

#: Functions that are L2 normalisation with TensorFlow's epsilon (1e-12), as kfx's layer.
_L2_NORMALIZE = {
    "tensorflow.math.l2_normalize",
    "tensorflow.nn.l2_normalize",
    "tensorflow.linalg.l2_normalize",
    "keras.backend.l2_normalize",
}
#: Exponentials and standard-normal draws in a VAE sampling function.
_EXP = {"keras.backend.exp", "keras.ops.exp", "tensorflow.exp", "tensorflow.math.exp"}
_NORMAL = {"keras.backend.random_normal", "keras.random.normal", "tensorflow.random.normal"}
#: `Lambda` keywords that the replacement layers take too (others make a finding only).
_LAMBDA_KEPT = {"name", "output_shape"}


def _function_body(node: cst.BaseExpression, context):
    """``(parameters, statements, returned)`` of a lambda or a module-level ``def`` named by
    `node`, else None."""
    if isinstance(node, cst.Lambda):
        return [p.name.value for p in node.params.params], [], node.body
    if not isinstance(node, cst.Name):
        return None
    for statement in context.module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == node.value:
            body = list(statement.body.body)
            last = body[-1].body[0] if isinstance(body[-1], cst.SimpleStatementLine) else None
            if not isinstance(last, cst.Return) or last.value is None:
                return None
            return [p.name.value for p in statement.params.params], body[:-1], last.value
    return None


def _l2_axis(params, statements, returned, context) -> dict[str, str] | None:
    """``{"axis": "1"}`` for a body that is ``tf.math.l2_normalize(x, axis=1)``, else None."""
    if statements or len(params) != 1 or not isinstance(returned, cst.Call):
        return None
    if context.qualified(returned.func) not in _L2_NORMALIZE:
        return None
    args = positional(returned)
    if not args or not isinstance(args[0].value, cst.Name) or args[0].value.value != params[0]:
        return None
    axis = keyword(returned, "axis") or (args[1] if len(args) > 1 else None)
    epsilon = keyword(returned, "epsilon")
    if axis is None or any(a not in (args[0], axis, epsilon) for a in returned.args):
        return None  # axis=None normalises over every axis, the batch too
    code = cst.Module([]).code_for_node(axis.value)
    try:
        int(code.replace(" ", ""))
    except ValueError:
        return None
    found = {"axis": code.replace(" ", "")}
    if epsilon is not None:
        found["epsilon"] = cst.Module([]).code_for_node(epsilon.value)
    return found


def _sampling(params, statements, returned, context) -> bool:
    """Whether a ``def f(args)`` body unpacks ``z_mean, z_log_var = args`` and returns
    ``z_mean + exp(0.5 * z_log_var) * epsilon`` with a standard-normal epsilon."""
    if len(params) != 1 or not statements:
        return False
    first = statements[0].body[0] if isinstance(statements[0], cst.SimpleStatementLine) else None
    if not isinstance(first, cst.Assign) or not isinstance(first.value, cst.Name):
        return False
    target = first.targets[0].target
    if first.value.value != params[0] or not isinstance(target, (cst.Tuple, cst.List)):
        return False
    names = [e.value.value for e in target.elements if isinstance(e.value, cst.Name)]
    if len(names) != 2 or not isinstance(returned, cst.BinaryOperation):
        return False
    mean, log_var = names
    finder = _Calls(context)
    for statement in statements[1:]:
        visit(statement, finder)
    visit(returned, finder)
    if not finder.normal_standard:
        return False
    left, right = returned.left, returned.right
    return (
        isinstance(returned.operator, cst.Add)
        and isinstance(left, cst.Name)
        and left.value == mean
        and isinstance(right, cst.BinaryOperation)
        and isinstance(right.operator, cst.Multiply)
        and any(_half_exp(side, log_var, context) for side in (right.left, right.right))
    )


def _half_exp(node, log_var: str, context) -> bool:
    """``exp(0.5 * v)``, ``exp(v * 0.5)`` or ``exp(v / 2)``."""
    if not isinstance(node, cst.Call) or context.qualified(node.func) not in _EXP or not node.args:
        return False
    code = cst.Module([]).code_for_node(node.args[0].value).replace(" ", "")
    return code in {f"0.5*{log_var}", f"{log_var}*0.5", f"{log_var}/2", f"{log_var}/2.0"}


class _Calls(cst.CSTVisitor):
    """Whether a body draws standard-normal noise (no `mean` / `stddev` other than 0 / 1)."""

    def __init__(self, context) -> None:
        self.context = context
        self.normal_standard = False

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.qualified(node.func) not in _NORMAL:
            return
        for name, value in (("mean", 0.0), ("stddev", 1.0)):
            arg = keyword(node, name)
            if arg is not None:
                code = cst.Module([]).code_for_node(arg.value)
                try:
                    if float(code) != value:
                        return
                except ValueError:
                    return
        self.normal_standard = True


def _lambda_replacement(node: cst.Call, context) -> tuple[str, dict[str, str]] | None:
    """``("L2Normalize", {"axis": "1"})`` for a `Lambda` with a known body, else None."""
    args = positional(node)
    function = args[0].value if args else getattr(keyword(node, "function"), "value", None)
    if function is None or len(args) > 1:
        return None
    if any(a.keyword and a.keyword.value not in _LAMBDA_KEPT | {"function"} for a in node.args):
        return None
    body = _function_body(function, context)
    if body is None:
        return None
    axis = _l2_axis(*body, context)
    if axis is not None:
        return "L2Normalize", axis
    return ("Sampling", {}) if _sampling(*body, context) else None


def _fix_lambda(node: cst.Call, context) -> cst.Call:
    layer, arguments = _lambda_replacement(node, context)
    context.needed_imports.add("kfx")
    name = keyword(node, "name")
    keywords = {**arguments, **({"name": name.value} if name is not None else {})}
    return cst.Call(expression(f"kfx.layers.{layer}"), args=append_keywords([], keywords))


@register_rule(
    "K3301",
    "`Lambda` layers do not reload under `safe_mode=True`",
    nodes=(cst.Call,),
    fix="a registered layer with `get_config` (`kfx.layers.L2Normalize`, `kfx.layers.Sampling`, "
    "or `keras.layers.Layer` subclassed under `@keras.saving.register_keras_serializable()`)",
    fixer=_fix_lambda,
    issue="https://github.com/keras-team/keras/issues/18284",
)
def lambda_layers(node: cst.Call, context) -> Hit | None:
    """A model with a `Lambda` layer saves its function as Python bytecode; Keras 3's
    `load_model` refuses to run it under `safe_mode=True` (the default: "Requested the
    deserialization of a Lambda layer ...", keras-team/keras#18284) and the bytecode does
    not load in another Python version. Two usual bodies are rewritten to kfx layers (the
    fix adds `import kfx`): L2 normalisation (`tf.math.l2_normalize(x, axis=1)`,
    `tf.nn.l2_normalize`, `K.l2_normalize`, with an integer axis) becomes
    `kfx.layers.L2Normalize(axis=1)`, the same formula and epsilon; the VAE sampling
    function of the Keras 2 example (`z_mean, z_log_var = args` ... `return z_mean +
    K.exp(0.5 * z_log_var) * epsilon` with standard-normal `epsilon`) becomes
    `kfx.layers.Sampling()`, which samples the same way in training but returns `z_mean` at
    inference (`predict` and a reloaded encoder are deterministic; the Lambda drew a
    sample). The Lambda's `name=` is kept, `output_shape=` dropped (the layers compute
    it). Any other body is reported: it becomes a small registered layer."""
    if not context.uses_keras or callee_last(node) != "Lambda":
        return None
    name = context.qualified(node.func)
    if name is not None and not name.startswith("keras."):
        return None
    replacement = _lambda_replacement(node, context)
    if replacement is None:
        return Hit("`Lambda` layers do not reload with `safe_mode=True`")
    return Hit(
        "`Lambda` layers do not reload with `safe_mode=True`",
        fixable=True,
        fix=f"`kfx.layers.{replacement[0]}`",
    )


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
    visit(node, finder)
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


#: Keras base classes of custom layers and models.
_LAYER_BASES = {"keras.layers.Layer", "keras.Layer", "keras.Model", "keras.models.Model"}


def _keras_subclass(node: cst.ClassDef, context) -> bool:
    """Whether the class derives from ``keras.layers.Layer`` or ``keras.Model`` directly."""
    return any(context.qualified(base.value) in _LAYER_BASES for base in node.bases)


def _method(node: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    for statement in node.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _init_arguments(node: cst.ClassDef) -> list[str]:
    """The named parameters of the class's ``__init__`` after ``self`` (no ``**kwargs``)."""
    init = _method(node, "__init__")
    if init is None:
        return []
    params = [*init.params.posonly_params, *init.params.params, *init.params.kwonly_params]
    return [p.name.value for p in params[1:]]


@register_rule(
    "K3303",
    "custom layer whose `__init__` takes arguments has no `get_config`",
    nodes=(cst.ClassDef,),
    fix="`get_config` returning `{**super().get_config(), ...}` with every `__init__` argument "
    "(nested layers through `keras.saving.serialize_keras_object`)",
    issue="https://github.com/keras-team/keras/issues/19745",
)
def missing_get_config(node: cst.ClassDef, context) -> Hit | None:
    """A `.keras` file rebuilds each layer as `cls(**layer.get_config())`. Keras 3 fills in
    `get_config` for a subclass that lacks one only when every `__init__` argument is a
    plain `int`, `float`, `str`, `bool` or None (nested in lists or dicts); with any other
    argument (a layer, an initializer, a NumPy array) `model.save` raises
    `NotImplementedError: Layer X does not have a get_config() method implemented`, and a
    Keras 2 layer that relied on `custom_objects` reloads with default arguments (see
    fchollet's answer in keras-team/keras#19745). Reported on subclasses of
    `keras.layers.Layer` and `keras.Model` whose `__init__` takes arguments besides
    `**kwargs`."""
    if not context.uses_keras or not _keras_subclass(node, context):
        return None
    arguments = _init_arguments(node)
    if not arguments or _method(node, "get_config") is not None:
        return None
    return Hit(
        f"`{node.name.value}.__init__` takes `{'`, `'.join(arguments)}` but the class has no "
        "`get_config`"
    )


def _registered(node: cst.ClassDef) -> bool:
    for decorator in node.decorators:
        target = decorator.decorator
        target = target.func if isinstance(target, cst.Call) else target
        name = target.attr.value if isinstance(target, cst.Attribute) else None
        if name == "register_keras_serializable" or (
            isinstance(target, cst.Name) and target.value == "register_keras_serializable"
        ):
            return True
    return False


class _CustomObjects(cst.CSTVisitor):
    """The names passed in ``custom_objects=`` or to ``custom_object_scope(...)``."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        last = callee_last(node) or ""
        values = [a.value for a in node.args if a.keyword and a.keyword.value == "custom_objects"]
        if last in ("custom_object_scope", "CustomObjectScope"):
            values += [a.value for a in node.args]
        for value in values:
            visit(value, _NameCollector(self.names))


class _NameCollector(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _fix_register(node: cst.ClassDef, context) -> cst.ClassDef:
    keras = context.require_keras()
    decorator = cst.Decorator(expression(f"{keras}.saving.register_keras_serializable()"))
    return node.with_changes(decorators=[*node.decorators, decorator])


@register_rule(
    "K3304",
    "custom layer or model is not registered: `.keras` files cannot find it",
    nodes=(cst.ClassDef,),
    fix="`@keras.saving.register_keras_serializable()` on the class",
    fixer=_fix_register,
    issue="https://github.com/keras-team/keras/issues/19899",
)
def unregistered(node: cst.ClassDef, context) -> Hit | None:
    """`keras.saving.load_model` finds a custom class by its registered name; an unregistered
    subclass of `keras.layers.Layer` or `keras.Model` fails to load in a fresh process with
    "Could not locate class 'X'. Make sure custom classes are decorated with
    `@keras.saving.register_keras_serializable()`" (keras-team/keras#19899, #21046), where
    Keras 2's `.h5` files were often loaded with `custom_objects`. The fix adds
    `@keras.saving.register_keras_serializable()` (package `"Custom"`), which changes
    nothing else: the class stays as it is and registering twice (a re-run notebook cell)
    is allowed. Classes named in a `custom_objects=` argument or a `custom_object_scope`
    in the same module are left alone."""
    if not context.uses_keras or not _keras_subclass(node, context) or _registered(node):
        return None
    finder = _CustomObjects()
    visit(context.module, finder)
    if node.name.value in finder.names:
        return None
    return Hit(
        f"`{node.name.value}` is not registered for saving",
        fixable=context.keras_name() is not None,
    )
