"""Mentions and hashtags are found by one rule (relay.feed.tags)."""

from __future__ import annotations

import pytest

from relay.feed import rules
from relay.feed.tags import parse


@pytest.mark.parametrize(
    ("text", "handles", "hashtags"),
    [
        ("hi @Alice and @bob_2, #Relay #relay #2026", ["alice", "bob_2"], ["relay"]),
        ("mail me: x@example.com", [], []),
        ("\uff20carol \uff03Caf\u00e9", ["carol"], ["café"]),
        ("@me is reserved, @ab too short, @@dave doubled", [], []),
        ("&#38; is an entity, a#b is a word, #tag_one!", [], ["tag_one"]),
    ],
)
def test_mentions_and_hashtags_are_found_by_one_rule(text, handles, hashtags):
    found = parse(text)

    assert (found.handles, found.hashtags) == (handles, hashtags)


def test_a_text_keeps_at_most_max_tags_of_each():
    many = " ".join(f"@user{n:03d} #tag{n}" for n in range(rules.MAX_TAGS + 5))

    found = parse(many)

    assert len(found.handles) == len(found.hashtags) == rules.MAX_TAGS
