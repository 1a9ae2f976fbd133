"""kfx.templates._listing: names in error messages, quoted and capped."""

from kfx.templates._listing import MAX_LISTED, listing


def test_names_are_quoted_and_joined():
    assert listing(["dense", "conv/kernel"]) == "'dense', 'conv/kernel'"
    assert listing(iter([1, 2])) == "1, 2"
    assert listing([]) == "(none)"


def test_long_lists_say_how_many_more():
    names = [f"layer_{i}" for i in range(MAX_LISTED + 7)]
    text = listing(names)
    assert text.endswith(f"'layer_{MAX_LISTED - 1}', ... and 7 more")
    assert f"'layer_{MAX_LISTED}'" not in text
    assert listing(names[:MAX_LISTED]).count("'") == 2 * MAX_LISTED
