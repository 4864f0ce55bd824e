"""How text is compared: case and accent folded, split into words, hashtags found.

`fold("Zoë")` is `"zoe"`: NFKD takes accents apart and the combining marks are dropped,
then case is folded. Every term is folded once when indexed and every query once when
asked, so `zoe`, `ZOE` and `Zoë` meet on the same keys.

The feed on main parses no hashtags yet, so the rule is here: `#` then 1 to 50 letters,
digits or `_` (a number alone is not a tag), as most networks read them.
"""

from __future__ import annotations

import re
import unicodedata

from relay.search import rules

_WORD = re.compile(r"[^\W_]+(?:_[^\W_]+)*|_+[^\W_]+", re.UNICODE)
_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,50})", re.UNICODE)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold()


def words(text: str) -> list[str]:
    """The folded words of `text`, in order, duplicates kept once."""
    return list(dict.fromkeys(_WORD.findall(fold(text))))


def hashtags(content: str) -> list[str]:
    """The folded hashtags of a post, duplicates kept once."""
    found = (fold(tag) for tag in _HASHTAG.findall(content))
    return list(dict.fromkeys(tag for tag in found if not tag.isdigit()))


def prefixes(term: str) -> list[str]:
    """The prefixes of a term the index keeps: 1 to PREFIX_MAX characters."""
    return [term[:size] for size in range(1, min(len(term), rules.PREFIX_MAX) + 1)]


def deletions(text: str) -> set[str]:
    """Every string one deletion away from `text`."""
    return {text[:i] + text[i + 1 :] for i in range(len(text))}


def typo_variants(term: str) -> set[str]:
    """The deletion neighbourhood a term is indexed under: each of its prefixes of
    TYPO_MIN to PREFIX_MAX + 1 characters with one character deleted."""
    found: set[str] = set()
    for size in range(rules.TYPO_MIN, min(len(term), rules.PREFIX_MAX + 1) + 1):
        found |= deletions(term[:size])
    return found


def within_one_edit(typed: str, target: str) -> bool:
    """Whether `typed` is a prefix of `target` with at most one edit (a deletion, an
    insertion or a substitution): what a suggestion forgives."""
    if target.startswith(typed):
        return True
    if len(typed) < rules.TYPO_MIN:
        return False
    for i, char in enumerate(typed):
        if i >= len(target) or target[i] != char:
            rest = typed[i + 1 :]
            return (
                target[i + 1 :].startswith(rest)  # one character replaced
                or target[i:].startswith(rest)  # one character too many
                or target[i + 1 :].startswith(typed[i:])  # one character left out
            )
    return False
