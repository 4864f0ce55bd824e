"""What the sign-up triggers accept before anything reaches a key: the event's shape, the
user id, the handle attribute; and the limits of a profile's text."""

from __future__ import annotations

import pytest

from relay.accounts.profiles import profile_text
from relay.accounts.registration import SignUpRefused, check_sub, handle_of, trigger_of
from relay.platform.errors import Invalid

EVENT = {
    "triggerSource": "PreSignUp_SignUp",
    "userPoolId": "us-east-1_x",
    "userName": "4f8e2a1c-9b3d-4e6f-a7c8-1d2e3f4a5b6c",
    "request": {"userAttributes": {"preferred_username": "ada", "custom:n": 7}},
}


def test_a_trigger_event_is_read_into_plain_values():
    trigger = trigger_of(EVENT)

    assert trigger.source == "PreSignUp_SignUp"
    assert trigger.sub == "4f8e2a1c-9b3d-4e6f-a7c8-1d2e3f4a5b6c"
    assert trigger.attributes == {"preferred_username": "ada"}  # only strings, as Cognito sends


def test_the_sub_attribute_wins_over_the_user_name():
    event = {**EVENT, "request": {"userAttributes": {"sub": "the-sub"}}}

    assert trigger_of(event).sub == "the-sub"


@pytest.mark.parametrize(
    "event",
    [None, [], "x", {}, {**EVENT, "userPoolId": None}, {**EVENT, "triggerSource": 1}],
)
def test_what_is_not_a_trigger_event_is_refused(event):
    with pytest.raises(SignUpRefused):
        trigger_of(event)


def test_missing_attributes_read_as_none():
    assert trigger_of({**EVENT, "request": {}}).attributes == {}


@pytest.mark.parametrize("sub", ["", "x" * 129, "a\ud800", "a b\n", "a#b", "\u00e9", None, 7])
def test_a_user_id_that_cannot_be_a_key_is_refused(sub):
    with pytest.raises(Invalid):
        check_sub(sub)


def test_a_missing_handle_says_which_attribute_to_send():
    with pytest.raises(Invalid) as refused:
        handle_of(None)

    assert "preferred_username" in refused.value.message


@pytest.mark.parametrize(
    ("text", "field"),
    [("x" * 51, "displayName"), ("x" * 281, "bio"), ("a\u202eb", "bio"), ("a\nb", "displayName")],
)
def test_profile_text_beyond_its_rule_is_refused_naming_the_field(text, field):
    with pytest.raises(Invalid) as refused:
        profile_text(text, field)

    assert refused.value.message.startswith(field)


def test_profile_text_is_trimmed_and_may_hold_emoji_sequences_and_a_bios_line_breaks():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"

    assert profile_text(f"  Ada {family} ", "displayName") == f"Ada {family}"
    assert profile_text("line one\nline two", "bio") == "line one\nline two"
