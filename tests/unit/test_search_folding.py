"""How search compares text: folded case and accents, words, hashtags, one typo."""

from __future__ import annotations

import pytest

from relay.search.folding import fold, hashtags, typo_variants, within_one_edit, words
from relay.search.suggest import Query


def test_case_and_accents_fold_to_the_same_text():
    assert fold("Zoë") == fold("ZOE") == "zoe"
    assert fold("Saldaña") == "saldana"
    assert words("Zoë  Saldaña, zoe!") == ["zoe", "saldana"]


def test_hashtags_are_found_folded_and_once():
    assert hashtags("Ship it #Rust #rust and #Café, not a#tag nor #2026") == ["rust", "cafe"]


@pytest.mark.parametrize(
    ("typed", "target", "forgiven"),
    [
        ("salda", "saldana", True),  # a prefix
        ("saldna", "saldana", True),  # one left out
        ("saldanna", "saldana", True),  # one too many
        ("salsana", "saldana", True),  # one replaced
        ("slsana", "saldana", False),  # two
        ("zoa", "zoe", False),  # short words are not forgiven
    ],
)
def test_one_typo_is_forgiven_in_words_of_five_or_more(typed, target, forgiven):
    assert within_one_edit(typed, target) is forgiven


def test_a_typed_word_meets_its_term_under_some_key():
    """Whatever the one typo, one of the query's keys is a key the term is indexed under."""
    from relay.search.index import term_keys

    for typed in ("saldna", "saldanna", "salsana", "saldanaa"):
        exact, typo = Query.of(typed).keys()
        assert set(exact + typo) & set(term_keys(["saldana"])), typed
    assert "saldana"[:5] in {v[:5] for v in typo_variants("saldana")} | {"salda"}
