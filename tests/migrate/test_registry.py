"""The registry's selection and the rule table of docs/migrate.md, generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kfx.migrate import register_rule, rules_table
from kfx.migrate._registry import select_rules, unknown_codes

DOCS = Path(__file__).parents[2] / "docs" / "migrate.md"
START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def test_docs_rule_table_is_the_generated_one():
    text = DOCS.read_text()
    committed = text[text.index(START) + len(START) : text.index(END)].strip()
    assert committed == rules_table().strip(), (
        "docs/migrate.md's rule table is stale: replace the text between the markers with "
        "the output of `python -m kfx.migrate --list-rules`"
    )


def test_select_and_ignore_take_ids_and_prefixes():
    assert {r.id for r in select_rules(["K300"])} == {r.id for r in select_rules(["k300"])}
    assert all(r.id.startswith("K31") for r in select_rules(["K31"]))
    assert "K3101" not in {r.id for r in select_rules(ignore=["K3101"])}
    assert unknown_codes(["K31", "K9", "nope"]) == ["K9", "nope"]


def test_a_rule_id_registers_once():
    with pytest.raises(ValueError, match="K3101"):
        register_rule("K3101", "again", nodes=())(lambda node, context: None)


def test_every_rule_section_is_linked_from_the_table():
    table = rules_table()
    assert re.findall(r"\(#(k3\d{3})\)", table) == [
        m.lower() for m in re.findall(r"^### (K3\d{3})$", table, flags=re.M)
    ]
