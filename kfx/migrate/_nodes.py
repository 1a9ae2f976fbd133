"""Small libcst helpers that the rule families share: arguments, literals, renames."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from kfx.migrate._context import dotted


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    """The ``name=`` argument of `call`, or None."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional(call: cst.Call) -> list[cst.Arg]:
    """The positional arguments of `call` (no ``*args``)."""
    return [a for a in call.args if a.keyword is None and not a.star]


def rename_keywords(call: cst.Call, renames: dict[str, str]) -> cst.Call:
    """`call` with its keyword arguments renamed (``{"lr": "learning_rate"}``)."""
    args = [
        arg.with_changes(keyword=cst.Name(renames[arg.keyword.value]))
        if arg.keyword is not None and arg.keyword.value in renames
        else arg
        for arg in call.args
    ]
    return call.with_changes(args=args)


def drop_keywords(call: cst.Call, names: set[str]) -> cst.Call:
    """`call` without the keyword arguments in `names`; the last comma follows the others'."""
    kept = [a for a in call.args if a.keyword is None or a.keyword.value not in names]
    if kept and call.args and kept[-1] is not call.args[-1]:
        kept[-1] = kept[-1].with_changes(comma=call.args[-1].comma)
    return call.with_changes(args=kept)


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain string literal (no f-string, no concatenation), else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def replace_suffix(node: cst.SimpleString, old: str, new: str) -> cst.SimpleString:
    """The string literal `node` with its text's ending `old` replaced by `new` (quotes kept)."""
    body = node.raw_value
    if not body.endswith(old):
        return node
    raw = body[: len(body) - len(old)] + new
    return node.with_changes(value=f"{node.prefix}{node.quote}{raw}{node.quote}")


def method_name(call: cst.Call) -> str | None:
    """``fit`` for ``model.fit(...)``; None when the callee is not an attribute."""
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def callee_last(call: cst.Call) -> str | None:
    """The last name of the callee: ``Adam`` for ``keras.optimizers.Adam(...)``."""
    name = dotted(call.func)
    return None if name is None else name.rsplit(".", 1)[-1]


def expression(code: str) -> cst.BaseExpression:
    """Parse one expression of new code."""
    return cst.parse_expression(code)


def no_space_equal() -> cst.AssignEqual:
    """The ``=`` of a keyword argument as PEP 8 writes it (``axis=-1``)."""
    return cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )


def append_keywords(
    args: Sequence[cst.Arg], keywords: dict[str, str | cst.BaseExpression]
) -> list[cst.Arg]:
    """`args` followed by ``name=value`` for each of `keywords` (source text or an
    expression), commas as ``, ``."""
    args = list(args)
    for name, code in keywords.items():
        if args:
            args[-1] = args[-1].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        value = expression(code) if isinstance(code, str) else code
        args.append(cst.Arg(value, keyword=cst.Name(name), equal=no_space_equal()))
    return args
