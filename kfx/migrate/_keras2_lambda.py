"""Read a Keras 2 ``Lambda`` layer's stored code without running it.

Keras 2 saves a ``lambda`` as its marshalled code object (base64). This module unmarshals
it (which builds a code object and never executes it) and reads its bytecode: names,
constants and instructions. A Lambda that is exactly one known call on its input, such as
``tf.math.l2_normalize(x, axis=1)``, becomes a kfx layer; anything else is left to the user.
Standard library only.
"""

from __future__ import annotations

import binascii
import codecs
import dataclasses
import dis
import marshal

#: Module and attribute names that may lead to the known functions (``tf.math.``,
#: ``keras.backend.``, ``K.``, ``tf.nn.``, ``tf.linalg.``).
_MODULE_NAMES = {"tf", "tensorflow", "math", "nn", "linalg", "keras", "backend", "K"}
#: Instructions of ``lambda x: module.function(x, *constants, **constant_keywords)``.
_CALL_OPS = {"CALL", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_METHOD", "CALL_KW"}
_PLAIN_OPS = {
    "RESUME",
    "NOP",
    "CACHE",
    "PUSH_NULL",
    "PRECALL",
    "KW_NAMES",
    "RETURN_VALUE",
    "LOAD_GLOBAL",
    "LOAD_NAME",
    "LOAD_ATTR",
    "LOAD_METHOD",
    "LOAD_FAST",
    "LOAD_CONST",
}


@dataclasses.dataclass(frozen=True)
class Pattern:
    """A known Lambda: the kfx layer that replaces it and that layer's arguments."""

    layer: str
    arguments: dict


#: Function name -> (kfx layer, its positional parameters after the input, their defaults).
_KNOWN = {"l2_normalize": ("L2Normalize", ("axis", "epsilon"), {"epsilon": 1e-12})}


def _code(function) -> object | None:
    if not isinstance(function, (list, tuple)) or not function or not isinstance(function[0], str):
        return None
    if any(part is not None for part in function[1:]):  # defaults or a closure
        return None
    try:
        raw = codecs.decode(function[0].encode("ascii"), "base64")
        return marshal.loads(raw)  # builds a code object; nothing runs
    except (binascii.Error, ValueError, EOFError, TypeError, UnicodeEncodeError):
        return None


def _call(code) -> tuple[str, list, tuple] | None:
    """``(function name, argument loads, keyword names)`` of a one-call lambda, else None."""
    ops = list(dis.get_instructions(code))
    if any(op.opname not in _PLAIN_OPS | _CALL_OPS for op in ops):
        return None
    if sum(op.opname in _CALL_OPS for op in ops) != 1:
        return None
    if code.co_argcount != 1 or code.co_freevars or code.co_cellvars:
        return None
    names = [op.argval for op in ops if op.opname.startswith(("LOAD_GLOBAL", "LOAD_ATTR"))]
    names += [op.argval for op in ops if op.opname in ("LOAD_METHOD", "LOAD_NAME")]
    function = next((n for n in names if n in _KNOWN), None)
    if function is None or not set(names) <= _MODULE_NAMES | {function}:
        return None
    kwnames = tuple(c for c in code.co_consts if isinstance(c, tuple))
    if len(kwnames) > 1 or (kwnames and not all(isinstance(k, str) for k in kwnames[0])):
        return None
    keywords = kwnames[0] if kwnames else ()
    loads = [op for op in ops if op.opname in ("LOAD_FAST", "LOAD_CONST")]
    values = [op.argval if op.opname == "LOAD_CONST" else op for op in loads]
    values = [v for v in values if not (isinstance(v, tuple) and v == keywords)]
    return function, values, keywords


def known_pattern(config: dict) -> Pattern | None:
    """The kfx layer for a Keras 2 Lambda `config`, when its code is a known pattern.

    Example:
        >>> import base64, marshal
        >>> code = (lambda x: tf.math.l2_normalize(x, axis=1)).__code__
        >>> stored = base64.encodebytes(marshal.dumps(code)).decode()
        >>> known_pattern({"function": [stored, None, None], "function_type": "lambda"})
        Pattern(layer='L2Normalize', arguments={'axis': 1, 'epsilon': 1e-12})
        >>> stored = base64.encodebytes(marshal.dumps((lambda x: x * 2).__code__)).decode()
        >>> known_pattern({"function": [stored, None, None], "function_type": "lambda"})
    """
    if config.get("function_type") != "lambda" or config.get("arguments"):
        return None
    code = _code(config.get("function"))
    call = _call(code) if code is not None else None
    if call is None:
        return None
    function, values, keywords = call
    layer, parameters, defaults = _KNOWN[function]
    positional = values[: len(values) - len(keywords)]
    if not positional or not isinstance(positional[0], dis.Instruction):
        return None
    if positional[0].argval != code.co_varnames[0] or any(
        isinstance(v, dis.Instruction) for v in values[1:]
    ):
        return None
    arguments = dict(zip(parameters, positional[1:], strict=False))
    if len(positional) - 1 > len(parameters):
        return None
    for name, value in zip(keywords, values[len(positional) :], strict=True):
        if name not in parameters or name in arguments:
            return None
        arguments[name] = value
    if not all(isinstance(arguments.get(p), int) for p in parameters if p not in defaults):
        return None
    return Pattern(layer, {p: arguments.get(p, defaults.get(p)) for p in parameters})
