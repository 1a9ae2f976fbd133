"""What the rules know about a module before they look at its nodes: names and imports.

A pre-pass over the module collects what each imported name is bound to (``K`` ->
``tensorflow.keras.backend``), so a rule asks :meth:`ModuleContext.qualified` for the
dotted name of an expression and compares it with Keras names in one canonical spelling
(``tensorflow.keras.X``, ``tf_keras.X`` and ``tensorflow.python.keras.X`` all read as
``keras.X``). Rules about calls and attributes only apply to modules that import Keras or
TensorFlow (:attr:`ModuleContext.uses_keras`): ``np.save("out")`` in a NumPy script is not
``model.save``.
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._walk import preorder, visit

#: Spellings of the Keras package in Keras 2 code, longest first.
_KERAS_PREFIXES = (
    "tensorflow.compat.v1.keras",
    "tensorflow.compat.v2.keras",
    "tensorflow.python.keras",
    "tensorflow.keras",
    "tf_keras",
    "keras",
)
_FRAMEWORKS = {"keras", "tensorflow", "tf_keras"}
_VISIT = "visit_"


def dotted(node: cst.BaseExpression | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def canonical(name: str | None) -> str | None:
    """`name` with its Keras package spelled ``keras``: ``tensorflow.keras.layers`` -> ``keras.layers``."""
    if name is None:
        return None
    for prefix in _KERAS_PREFIXES:
        if name == prefix or name.startswith(prefix + "."):
            return "keras" + name[len(prefix) :]
    return name


class _ImportCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.star: list[str] = []
        self.assigned_attributes: set[str] = set()
        self.defined: set[str] = set()

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted(alias.name)
            if full is None:
                continue
            if alias.asname is not None:
                self.aliases[dotted(alias.asname.name) or full] = full
            else:
                self.aliases[full.split(".")[0]] = full.split(".")[0]

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None:
            return
        module = dotted(node.module)
        if isinstance(node.names, cst.ImportStar):
            self.star.append(module)
            return
        for alias in node.names:
            name = dotted(alias.name)
            bound = dotted(alias.asname.name) if alias.asname is not None else name
            self.aliases[bound] = f"{module}.{name}"

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if isinstance(node.target, cst.Attribute):
            self.assigned_attributes.add(node.target.attr.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.defined.add(node.name.value)

    def collect(self, module: cst.Module) -> None:
        """Call this collector's ``visit_<Node>`` methods on every node of `module`, in
        ``module.visit`` order but without rebuilding the tree (:mod:`kfx.migrate._walk`)."""
        own = [k for k in type(self).__mro__ if k not in cst.CSTVisitor.__mro__]
        handlers = {
            getattr(cst, name[len(_VISIT) :]): getattr(self, name)
            for klass in own
            for name in vars(klass)
            if name.startswith(_VISIT) and isinstance(getattr(cst, name[len(_VISIT) :], None), type)
        }
        for node in preorder(module):
            handler = handlers.get(type(node))
            if handler is not None:
                handler(node)


class _Callees(cst.CSTVisitor):
    def __init__(self) -> None:
        self.ids: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        self.ids.add(id(node.func))


class ModuleContext:
    """Imports and names of one module, shared by every rule that looks at it.

    Attributes:
        aliases: bound name -> the dotted name it stands for (``{"K": "keras.backend"}``).
        star: modules imported with ``*``.
        uses_keras: whether the module imports keras, tensorflow or tf_keras.
        needed_imports: modules a fixer's new code refers to (``"keras"``); the engine adds
            ``import keras`` where the module lacks it.
        module: the module itself (the nodes that detectors are given belong to it).
    """

    def __init__(self, module: cst.Module, inherited: ModuleContext | None = None) -> None:
        collector = _ImportCollector()
        collector.collect(module)
        # A notebook cell also sees the names that the notebook's other cells import.
        self.aliases = {**(inherited.aliases if inherited else {}), **collector.aliases}
        self.star = [*(inherited.star if inherited else ()), *collector.star]
        self.assigned_attributes = collector.assigned_attributes
        self.defined = collector.defined
        tops = {name.split(".")[0] for name in (*self.aliases.values(), *self.star)}
        self.uses_keras = bool(tops & _FRAMEWORKS)
        self.needed_imports: set[str] = set()
        self.module = module
        self._dataflow = None
        self._callees: set[int] | None = None

    def is_callee(self, node: cst.CSTNode) -> bool:
        """Whether `node` (of :attr:`module`) is the function of a call: ``f`` in ``f(x)``."""
        if self._callees is None:
            collector = _Callees()
            visit(self.module, collector)
            self._callees = collector.ids
        return id(node) in self._callees

    @property
    def dataflow(self):
        """Which expressions are Keras tensors (:class:`~kfx.migrate._dataflow.Dataflow`),
        computed on first use: only rules that meet a candidate node pay for it."""
        if self._dataflow is None:
            from kfx.migrate._dataflow import Dataflow

            self._dataflow = Dataflow(self.module, self)
        return self._dataflow

    def qualified(self, node: cst.BaseExpression | None) -> str | None:
        """The canonical dotted name `node` stands for (``K.mean`` -> ``keras.backend.mean``).

        A chain whose first name is not imported gives None.
        """
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head not in self.aliases:
            return None
        full = self.aliases[head] + (f".{rest}" if rest else "")
        return canonical(full)

    def keras_name(self) -> str | None:
        """How new code refers to the Keras package here (``"keras"``), or None if it cannot.

        ``keras`` bound to Keras (``import keras``, ``from tensorflow import keras``) or
        unbound (the engine then adds ``import keras``, see :meth:`require_keras`) is fine;
        ``keras`` bound to anything else is not.
        """
        bound = self.aliases.get("keras")
        return "keras" if bound is None or canonical(bound) == "keras" else None

    def require_keras(self) -> str:
        """For a fixer that writes ``keras.``: note the import if the module lacks it."""
        if "keras" not in self.aliases:
            self.needed_imports.add("keras")
        return "keras"
