"""Run the rules over one module's source: findings, and the fixed source.

Each pass first walks the concrete syntax tree read-only (:mod:`kfx.migrate._walk`, no
copy of the tree) and asks the rules that look at each node's class for a
:class:`~kfx.migrate._registry.Hit`. Only when fixing and some hit is fixable does one
libcst transformer visit the tree (comments and formatting kept): it asks the rules again on
each original node, records a finding at that node's position, and lets the rule's fixer
rewrite the updated node. Both visit the nodes in the same order, so the findings are the
same either way; the walk is several times cheaper than a transformer pass, which rebuilds
every node. Fixing repeats until a pass fixes nothing (a fix may
uncover another, ``tensorflow.python.keras.layers.core`` -> ``keras.layers.core`` ->
``keras.layers``), so a second ``--fix`` never changes a file. A fix whose result does not
compile while the source did is refused: the file stays as it was and a K3000 finding says
why.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from kfx.migrate._context import ModuleContext
from kfx.migrate._finding import FILE_ERROR, Finding
from kfx.migrate._registry import Hit, Rule
from kfx.migrate._walk import children

#: Enough for chains like tensorflow.python.keras.layers.core -> keras.layers.core -> keras.layers.
_MAX_PASSES = 4


class _RuleRunner(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, rules: Sequence[Rule], context: ModuleContext, fixing: bool) -> None:
        super().__init__()
        self.context = context
        self.fixing = fixing
        self.findings: list[Finding] = []
        self.by_type = _by_type(rules)
        self._import_depth = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            self._import_depth += 1
        return True

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        is_import = isinstance(original, (cst.Import, cst.ImportFrom))
        if is_import:
            self._import_depth -= 1
        rules = self.by_type.get(type(original))
        if not rules or (self._import_depth and not is_import):
            return updated  # names inside an import statement belong to the import's rules
        for rule in rules:
            hit = rule.detector(original, self.context)
            if hit is None:
                continue
            fixed = False
            if self.fixing and hit.fixable and rule.fixer is not None:
                new = rule.fixer(updated, self.context)
                fixed = not new.deep_equals(updated)
                updated = new
            start = self.get_metadata(PositionProvider, original).start
            self.findings.append(_finding(rule, hit, start, fixed))
            if not isinstance(updated, type(original)):
                break  # the node became something else: the other rules saw the original
        return updated


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


def _hits(module: cst.Module, rules: Sequence[Rule], context: ModuleContext) -> list[tuple]:
    """``(node, rule, hit)`` for the original nodes of `module`, in :class:`_RuleRunner`'s
    order (children first; nothing inside an import statement but the statement)."""
    by_type = _by_type(rules)
    found = []

    def visit(node: cst.CSTNode) -> None:
        if not isinstance(node, _IMPORTS):
            for child in children(node):
                visit(child)
        for rule in by_type.get(type(node), ()):
            hit = rule.detector(node, context)
            if hit is not None:
                found.append((node, rule, hit))

    visit(module)
    return found


def _add_imports(module: cst.Module, names: set[str]) -> cst.Module:
    """`module` with ``import <name>`` for each of `names` that it lacks at the top.

    libcst's ``AddImportsVisitor`` does this, but it visits (and copies) the whole tree
    twice while only reading and changing the module's leading statements: the docstring,
    the first run of import lines and the statement after them. So it runs on a module of
    just those statements, and the rest of the body is put back unchanged.
    """
    body = module.body
    end = 1
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    head = module.with_changes(body=body[: end + 1])
    codemod = CodemodContext()
    for name in sorted(names):
        AddImportsVisitor.add_needed_import(codemod, name)
    head = AddImportsVisitor(codemod).transform_module(head)
    return module.with_changes(body=(*head.body, *body[end + 1 :]))


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], _IMPORTS)
    )


def _one_pass(module: cst.Module, rules: Sequence[Rule], fixing: bool, inherited=None):
    context = ModuleContext(module, inherited)
    hits = _hits(module, rules, context)
    if not (fixing and any(hit.fixable and rule.fixer is not None for _, rule, hit in hits)):
        if not hits:
            return module, []
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        return module, [_finding(rule, hit, positions[node].start) for node, rule, hit in hits]
    runner = _RuleRunner(rules, context, fixing)
    new = MetadataWrapper(module, unsafe_skip_copy=True).visit(runner)
    if context.needed_imports and any(f.fixed for f in runner.findings):
        new = _add_imports(new, context.needed_imports)
    return new, runner.findings


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
    new, findings = _one_pass(module, rules, fixing, inherited)
    if not fixing or not any(f.fixed for f in findings):
        return source, findings
    done = [f for f in findings if f.fixed]
    for _ in range(_MAX_PASSES - 1):
        new, findings = _one_pass(new, rules, True, inherited)
        done += [f for f in findings if f.fixed]
        if not any(f.fixed for f in findings):
            break
    result = new.bytes if isinstance(source, bytes) else new.code
    if _compiles(source) and not _compiles(result):
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
