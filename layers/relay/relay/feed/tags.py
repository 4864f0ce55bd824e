"""Mentions and hashtags: the one rule that finds them in a post's or a comment's text.

The text is read as NFKC (so a full-width at sign or number sign counts like the plain
one). A mention is `@` and a handle, not preceded by a word character or `@` (so an
email address is no mention); it counts only when accounts' handle rule accepts it
(relay.accounts.handles) and is then resolved to the person (by the caller, who has
the directory). A hashtag is `#` and a run of word characters, not preceded by a word
character, `#` or `&` (`&#38;` is no tag), not all digits (`#1` is a number), case-folded.
Each list keeps first-seen order, each entry once, at most MAX_TAGS (relay.feed.rules).

Found once, when the text is written, and stored with it: the posts and comments
tables' streams carry them to the notification and search systems (durable, ordered,
retried), so nothing is told by a call that could be lost.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from relay.accounts.handles import is_valid, normalize
from relay.feed import rules as feed_rules

_MENTION = re.compile(r"(?<![\w@])@(\w+)")
_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")


@dataclass(frozen=True)
class Tags:
    handles: list[str]  # normalized, not yet resolved to people
    hashtags: list[str]


def _first(found: list[str]) -> list[str]:
    return list(dict.fromkeys(found))[: feed_rules.MAX_TAGS]


def parse(text: str) -> Tags:
    plain = unicodedata.normalize("NFKC", text)
    handles = [normalize(m) for m in _MENTION.findall(plain) if is_valid(m)]
    hashtags = [
        unicodedata.normalize("NFKC", tag.casefold())
        for tag in _HASHTAG.findall(plain)
        if not tag.isdigit() and len(tag) <= feed_rules.MAX_HASHTAG
    ]
    return Tags(_first(handles), _first(hashtags))
