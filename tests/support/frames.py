"""Frames a WebSocket client could send, for property-based tests: valid frames with
one field made nasty, frames near the protocol's shape with every field drawn, and
anything else that is text on a socket. Text includes lone surrogates (JSON's
"\\ud800"), as a client's JSON encoder may send them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

_SURROGATES = ["\ud800", "a\udc00b", "\udbff\udbff"]
_TEXT = st.one_of(
    st.sampled_from(_SURROGATES),
    st.builds(lambda a, b: a + "\ud800" + b, st.text(max_size=5), st.text(max_size=5)),
    st.text(max_size=80),
    st.sampled_from(["", " ", "x" * 5000, "\x00", "\u202e", "g" + "0" * 32, "att_" + "0" * 32]),
)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _TEXT)
_ANY = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def frames(conversation_id: str) -> st.SearchStrategy[str]:
    """Valid frames with one field made nasty (a field checked last seldom meets a
    nasty value otherwise), frames near the protocol's shape with every field drawn,
    and anything else that is text on a socket."""
    valid: dict[str, dict[str, Any]] = {
        "sendMessage": {
            "conversationId": conversation_id,
            "content": "hi",
            "clientMessageId": "c-1",
            "attachments": [],
        },
        "typing": {"conversationId": conversation_id},
        "read": {"conversationId": conversation_id, "seq": 1},
    }
    one_nasty = st.builds(
        lambda action, pick, value: {
            "action": action,
            **valid[action],
            sorted(valid[action])[pick % len(valid[action])]: value,
        },
        st.sampled_from(sorted(valid)),
        st.integers(min_value=0, max_value=3),
        st.one_of(_TEXT, _ANY),
    )
    field = {
        "conversationId": st.one_of(st.just(conversation_id), _ANY),
        "content": _ANY,
        "clientMessageId": _ANY,
        "attachments": st.one_of(st.lists(_TEXT, max_size=12), _ANY),
        "seq": st.one_of(st.integers(min_value=-2, max_value=10**20), _ANY),
    }
    action = st.one_of(st.sampled_from(["sendMessage", "typing", "read", "sync", "ping"]), _TEXT)
    shaped = st.builds(
        lambda a, fields: {"action": a, **fields},
        action,
        st.fixed_dictionaries({}, optional=field),
    )
    as_json = st.one_of(one_nasty, one_nasty, shaped, _ANY).map(json.dumps)  # as escapes
    return st.one_of(as_json, _TEXT)
