"""``kfx migrate``: Keras 2 code to Keras 3, rule by rule, with fixes that keep formatting.

Each rule (:func:`list_rules`) has an id (``"K3101"``), a summary, a docs paragraph, a
detector and, where the rewrite is safe, a fixer over a libcst concrete syntax tree, so
comments and formatting survive. :func:`check` reports, :func:`fix` rewrites files in place
(atomically; files without findings are not touched), :func:`diff` shows what ``fix``
would write. The command is ``kfx migrate PATH... [--fix] [--diff]`` (``python -m
kfx.migrate`` on its own). libcst loads only when a function here is first used.

Example:
    >>> from kfx.migrate import fix_source
    >>> new, findings = fix_source("from keras.layers.merge import concatenate\\n")
    >>> new, [(f.rule, f.fixed) for f in findings]
    ('from keras.layers import concatenate\\n', [('K3001', True)])
"""

from __future__ import annotations

from kfx._lazy import lazy

_ATTRIBUTES = {
    "Finding": "_finding",
    "Rule": "_registry",
    "Hit": "_registry",
    "list_rules": "_registry",
    "register_rule": "_registry",
    "rules_table": "_registry",
    "check_source": "_engine",
    "fix_source": "_engine",
    "check": "_run",
    "fix": "_run",
    "diff": "_run",
    "convert_h5": "saved_models",
}

__all__ = sorted(_ATTRIBUTES)

__getattr__, __dir__ = lazy(__name__, globals(), _ATTRIBUTES)
