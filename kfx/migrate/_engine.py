"""Run the rules over one module's source: findings, and the fixed source.

Each pass walks the concrete syntax tree read-only (:mod:`kfx.migrate._walk`, no copy of
the tree) and asks the rules that look at each node's class for a
:class:`~kfx.migrate._registry.Hit`, children before their parent. When fixing, only the
nodes on the path from a top-level statement down to a fixable hit are rebuilt, each after
its children, so a fixer gets a node whose children are already fixed (as in a libcst
transformer, with comments and formatting kept) and the rest of the tree is shared, not
copied. The findings' positions come with the module's code from one code generation
(:mod:`kfx.migrate._positions`). Fixing repeats until a pass fixes nothing (a fix may
uncover another, ``tensorflow.python.keras.layers.core`` -> ``keras.layers.core`` ->
``keras.layers``), so a second ``--fix`` never changes a file. A fix whose result does not
compile while the source did is refused: the file stays as it was and a K3000 finding says
why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import libcst as cst

from kfx.migrate._context import ModuleContext, dotted
from kfx.migrate._finding import FILE_ERROR, Finding
from kfx.migrate._positions import generate
from kfx.migrate._registry import Hit, Rule
from kfx.migrate._walk import children, fields

#: Enough for chains like tensorflow.python.keras.layers.core -> keras.layers.core -> keras.layers.
_MAX_PASSES = 4


_IMPORTS = (cst.Import, cst.ImportFrom)


def _by_type(rules: Sequence[Rule]) -> dict[type, list[Rule]]:
    by_type: dict[type, list[Rule]] = {}
    for rule in rules:
        for node_type in rule.nodes:
            by_type.setdefault(node_type, []).append(rule)
    return by_type


def _finding(rule: Rule, hit: Hit, start, fixed: bool = False) -> Finding:
    return Finding(
        "",
        start.line,
        start.column + 1,
        rule.id,
        hit.message,
        fixable=hit.fixable and rule.fixer is not None,
        fix=hit.fix or rule.fix,
        fixed=fixed,
    )


@dataclasses.dataclass
class _Found:
    """A rule's hit on a node, with the nodes above it from its top-level statement down
    (the path that a fix rebuilds)."""

    node: cst.CSTNode
    rule: Rule
    hit: Hit
    above: tuple[cst.CSTNode, ...]

    @property
    def fixable(self) -> bool:
        return self.hit.fixable and self.rule.fixer is not None


def _hits(module: cst.Module, rules: Sequence[Rule], context: ModuleContext) -> list[_Found]:
    """The rules' hits on the original nodes of `module`, children before their parent (so
    a fixer gets a node whose children are already fixed); nothing inside an import
    statement but the statement."""
    by_type = _by_type(rules)
    found: list[_Found] = []
    above: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if type(node) not in _IMPORTS:  # exact classes; isinstance on them is slower
            above.append(node)
            for child in children(node):
                visit(child)
            above.pop()
        for rule in by_type.get(type(node), ()):
            hit = rule.detector(node, context)
            if hit is not None:
                found.append(_Found(node, rule, hit, tuple(above)))

    for statement in module.body:
        visit(statement)
    return found


class _Replace(cst.CSTTransformer):
    """Puts rebuilt children in place, for a node class whose fields cannot be read."""

    def __init__(self, new: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self.new = new

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:
        return self.new.get(id(original), updated)


def _rewrite(module: cst.Module, found: Sequence[_Found], context: ModuleContext):
    """`module` with the fixable hits fixed: ``(new_module, {(id(node), rule id) fixed})``.

    Only the nodes on a path from a top-level statement to a fixed node are rebuilt, each
    after its children (as a libcst transformer would), the rest of the tree is shared.
    A fixer returns the new node, or ``cst.RemovalSentinel.REMOVE`` to delete a statement.
    """
    fixes: dict[int, list[_Found]] = {}
    on_path: set[int] = set()
    for item in found:
        if item.fixable:
            fixes.setdefault(id(item.node), []).append(item)
            on_path.update(id(node) for node in item.above)
    done: set[tuple[int, str]] = set()

    def rebuild(node: cst.CSTNode) -> cst.CSTNode | cst.RemovalSentinel:
        updated = _with_children(node, rebuild) if id(node) in on_path else node
        for item in fixes.get(id(node), ()):
            new = item.rule.fixer(updated, context)
            if new is cst.RemovalSentinel.REMOVE or not new.deep_equals(updated):
                done.add((id(node), item.rule.id))
            updated = new
            if not isinstance(updated, type(node)):
                break  # the node became something else: the other rules saw the original
        return updated

    body = _kept(rebuild(statement) for statement in module.body)
    return module.with_changes(body=body), done


def _kept(items) -> tuple:
    """`items` without the ones a fixer removed (a statement deleted from its body)."""
    return tuple(item for item in items if item is not cst.RemovalSentinel.REMOVE)


def _with_children(node: cst.CSTNode, rebuild) -> cst.CSTNode:
    names = fields(type(node))
    if names is None:
        new = {id(child): rebuild(child) for child in node.children}
        return node.visit(_Replace(new))
    changes = {}
    for name in names:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            rebuilt = rebuild(value)
            if rebuilt is not value:
                changes[name] = rebuilt
        elif isinstance(value, (list, tuple)):
            items = tuple(rebuild(v) if isinstance(v, cst.CSTNode) else v for v in value)
            if any(a is not b for a, b in zip(items, value, strict=True)):
                changes[name] = _kept(items)
    return node.with_changes(**changes) if changes else node


def _add_imports(module: cst.Module, names: set[str]) -> cst.Module:
    """`module` with ``import <name>`` for each of `names` that its leading imports lack.

    What libcst's ``AddImportsVisitor`` does for plain module imports (the new lines after
    a docstring and the first run of import lines, in sorted order, then a blank line
    before the next statement), without its two visits of the whole tree.
    """
    body = module.body
    start = 1 if body and _is_docstring_or_strict(body[0]) else 0
    end = start
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    present = {
        dotted(alias.name)
        for statement in body[start:end]
        if isinstance(statement.body[0], cst.Import)
        for alias in statement.body[0].names
        if alias.asname is None
    }
    config = module.config_for_parsing
    new = [cst.parse_statement(f"import {n}", config) for n in sorted(names - present)]
    if not new:
        return module
    rest = list(body[end:])
    if rest and not (rest[0].leading_lines and rest[0].leading_lines[0].comment is None):
        rest[0] = rest[0].with_changes(leading_lines=(cst.EmptyLine(), *rest[0].leading_lines))
    return module.with_changes(body=(*body[:end], *new, *rest))


def _is_docstring_or_strict(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Expr):
        return isinstance(small.value, cst.SimpleString)
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value == "__strict__"
    )


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], _IMPORTS)
    )


def _one_pass(module: cst.Module, rules: Sequence[Rule], fixing: bool, inherited=None):
    """``(new_module, findings, code)``: `code` is `module`'s own code when the findings'
    positions needed it generated, else None."""
    context = ModuleContext(module, inherited)
    found = _hits(module, rules, context)
    new, done = module, set()
    if fixing and any(item.fixable for item in found):
        new, done = _rewrite(module, found, context)
        if context.needed_imports and done:
            new = _add_imports(new, context.needed_imports)
    code, at = generate(module, [item.node for item in found]) if found else (None, {})
    findings = [
        _finding(item.rule, item.hit, at[id(item.node)], (id(item.node), item.rule.id) in done)
        for item in found
    ]
    return new, findings, code


def imports_context(sources: Sequence[str]) -> ModuleContext:
    """The imports of several sources (a notebook's cells) as one context; cells that do
    not parse are skipped."""
    context = None
    for source in sources:
        try:
            context = ModuleContext(cst.parse_module(source), context)
        except (cst.ParserSyntaxError, SyntaxError, ValueError):
            continue
    return context


def syntax_error_finding(error: Exception) -> Finding:
    """The K3000 finding for a source that does not parse."""
    if isinstance(error, cst.ParserSyntaxError):
        line, col, message = error.raw_line, error.raw_column + 1, error.message
    else:
        line = getattr(error, "lineno", None) or 1
        col = getattr(error, "offset", None) or 1
        message = getattr(error, "msg", None) or str(error)
    message = str(message).splitlines()[0] if str(message) else type(error).__name__
    return Finding("", line, col, FILE_ERROR, f"file does not parse: {message}; left unchanged")


def _compiles(code: bytes | str) -> bool:
    try:
        compile(code, "<kfx migrate>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def run_source(
    source: bytes | str,
    rules: Sequence[Rule],
    *,
    fixing: bool = False,
    inherited: ModuleContext | None = None,
) -> tuple[bytes | str, list[Finding]]:
    """The rules over one module: ``(new_source, findings)``, findings without a path.

    `new_source` has the type of `source` and equals it when nothing was fixed. Without
    `fixing`, every finding has ``fixed=False``; with it, the findings of every pass that
    fixed something, then the ones left in the result. `inherited` is the context of the
    notebook's other cells (their imports count here).
    """
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, SyntaxError, ValueError) as error:
        return source, [syntax_error_finding(error)]
    new, findings, _ = _one_pass(module, rules, fixing, inherited)
    if not fixing or not any(f.fixed for f in findings):
        return source, findings
    done = [f for f in findings if f.fixed]
    for _ in range(_MAX_PASSES - 1):
        last = new
        new, findings, code = _one_pass(last, rules, True, inherited)
        done += [f for f in findings if f.fixed]
        if not any(f.fixed for f in findings):
            break
    if new is not last or code is None:
        code = new.code
    result = code.encode(new.encoding) if isinstance(source, bytes) else code
    if not _compiles(result) and _compiles(source):
        refused = Finding("", 1, 1, FILE_ERROR, "the fixed code would not compile; not written")
        _, left = run_source(source, rules, inherited=inherited)
        return source, [refused, *left]
    return result, done + findings


def check_source(source: str, select=None, ignore=None) -> list[Finding]:
    """The findings of the selected rules on one module's source (nothing is written).

    Example:
        >>> from kfx.migrate import check_source
        >>> [f.text() for f in check_source("from keras.layers.merge import add\\n")]
        ['1:1: K3001 `keras.layers.merge` is gone: its layers are in `keras.layers` (fix: from keras.layers import ...)']
    """
    from kfx.migrate._registry import select_rules

    return run_source(source, select_rules(select, ignore))[1]


def fix_source(source: str, select=None, ignore=None) -> tuple[str, list[Finding]]:
    """``(fixed_source, findings)`` for one module's source.

    Example:
        >>> from kfx.migrate import fix_source
        >>> print(fix_source("opt = keras.optimizers.Adam(lr=0.01)  # fast\\nimport keras\\n")[0])
        opt = keras.optimizers.Adam(learning_rate=0.01)  # fast
        import keras
        <BLANKLINE>
    """
    from kfx.migrate._registry import select_rules

    return run_source(source, select_rules(select, ignore), fixing=True)
