"""Which expressions of a module are Keras tensors: a small dataflow for the symbolic rules.

Keras 3 builds functional models from symbolic ``KerasTensor`` values: TensorFlow ops on
them and Python loops over their batch size fail. To report those without flagging plain
TensorFlow or NumPy code, a pre-pass finds the names that hold Keras tensors in each
function (and at module level): names bound to ``keras.Input(...)``, to a layer call
(``layers.Dense(4)(x)``, or ``dense(x)`` after ``dense = layers.Dense(4)``), to
``model.output``, or to an op, arithmetic, subscript or list of such values. Inside a
layer's ``call`` the first input counts too (it is symbolic while a model is built). A
scope's parameters and local names hide the enclosing scope's (a ``lambda t: ...`` body is
not model code). Flow-insensitive per scope: a name is a tensor if any assignment in the
scope makes it one, which fits model-building code and stays silent elsewhere.

Example:
    >>> import libcst as cst
    >>> from kfx.migrate._context import ModuleContext
    >>> code = "import keras\\nx = keras.Input((3,))\\ny = keras.layers.Dense(2)(x) * 2\\nz = 1\\n"
    >>> module = cst.parse_module(code)
    >>> sorted(ModuleContext(module).dataflow.root.tensors)
    ['x', 'y']
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from kfx.migrate._walk import visit

#: Functions whose result's item 0 is the batch size: ``K.int_shape(x)[0]``, ``tf.shape(x)[0]``.
_SHAPE_FUNCTIONS = {
    "keras.backend.int_shape",
    "keras.backend.shape",
    "keras.ops.shape",
    "tensorflow.shape",
}
#: Calls that make a symbolic input.
_INPUTS = {"keras.Input", "keras.layers.Input"}
#: Calls that make a model (called on a Keras tensor, it gives one).
_MODELS = {
    "keras.Model",
    "keras.models.Model",
    "keras.Sequential",
    "keras.models.Sequential",
    "keras.models.load_model",
    "keras.saving.load_model",
}
#: Attributes of a layer or model that are Keras tensors.
_SYMBOLIC_ATTRIBUTES = {"output", "outputs", "input", "inputs"}
#: Functions whose result is a tensor when an argument is one.
_OP_ROOTS = ("keras.ops.", "keras.activations.", "keras.backend.", "tensorflow.")


@dataclasses.dataclass(eq=False)
class Scope:
    """The names of one function (or the module) that hold Keras tensors, layers, models.

    Attributes:
        parent: the enclosing scope, None for the module.
        in_class: whether the scope is a method (or inside one): layer code, not model code.
        in_lambda: whether the scope is a ``lambda``'s body.
        bound: every name the scope binds (parameters, assignment and loop targets).
    """

    parent: Scope | None
    in_class: bool = False
    in_lambda: bool = False
    bound: set[str] = dataclasses.field(default_factory=set)
    tensors: set[str] = dataclasses.field(default_factory=set)
    layers: set[str] = dataclasses.field(default_factory=set)
    models: set[str] = dataclasses.field(default_factory=set)
    batch_sizes: set[str] = dataclasses.field(default_factory=set)
    assignments: list = dataclasses.field(default_factory=list)

    def has(self, kind: str, name: str) -> bool:
        """Whether `name` is one of `kind` (``"tensors"``, ``"layers"``, ``"models"``,
        ``"batch_sizes"``) here."""
        scope = self
        while scope is not None:
            if name in getattr(scope, kind):
                return True
            if name in scope.bound:
                return False
            scope = scope.parent
        return False


def _names(target: cst.BaseExpression) -> list[str]:
    """The plain names an assignment target binds (``a, (b, *c) = ...`` -> a, b, c)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _names(target.value)
    return []


def _parameters(params: cst.Parameters) -> list[str]:
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    star = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return [p.name.value for p in (*every, *star)]


class _Collector(cst.CSTVisitor):
    """Scopes, their assignments, and the scope of every call and loop."""

    def __init__(self) -> None:
        self.root = Scope(None)
        self.scopes = [self.root]
        self.stack = [self.root]
        self.classes = 0
        self.scope_of: dict[int, Scope] = {}

    def _push(self, scope: Scope) -> None:
        self.scopes.append(scope)
        self.stack.append(scope)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes += 1

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = Scope(self.stack[-1], in_class=self.classes > 0 or self.stack[-1].in_class)
        names = _parameters(node.params)
        scope.bound.update(names)
        if self.classes and node.name.value == "call" and len(names) > 1:
            scope.tensors.add(names[1])  # call(self, inputs, ...)
        self._push(scope)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        scope = Scope(self.stack[-1], in_class=self.stack[-1].in_class, in_lambda=True)
        scope.bound.update(_parameters(node.params))
        self._push(scope)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.stack.pop()

    def _assign(self, targets: list[cst.BaseExpression], value: cst.BaseExpression) -> None:
        scope = self.stack[-1]
        for target in targets:
            scope.bound.update(_names(target))
        scope.assignments.append((targets, value))

    def visit_Assign(self, node: cst.Assign) -> None:
        self._assign([t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assign([node.target], node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assign([node.target], node.value)

    def _record(self, node: cst.CSTNode) -> None:
        self.scope_of[id(node)] = self.stack[-1]

    def visit_Call(self, node: cst.Call) -> None:
        self._record(node)

    def visit_For(self, node: cst.For) -> None:
        self._record(node)
        self.stack[-1].bound.update(_names(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._record(node)


class Dataflow:
    """The Keras tensors of one module (see the module docstring)."""

    def __init__(self, module: cst.Module, context) -> None:
        self.context = context
        collector = _Collector()
        visit(module, collector)
        self.root = collector.root
        self._scope_of = collector.scope_of
        for scope in collector.scopes:  # enclosing scopes first
            self._solve(scope)

    def scope(self, at: cst.CSTNode) -> Scope | None:
        """The scope of a call or loop node of the module."""
        return self._scope_of.get(id(at))

    def in_model_code(self, at: cst.CSTNode) -> bool:
        """Whether `at` is in model-building code: not in a method, not in a lambda body."""
        scope = self.scope(at)
        return scope is not None and not scope.in_class and not scope.in_lambda

    def is_tensor(self, expr: cst.BaseExpression, at: cst.CSTNode) -> bool:
        """Whether `expr`, an expression inside call or loop `at`, is a Keras tensor."""
        scope = self.scope(at)
        return scope is not None and self._tensor(expr, scope)

    def is_batch_size(self, expr: cst.BaseExpression, at: cst.CSTNode) -> bool:
        """Whether `expr`, inside call or loop `at`, is the batch size of a Keras tensor:
        ``x.shape[0]``, ``K.int_shape(x)[0]``, ``tf.shape(x)[0]`` or a name bound to one."""
        scope = self.scope(at)
        return scope is not None and self._batch_size(expr, scope)

    def _batch_size(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        if isinstance(expr, cst.Name):
            return scope.has("batch_sizes", expr.value)
        if not isinstance(expr, cst.Subscript) or len(expr.slice) != 1:
            return False
        index = expr.slice[0].slice
        if not isinstance(index, cst.Index) or not isinstance(index.value, cst.Integer):
            return False
        if index.value.evaluated_value != 0:
            return False
        value = expr.value
        if isinstance(value, cst.Attribute) and value.attr.value == "shape":
            return self._tensor(value.value, scope)
        if isinstance(value, cst.Call) and self.context.qualified(value.func) in _SHAPE_FUNCTIONS:
            return bool(value.args) and self._tensor(value.args[0].value, scope)
        return False

    def _solve(self, scope: Scope) -> None:
        changed = True
        while changed:
            changed = False
            for targets, value in scope.assignments:
                kinds = [self._kind(value, scope)]
                if self._batch_size(value, scope):
                    kinds.append("batch_sizes")  # `n = tf.shape(x)[0]`: a tensor too
                for kind in filter(None, kinds):
                    found = getattr(scope, kind)
                    for name in (n for t in targets for n in _names(t)):
                        if name not in found:
                            found.add(name)
                            changed = True

    def _kind(self, value: cst.BaseExpression, scope: Scope) -> str | None:
        if self._is_layer(value):
            return "layers"
        if self._is_model(value):
            return "models"
        return "tensors" if self._tensor(value, scope) else None

    def _is_layer(self, node: cst.BaseExpression) -> bool:
        """``keras.layers.Dense(...)`` (a layer's construction; not ``Input``)."""
        if not isinstance(node, cst.Call):
            return False
        name = self.context.qualified(node.func)
        if name is None or name in _INPUTS:
            return False
        last = name.rsplit(".", 1)[-1]
        return name.startswith(("keras.layers.", "kfx.layers.")) and last[:1].isupper()

    def _is_model(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Call):
            return False
        name = self.context.qualified(node.func)
        return name is not None and (name in _MODELS or name.startswith("keras.applications."))

    def _keras_object(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A layer or model: a name bound to one, its construction, or ``m.get_layer(...)``."""
        if isinstance(node, cst.Name):
            return scope.has("layers", node.value) or scope.has("models", node.value)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "get_layer":
                return True
        return self._is_layer(node) or self._is_model(node)

    def _tensor(self, node: cst.BaseExpression, scope: Scope) -> bool:
        if isinstance(node, cst.Name):
            return scope.has("tensors", node.value)
        if isinstance(node, (cst.List, cst.Tuple)):
            return any(self._tensor(e.value, scope) for e in node.elements)
        if isinstance(node, cst.BinaryOperation):
            return self._tensor(node.left, scope) or self._tensor(node.right, scope)
        if isinstance(node, cst.UnaryOperation):
            return self._tensor(node.expression, scope)
        if isinstance(node, cst.Subscript):
            return self._tensor(node.value, scope)
        if isinstance(node, cst.IfExp):
            return self._tensor(node.body, scope) or self._tensor(node.orelse, scope)
        if isinstance(node, cst.Attribute):
            return node.attr.value in _SYMBOLIC_ATTRIBUTES and self._keras_object(node.value, scope)
        if isinstance(node, cst.Call):
            return self._call_tensor(node, scope)
        return False

    def _call_tensor(self, node: cst.Call, scope: Scope) -> bool:
        func = node.func
        name = self.context.qualified(func)
        if name in _INPUTS:
            return True
        if self._is_layer(func) or (isinstance(func, cst.Name) and scope.has("layers", func.value)):
            return True  # a layer called in model code
        on_tensor = any(self._tensor(arg.value, scope) for arg in node.args)
        if self._is_model(func) or (isinstance(func, cst.Name) and scope.has("models", func.value)):
            return on_tensor
        return on_tensor and name is not None and name.startswith(_OP_ROOTS)
