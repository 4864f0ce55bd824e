"""The handle rule, written once (relay.accounts.handles): what a handle is, and the
look-alikes it refuses rather than makes into second people."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.accounts.handles import MAX_LENGTH, MIN_LENGTH, RESERVED, is_valid, normalize
from relay.platform.errors import Invalid


@pytest.mark.parametrize(
    ("raw", "handle"),
    [
        ("alice", "alice"),
        ("ALICE", "alice"),
        ("Ada_Lovelace", "ada_lovelace"),
        ("\uff21\uff2c\uff29\uff23\uff25", "alice"),  # full-width letters: NFKC
        ("\u2460\u2461\u2462", "123"),  # circled digits: NFKC
        ("stra\u00dfe", "strasse"),  # sharp s folds to ss
        ("\u212aelvin", "kelvin"),  # the Kelvin sign is a K
        ("abc", "abc"),
        ("a" * MAX_LENGTH, "a" * MAX_LENGTH),
        ("___", "___"),
        ("007", "007"),
    ],
)
def test_a_handle_is_compared_after_nfkc_and_case_folding(raw, handle):
    assert normalize(raw) == handle


@pytest.mark.parametrize(
    "raw",
    [
        "ab",  # too short
        "a" * (MAX_LENGTH + 1),  # too long
        "a" * 10_000,  # huge
        "bob\u200b",  # zero-width space
        "bo\u200db",  # zero-width joiner
        "\u202eevil",  # right-to-left override
        "bob\u2066",  # bidi isolate
        " bob",  # space
        "bob\n",
        "a-b",
        "a.b",
        "a/b",
        "a#b",
        "\U0001f600\U0001f600\U0001f600",  # emoji
        "bad\ud800",  # lone surrogate
        "\udfff\udfff\udfff",
        "\u0430lice",  # Cyrillic a: a look-alike, not a-z
        "caf\u00e9",  # e with acute stays outside a-z
        "",
    ],
)
def test_look_alikes_and_breakers_of_the_rule_are_invalid_handles(raw):
    with pytest.raises(Invalid) as refused:
        normalize(raw)

    assert refused.value.status == 400 and refused.value.code == "invalid_handle"
    assert f"{MIN_LENGTH} to {MAX_LENGTH}" in refused.value.message


@pytest.mark.parametrize("raw", [None, 7, 7.5, ["alice"], {"h": "alice"}, b"alice", True])
def test_anything_but_a_string_is_an_invalid_handle(raw):
    with pytest.raises(Invalid) as refused:
        normalize(raw)

    assert refused.value.code == "invalid_handle"


@pytest.mark.parametrize(
    "raw", ["admin", "ADMIN", "Relay", "\uff52\uff4f\uff4f\uff54", "operators"]
)
def test_reserved_words_are_refused_in_any_case_or_width(raw):
    with pytest.raises(Invalid) as refused:
        normalize(raw)

    assert refused.value.code == "handle_reserved"
    assert "reserved" in refused.value.message


def test_every_reserved_word_is_written_in_normal_form_and_refused():
    # A reserved word the rule could never produce would guard nothing.
    for word in RESERVED:
        assert set(word) <= set("abcdefghijklmnopqrstuvwxyz0123456789_"), word
        with pytest.raises(Invalid) as refused:
            normalize(word.upper())
        expected = "handle_reserved" if len(word) >= MIN_LENGTH else "invalid_handle"
        assert refused.value.code == expected, word


@given(st.text(max_size=200))
def test_normalize_either_refuses_or_returns_a_handle_that_is_its_own_normal_form(raw):
    try:
        handle = normalize(raw)
    except Invalid as refused:
        assert refused.status == 400
        return
    assert normalize(handle) == handle
    assert MIN_LENGTH <= len(handle) <= MAX_LENGTH
    assert set(handle) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")
    assert is_valid(raw)
