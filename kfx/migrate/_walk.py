"""A read-only walk over a libcst tree, in libcst's own visiting order, without copying it.

``node.visit(visitor)`` rebuilds every node it passes, even for a read-only
:class:`libcst.CSTVisitor`, and that rebuilding is most of what a visit costs. The rules
only read nodes, so ``kfx migrate`` finds them with :func:`preorder` / :func:`children`
instead and builds new nodes only where a fixer rewrites something. Children come in the
order libcst visits them (source order), read once per node class from the order of the
``visit_*`` calls in the class's ``_visit_and_replace_children``; a class whose order
cannot be read falls back to ``node.children``.

Example:
    >>> import libcst as cst
    >>> from kfx.migrate._walk import preorder
    >>> module = cst.parse_module("@d\\ndef f(a=g()): pass\\n")
    >>> [n.value for n in preorder(module) if isinstance(n, cst.Name)]
    ['d', 'f', 'a', 'g']
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator

import libcst as cst

_FIELDS: dict[type, tuple[str, ...] | None] = {}
_UNKNOWN = object()


def _visiting_order(cls: type) -> tuple[str, ...] | None:
    """The field names that `cls` visits, in order; None when its source cannot be read."""
    try:
        source = textwrap.dedent(inspect.getsource(cls._visit_and_replace_children))
    except (OSError, TypeError, AttributeError):
        return None
    calls = [
        (node.lineno, node.col_offset, node.args[1].value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("visit_")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
    ]
    return tuple(dict.fromkeys(name for *_, name in sorted(calls)))


def fields(cls: type) -> tuple[str, ...] | None:
    """The attributes of node class `cls` that hold its children, in visiting order; None
    when they cannot be read (then only ``node.children`` is known)."""
    if cls not in _FIELDS:
        _FIELDS[cls] = _visiting_order(cls)
    return _FIELDS[cls]


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The direct children of `node`, in libcst's visiting order (like ``node.children``)."""
    names = _FIELDS.get(type(node), _UNKNOWN)
    if names is _UNKNOWN:
        names = fields(type(node))
    if names is None:
        return list(node.children)
    # A visited field holds a node, a tuple of nodes, None or MaybeSentinel.DEFAULT; type
    # checks, because isinstance on libcst's abstract node classes is several times slower.
    found = []
    for name in names:
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            found += value
        elif value is not None and kind is not cst.MaybeSentinel:
            found.append(value)
    return found


def preorder(node: cst.CSTNode, prune: tuple[type, ...] = ()) -> Iterator[cst.CSTNode]:
    """`node` and every node below it, each before its children (``visit_*`` order); the
    nodes of a class in `prune` are given, but not what is below them."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if not (prune and isinstance(current, prune)):
            stack += reversed(children(current))


def visit(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a read-only visitor (its ``visit_*`` may return False to
    skip a node's children; its ``leave_*`` run after them), without rebuilding the tree."""
    if visitor.on_visit(node):
        for child in children(node):
            visit(child, visitor)
    visitor.on_leave(node)
