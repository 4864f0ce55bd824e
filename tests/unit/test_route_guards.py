"""Every route of the template is rate limited as relay.platform.ratelimit.GUARDS says, or
deliberately not (UNGUARDED): a new route cannot slip in unguarded by omission."""

from __future__ import annotations

import pytest

from relay.platform import ratelimit
from tests.conftest import TEMPLATE


@pytest.fixture(scope="module")
def model():
    from relay_local.template.build import build_model

    return build_model(TEMPLATE, moto_url="http://127.0.0.1:1")


def _known(route_key: str) -> bool:
    return ratelimit.guard(route_key) is not None or route_key in ratelimit.UNGUARDED


def test_every_http_route_of_the_template_is_guarded_or_deliberately_not(model):
    unlisted = [
        r.route_key for r in model.routes if r.path != "$default" and not _known(r.route_key)
    ]

    assert unlisted == []


def test_every_websocket_route_of_the_template_is_guarded_or_deliberately_not(model):
    unlisted = [
        route.route_key
        for api in model.websocket_apis
        for route in api.routes
        if not _known(route.route_key)
    ]

    assert unlisted == []


def test_every_guard_names_rules_that_exist_and_a_route_that_exists(model):
    http = {r.route_key for r in model.routes}
    actions = {route.route_key for api in model.websocket_apis for route in api.routes}
    for key, guard in ratelimit.GUARDS.items():
        names = [name for name in (guard.anonymous, guard.user, guard.connection) if name]
        assert names and all(name in ratelimit.RULES for name in names), key
        assert any(ratelimit.guard(route) is guard for route in http | actions), key


def test_a_signed_in_caller_is_limited_per_user_and_an_anonymous_one_per_address():
    shorten = ratelimit.guard("POST /api/shorten")
    assert shorten is not None

    assert [(r.name, who) for r, who in shorten.checks(user_id="u1", source_ip="192.0.2.1")] == [
        ("shorten-user", "u1")
    ]
    assert [(r.name, who) for r, who in shorten.checks(user_id=None, source_ip="192.0.2.1")] == [
        ("shorten-anonymous", "192.0.2.1")
    ]


def test_a_frame_is_limited_per_connection_and_per_user():
    frame = ratelimit.guard("sendMessage")
    assert frame is not None

    checks = frame.checks(user_id="u1", connection_id="c1")

    assert [(r.name, who) for r, who in checks] == [("chat-user", "u1"), ("chat-connection", "c1")]


def test_path_parameters_may_be_named_as_the_handler_names_them():
    assert ratelimit.guard("GET /api/posts/{post_id}") is ratelimit.guard("GET /api/posts/{postId}")
