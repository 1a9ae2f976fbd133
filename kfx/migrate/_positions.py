"""A module's code and where chosen nodes start in it (line, column), from one code generation.

libcst's ``PositionProvider`` records a range for every node of the module, through a
context manager and two position objects per node, which costs several times the code
generation itself. A finding only needs the start of its own node, so :func:`generate`
generates the code with a state that counts lines and columns and records positions only
for the wanted nodes (and the child a node takes its start from, as ``PositionProvider``
does: a decorated function starts at its first decorator). The positions are
``PositionProvider``'s (tests/migrate/test_engine.py compares them node by node). The
state extends libcst's ``CodegenState``, which libcst does not export: where a libcst
release moves it, :func:`generate` falls back to ``PositionProvider``.

Example:
    >>> import libcst as cst
    >>> module = cst.parse_module("import os\\n\\n# note\\ndef f():\\n    return g(1)\\n")
    >>> call = module.body[1].body.body[0].body[0].value
    >>> code, starts = generate(module, [call])
    >>> code == module.code, starts[id(call)].line, starts[id(call)].column
    (True, 5, 11)
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterable

import libcst as cst
from libcst.metadata import CodePosition, MetadataWrapper, PositionProvider

try:
    from libcst._nodes.internal import CodegenState
except ImportError:  # a libcst that moved it: PositionProvider, slower but the same
    CodegenState = None

_NEWLINE = re.compile(r"\r\n?|\n")
_UNTRACKED = contextlib.nullcontext()


@dataclasses.dataclass
class _TrackingState(CodegenState or object):
    wanted: set[int] = dataclasses.field(default_factory=set)
    found: dict[int, CodePosition] = dataclasses.field(default_factory=dict)
    line: int = 1
    column: int = 0

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        segments = _NEWLINE.split(value)
        self.line += len(segments) - 1
        self.column = len(segments[-1])

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted and id(node) not in self.found:
            self.found[id(node)] = CodePosition(self.line, self.column)

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        if id(node) not in self.wanted:
            return _UNTRACKED
        if start_node is not None:
            self.wanted.add(id(start_node))
        return self._record(node, start_node)

    @contextlib.contextmanager
    def _record(self, node: cst.CSTNode, start_node: cst.CSTNode | None):
        start = CodePosition(self.line, self.column)
        yield
        if start_node is not None:
            start = self.found.get(id(start_node), start)
        self.found[id(node)] = start


def generate(
    module: cst.Module, nodes: Iterable[cst.CSTNode]
) -> tuple[str, dict[int, CodePosition]]:
    """``(module.code, {id(node): start})`` for `nodes` of `module` (lines from 1, columns
    from 0), the starts as ``MetadataWrapper(module).resolve(PositionProvider)[node].start``
    gives them: one code generation for both."""
    nodes = list(nodes)
    if CodegenState is None:
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        return module.code, {id(node): positions[node].start for node in nodes}
    state = _TrackingState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        wanted={id(node) for node in nodes},
    )
    module._codegen(state)
    return "".join(state.tokens), {id(node): state.found[id(node)] for node in nodes}
