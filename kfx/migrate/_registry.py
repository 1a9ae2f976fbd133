"""The rule registry: :class:`Rule`, :func:`register_rule`, :func:`list_rules`.

Like ``kfx.layers.list_layers()``: every rule is one object in one list, the tests iterate
it (each rule has fixtures in ``tests/migrate/cases/``) and docs/migrate.md's rule table is
generated from it (:func:`rules_table`). Standard library only: a rule's detector and fixer
work on libcst nodes, but the registry itself does not need libcst.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

_RULES: dict[str, Rule] = {}


@dataclasses.dataclass(frozen=True)
class Hit:
    """What a detector returns for a node that needs a change.

    Attributes:
        message: what is wrong on Keras 3, for this node.
        fixable: whether the rule's fixer can rewrite this node safely.
        fix: the hint; empty for the rule's own.
    """

    message: str
    fixable: bool = False
    fix: str = ""


@dataclasses.dataclass(frozen=True)
class Rule:
    """One migration rule.

    Attributes:
        id: ``"K3NNN"``; the hundreds digit is the family (K30 imports, K31 arguments, ...).
        summary: one line for the rule table.
        docs: a paragraph: what the rule finds, why Keras 3 needs the change, what it rewrites.
        family: the family, named after its module in ``kfx/migrate/rules/``.
        nodes: the libcst node classes the detector looks at.
        detector: ``detector(node, context) -> Hit | None`` on the original node.
        fixer: ``fixer(node, context) -> node`` on the updated node, for hits with
            ``fixable=True``; None for a rule that only reports.
        fix: the default hint (the Keras 3 way).
        issue: a keras-team/keras issue where users hit this, or None.
    """

    id: str
    summary: str
    docs: str
    family: str
    nodes: tuple[type, ...]
    detector: Callable
    fixer: Callable | None = None
    fix: str = ""
    issue: str | None = None

    @property
    def fixable(self) -> bool:
        """Whether the rule rewrites code (some of its hits may still be report-only)."""
        return self.fixer is not None


def register_rule(
    id: str,
    summary: str,
    *,
    nodes: tuple[type, ...],
    fix: str = "",
    issue: str | None = None,
    fixer: Callable | None = None,
    docs: str | None = None,
) -> Callable[[Callable], Callable]:
    """Decorator that registers a detector as rule `id`; the docs paragraph is its docstring.

    Example:
        >>> from kfx.migrate import list_rules
        >>> rule = next(r for r in list_rules() if r.id == "K3101")
        >>> rule.summary, rule.fixable
        ('optimizer argument `lr=` is `learning_rate=`', True)
    """

    def decorate(detector: Callable) -> Callable:
        if id in _RULES:
            raise ValueError(f"register_rule: rule id {id!r} is registered twice")
        family = detector.__module__.rsplit(".", 1)[-1]
        text = " ".join((docs or detector.__doc__ or "").split())
        _RULES[id] = Rule(id, summary, text, family, nodes, detector, fixer, fix, issue)
        return detector

    return decorate


def list_rules() -> list[Rule]:
    """Every registered rule, sorted by id.

    Example:
        >>> from kfx.migrate import list_rules
        >>> rules = list_rules()
        >>> len(rules) >= 15 and rules[0].id
        'K3001'
    """
    from kfx.migrate import rules  # noqa: F401 - registers every rule family

    return [_RULES[key] for key in sorted(_RULES)]


def _matches(rule_id: str, codes: Iterable[str]) -> bool:
    return any(rule_id.startswith(code.strip().upper()) for code in codes if code.strip())


def select_rules(select: Iterable[str] | None = None, ignore: Iterable[str] | None = None):
    """The rules whose id starts with one of `select` (all when None) and none of `ignore`.

    Example:
        >>> from kfx.migrate._registry import select_rules
        >>> [r.id for r in select_rules(["K310"], ignore=["K3102"])][:3]
        ['K3101', 'K3103', 'K3104']
    """
    rules = list_rules()
    if select:
        rules = [r for r in rules if _matches(r.id, select)]
    if ignore:
        rules = [r for r in rules if not _matches(r.id, ignore)]
    return rules


def unknown_codes(codes: Iterable[str]) -> list[str]:
    """The codes in `codes` that are no rule id and no prefix of one (a usage error)."""
    ids = [r.id for r in list_rules()]
    return [c for c in codes if c.strip() and not any(i.startswith(c.strip().upper()) for i in ids)]


def rules_table() -> str:
    """The Markdown rule table of docs/migrate.md, generated from the registry."""
    rows = ["| Rule | Summary | Fixable | Keras issue |", "|---|---|---|---|"]
    for rule in list_rules():
        issue = f"[{rule.issue.rsplit('/', 1)[-1]}]({rule.issue})" if rule.issue else ""
        fixable = "yes" if rule.fixable else "no"
        rows.append(f"| [{rule.id}](#{rule.id.lower()}) | {rule.summary} | {fixable} | {issue} |")
    sections = []
    for rule in list_rules():
        sections.append(f"### {rule.id}\n\n**{rule.summary}** ({rule.family}). {rule.docs}")
        if rule.fix:
            sections[-1] += f"\n\nKeras 3 way: {rule.fix}"
    return "\n".join(rows) + "\n\n" + "\n\n".join(sections) + "\n"
