"""The template's functions, called with API Gateway events: the HTTP contract of DESIGN."""

import base64
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from tests.support import dynamodb_limits
from tests.support.lambdas import (
    ROOT,
    access_token,
    call,
    function_names,
    handler,
    http_event,
    user_pool,
)

SHORTEN = "POST /api/shorten"


def body(response):
    assert isinstance(response["body"], str), "API Gateway refuses a body that is not a string"
    return json.loads(response["body"]) if response["body"] else None


def shorten(payload, **kwargs):
    return call("Shorten", http_event(SHORTEN, "/api/shorten", body=payload, **kwargs))


def redirect(code, **kwargs):
    event = http_event("GET /{code}", f"/{code}", path_parameters={"code": code}, **kwargs)
    return call("Redirect", event)


def analytics(code, **kwargs):
    event = http_event(
        "GET /api/analytics/{code}",
        f"/api/analytics/{code}",
        path_parameters={"code": code},
        **kwargs,
    )
    return call("Analytics", event)


def delete(code, **kwargs):
    event = http_event(
        "DELETE /api/links/{code}", f"/api/links/{code}", path_parameters={"code": code}, **kwargs
    )
    return call("Shorten", event)


def assert_error(response, status, code=None):
    assert response["statusCode"] == status, response
    error = body(response)["error"]
    assert set(error) == {"code", "message"} and error["message"]
    if code is not None:
        assert error["code"] == code


@pytest.mark.parametrize("name", function_names())
def test_every_function_in_the_template_imports(name):
    assert callable(handler(name))


def _function_for(event_file: Path) -> str:
    kebab = {
        name: "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
        for name in function_names()
    }
    matches = [
        name
        for name, prefix in kebab.items()
        if event_file.stem == prefix or event_file.stem.startswith(prefix + "-")
    ]
    assert len(matches) == 1, f"{event_file.name} names no single function"
    return matches[0]


@pytest.mark.parametrize(
    "event_file", sorted((ROOT / "events").glob("*.json")), ids=lambda p: p.name
)
def test_every_event_file_invokes_its_function(aws, event_file):
    result = call(_function_for(event_file), json.loads(event_file.read_text()))

    if isinstance(result, dict) and "statusCode" in result:
        assert result["statusCode"] < 500, result
        assert isinstance(result.get("body", ""), str)


def test_every_function_has_an_event_file():
    covered = {_function_for(path) for path in (ROOT / "events").glob("*.json")}

    assert covered == set(function_names())


def test_shorten_then_redirect(aws):
    created = shorten({"longUrl": "https://example.com/a"})
    again = shorten({"longUrl": "https://example.com/a"})

    assert created["statusCode"] == 201 and again["statusCode"] == 200
    link = body(created)
    assert body(again)["code"] == link["code"]
    assert (
        link["shortUrl"].endswith("/" + link["code"]) and link["longUrl"] == "https://example.com/a"
    )
    assert set(link) == {
        "code",
        "shortUrl",
        "longUrl",
        "createdAt",
        "expiresAt",
        "redirectType",
        "owner",
    }

    response = redirect(link["code"])
    assert response["statusCode"] == 301
    assert response["headers"]["Location"] == "https://example.com/a"
    assert response["headers"]["Cache-Control"] == "private, max-age=60"


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ('{"longUrl": ', "malformed_json", None),
        ({}, "invalid_request", "longUrl"),
        ({"longUrl": 42}, "invalid_request", "longUrl"),
        ({"longUrl": "ftp://example.com/x"}, "invalid_url", "longUrl"),
        ({"longUrl": "https://example.com/" + "a" * 2040}, "url_too_long", "longUrl"),
        ({"longUrl": "https://example.com", "customCode": "api"}, "reserved_code", "customCode"),
        (
            {"longUrl": "https://example.com", "customCode": "a b"},
            "invalid_custom_code",
            "customCode",
        ),
        (
            {"longUrl": "https://example.com", "expiresAt": "2001-01-01T00:00:00Z"},
            "expiry_in_past",
            "expiresAt",
        ),
        (
            {"longUrl": "https://example.com", "expiresAt": "next week"},
            "invalid_expiry",
            "expiresAt",
        ),
        (
            {"longUrl": "https://example.com", "redirectType": 307},
            "invalid_request",
            "redirectType",
        ),
        ({"longUrl": "https://example.com", "surprise": 1}, "invalid_request", "surprise"),
    ],
)
def test_bad_shorten_requests_get_a_400_naming_the_field(aws, payload, code, field):
    response = shorten(payload, user="alice")

    assert_error(response, 400, code)
    if field:
        assert field in body(response)["error"]["message"]


def test_a_taken_custom_code_is_409(aws):
    assert (
        shorten({"longUrl": "https://example.com/a", "customCode": "launch"}, user="alice")[
            "statusCode"
        ]
        == 201
    )

    assert_error(
        shorten({"longUrl": "https://example.com/b", "customCode": "launch"}, user="bob"),
        409,
        "code_taken",
    )


def test_an_unknown_code_is_404(aws):
    assert_error(redirect("Nothere"), 404, "not_found")


def test_link_management_needs_a_token(aws):
    assert_error(call("Shorten", http_event("GET /api/links", "/api/links")), 401, "unauthorized")
    assert_error(delete("whatever"), 401)


def test_a_bad_token_is_401_even_where_anonymous_is_fine(aws):
    response = shorten({"longUrl": "https://example.com/a"}, auth_error="token_expired")

    assert_error(response, 401, "token_expired")


def test_bob_can_neither_delete_nor_read_alices_links(aws):
    code = body(shorten({"longUrl": "https://example.com/a"}, user="alice"))["code"]

    assert_error(delete(code, user="bob"), 403, "forbidden")
    assert_error(analytics(code, user="bob"), 403, "forbidden")
    assert_error(analytics(code), 401)
    assert analytics(code, user="alice")["statusCode"] == 200
    assert delete(code, user="alice")["statusCode"] == 204
    assert_error(redirect(code), 404)


def test_listing_is_paginated_with_an_opaque_cursor(aws):
    for i in range(3):
        shorten({"longUrl": f"https://example.com/{i}"}, user="alice")
    list_event = lambda query: http_event("GET /api/links", "/api/links", user="alice", query=query)  # noqa: E731

    first = body(call("Shorten", list_event({"limit": "2"})))
    second = body(call("Shorten", list_event({"limit": "2", "cursor": first["nextCursor"]})))

    assert len(first["items"]) == 2 and first["nextCursor"]
    assert [i["longUrl"] for i in first["items"] + second["items"]] == [
        "https://example.com/2",
        "https://example.com/1",
        "https://example.com/0",
    ]
    assert_error(call("Shorten", list_event({"cursor": "garbage"})), 400, "invalid_cursor")
    assert_error(call("Shorten", list_event({"limit": "0"})), 400)


@pytest.fixture
def limits_on_a_frozen_clock(monkeypatch, clock):
    """The limiter reads the frozen clock: eleven calls are eleven calls at one instant,
    however long a loaded machine takes to make them (the rule refills one every 6 s)."""
    from relay.platform import cache, ratelimit

    limiter = ratelimit.RateLimiter(cache.redis_client(), clock)
    monkeypatch.setattr(ratelimit, "rate_limiter", lambda: limiter)
    return clock


def test_anonymous_shortening_is_rate_limited_with_headers(aws, limits_on_a_frozen_clock):
    responses = [
        shorten({"longUrl": f"https://example.com/{i}"}, source_ip="192.0.2.7") for i in range(11)
    ]

    assert [r["statusCode"] for r in responses] == [201] * 10 + [429]
    assert responses[0]["headers"]["RateLimit-Limit"] == "10"
    assert responses[0]["headers"]["RateLimit-Remaining"] == "9"
    limited = responses[-1]
    assert_error(limited, 429, "rate_limited")
    assert int(limited["headers"]["Retry-After"]) >= 1
    assert limited["headers"]["RateLimit-Remaining"] == "0"
    # Another client is not held back, and a signed-in user has a budget of their own.
    assert shorten({"longUrl": "https://example.com/x"}, source_ip="192.0.2.8")["statusCode"] == 201
    assert (
        shorten({"longUrl": "https://example.com/y"}, source_ip="192.0.2.7", user="carol")[
            "statusCode"
        ]
        == 201
    )


def test_the_authorizer_passes_the_user_on():
    token = access_token("alice", groups=("operators",))
    event = json.loads((ROOT / "events" / "authorizer.json").read_text())
    event["headers"]["authorization"] = f"Bearer {token}"

    answer = call("Authorizer", event)

    assert answer["isAuthorized"] is True
    context = answer["context"]
    assert (context["userId"], context["authError"], context["groups"]) == (
        "alice",
        "",
        "operators",
    )
    assert context["issuedAt"].isdigit()


def test_the_authorizer_fetches_the_key_set_once(cognito_keys):
    event = json.loads((ROOT / "events" / "authorizer.json").read_text())
    authorize = handler("Authorizer")
    for n in range(5):
        event["headers"]["authorization"] = f"Bearer {access_token(f'user{n}')}"
        assert authorize(event, None)["context"]["userId"] == f"user{n}"

    assert cognito_keys.fetches == 1


def _connect_event(token):
    event = json.loads((ROOT / "events" / "authorizer-connect.json").read_text())
    if token is None:
        event["queryStringParameters"] = {}
        event["multiValueQueryStringParameters"] = {}
    else:
        event["queryStringParameters"] = {"token": token}
    return event


def test_a_websocket_connect_with_a_valid_token_is_allowed_for_its_user():
    event = _connect_event(access_token("bob"))

    answer = call("Authorizer", event)

    assert answer["principalId"] == "bob"
    assert answer["context"]["userId"] == "bob"
    assert answer["context"]["issuedAt"].isdigit()
    statement = answer["policyDocument"]["Statement"][0]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": event["methodArn"],
    }


@pytest.mark.parametrize(
    "token",
    [None, "", "not-a-jwt", "forged", "expired", "id token", "another client", "surrogate"],
)
def test_a_websocket_connect_without_a_valid_token_is_refused_with_401(token):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.support.accounts import claims, mint

    made = {
        "forged": lambda: mint(
            claims(*user_pool(), "bob"),
            key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ),
        "expired": lambda: access_token("bob", iat=1_000_000, exp=1_000_060),
        "id token": lambda: access_token("bob", token_use="id"),
        "another client": lambda: access_token("bob", client_id="another"),
        "surrogate": lambda: access_token("\ud800"),
    }
    if token in made:
        token = made[token]()

    # API Gateway answers 401 when the authorizer fails with exactly "Unauthorized".
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        call("Authorizer", _connect_event(token))


def test_the_committed_openapi_document_is_current():
    from relay_local.cli import main

    assert main(["openapi", "--check", "--template", str(ROOT / "template.yaml")]) == 0


def test_a_json_body_is_read_whatever_content_type_the_client_sent(aws):
    # `curl -d '{...}'` labels its JSON application/x-www-form-urlencoded.
    event = http_event(SHORTEN, "/api/shorten", body={"longUrl": "https://example.com/curl"})
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"

    response = call("Shorten", event)

    assert response["statusCode"] == 201
    assert body(response)["longUrl"] == "https://example.com/curl"


def test_custom_codes_need_a_token(aws):
    response = shorten({"longUrl": "https://example.com/a", "customCode": "squat"})

    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "url",
    [
        "http://[x",
        "http://[::1",
        "http://a]b/",
        "http://ex\uff03ample.com/",
        "https://example.com/\x00x",
        "https://example.com/\x7fx",
    ],
)
def test_urls_that_cannot_be_parsed_or_sent_back_are_a_400(aws, url):
    assert_error(shorten({"longUrl": url}, user="alice"), 400, "invalid_url")


def test_non_ascii_urls_are_stored_as_ascii_and_redirect(aws):
    link = body(shorten({"longUrl": "https://bücher.example/straße?q=ü"}, user="alice"))

    assert link["longUrl"] == "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC"
    assert redirect(link["code"])["headers"]["Location"] == link["longUrl"]


def test_an_expiry_past_year_9999_is_a_400_and_stores_nothing(aws):
    response = shorten(
        {"longUrl": "https://example.com/far", "expiresAt": "9999-12-31T23:00:00-05:00"},
        user="alice",
    )

    assert_error(response, 400, "invalid_expiry")
    listed = call("Shorten", http_event("GET /api/links", "/api/links", user="alice"))
    assert body(listed)["items"] == []


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        base64.urlsafe_b64encode(b"[" * 5_000 + b"]" * 5_000).decode(),
        base64.urlsafe_b64encode(json.dumps(["alice", "2026", "x" * 2_000]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"pk": {"S": "LINK#abc"}}).encode()).decode(),
    ],
)
def test_a_tampered_cursor_is_a_400(aws, cursor):
    event = http_event("GET /api/links", "/api/links", user="alice", query={"cursor": cursor})

    assert_error(call("Shorten", event), 400, "invalid_cursor")


def test_a_body_that_is_not_utf8_is_a_400(aws):
    import base64

    event = http_event(SHORTEN, "/api/shorten")
    event["body"] = base64.b64encode(b"\x80\x81").decode()
    event["isBase64Encoded"] = True

    assert_error(call("Shorten", event), 400, "malformed_json")


def test_error_responses_on_limited_routes_carry_the_rate_limit_headers(aws):
    missing = analytics("Nothere", user="alice")
    unknown = redirect("Nothere")

    assert missing["statusCode"] == 404 and missing["headers"]["RateLimit-Limit"] == "300"
    assert unknown["statusCode"] == 404 and unknown["headers"]["RateLimit-Limit"] == "600"


def test_a_redis_that_answers_with_errors_fails_open(aws, monkeypatch):
    import redis

    from relay.platform import cache, ratelimit
    from relay.shortener import service

    class ReadOnlyReplica(redis.Redis):
        def execute_command(self, *args, **options):
            raise redis.ReadOnlyError("You can't write against a read only replica.")

    code = body(shorten({"longUrl": "https://example.com/failover"}, user="alice"))["code"]
    monkeypatch.setattr(cache, "redis_client", lambda: ReadOnlyReplica())
    monkeypatch.setattr(ratelimit, "redis_client", lambda: ReadOnlyReplica())
    ratelimit.rate_limiter.cache_clear()
    cache.redis_gate.cache_clear()
    service.redirects.cache_clear()
    service.links.cache_clear()
    created = {}

    def during_failover():
        created.update(shorten({"longUrl": "https://example.com/during-failover"}, user="alice"))

    try:
        followed = redirect(code)
        fail_open = metrics_logged(during_failover)
    finally:
        ratelimit.rate_limiter.cache_clear()
        cache.redis_gate.cache_clear()
        service.redirects.cache_clear()
        service.links.cache_clear()

    assert followed["statusCode"] == 301
    assert created["statusCode"] == 201
    assert "RateLimit-Limit" not in created["headers"]  # nothing was counted
    assert fail_open == ["RedisFailOpen"]


def head(code, **kwargs):
    event = http_event("HEAD /{code}", f"/{code}", path_parameters={"code": code}, **kwargs)
    return call("Redirect", event)


def test_a_lone_surrogate_in_the_url_is_a_400_for_anonymous_callers_too(aws):
    response = shorten('{"longUrl": "https://a.com/\\ud800"}')

    assert_error(response, 400, "invalid_url")


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 5_000 + "]" * 5_000,  # past Python's recursion limit
        '{"longUrl": ' + "[" * 200 + "]" * 200 + "}",  # parses, but no validator should walk it
    ],
)
def test_a_body_nested_past_reason_is_a_400(aws, payload):
    assert_error(shorten(payload, user="alice"), 400, "malformed_json")


def test_a_body_over_64_kib_is_a_413(aws):
    payload = json.dumps({"longUrl": "https://example.com/", "pad": "x" * 70_000})

    assert_error(shorten(payload, user="alice"), 413, "too_large")


def test_a_body_sent_with_a_get_is_ignored(aws):
    event = http_event("GET /api/links", "/api/links", user="alice", body="[" * 5_000)

    assert call("Shorten", event)["statusCode"] == 200


def test_an_unrouted_request_is_a_404_whatever_its_body(aws):
    event = http_event("$default", "/api/nowhere", body="[" * 5_000)
    event["requestContext"]["http"]["method"] = "POST"

    assert_error(call("Shorten", event), 404, "not_found")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"longUrl": "https://example.com", "redirectType": "301"}, None),
        ({"longUrl": "https://example.com", "redirectType": 301.5}, None),
        ({"longUrl": "https://example.com", "redirectType": True}, None),
        ({"longUrl": "https://paypal.com@evil.example/"}, "credentials_in_url"),
        ({"longUrl": "https://faß.de/", "customCode": "\ud800abcd"}, "invalid_custom_code"),
        ({"longUrl": "https://example.com", "expiresAt": "0001-01-01T00:00:00+14:00"}, None),
        ({"longUrl": "https://example.com", "expiresAt": 1_800_000_000}, None),
        ({"longUrl": ["https://example.com"]}, None),
        ({"longUrl": "https://a\u200db.example/"}, "invalid_url"),
    ],
)
def test_odd_values_in_a_shorten_request_are_a_400(aws, payload, code):
    assert_error(shorten(payload, user="alice"), 400, code)


def test_a_redirect_type_of_301_point_0_is_stored_as_301_or_refused_never_a_500(aws):
    created = shorten('{"longUrl": "https://example.com/f", "redirectType": 301.0}', user="alice")

    assert created["statusCode"] in (201, 400)
    if created["statusCode"] == 201:
        assert redirect(body(created)["code"])["statusCode"] == 301


def test_a_link_to_the_api_itself_is_refused(aws):
    event = json.loads((ROOT / "events" / "shorten.json").read_text())
    own = event["requestContext"]["domainName"]

    response = shorten({"longUrl": f"https://{own.upper()}/Ab3dE9x"}, user="alice")

    assert_error(response, 400, "self_link")


def test_a_link_to_the_configured_short_domain_is_refused(aws, monkeypatch):
    from relay.platform import config

    monkeypatch.setenv("SHORT_BASE_URL", "https://rly.example")
    config.settings.cache_clear()
    try:
        response = shorten({"longUrl": "https://rly.example/Ab3dE9x"}, user="alice")
    finally:
        monkeypatch.delenv("SHORT_BASE_URL")
        config.settings.cache_clear()

    assert_error(response, 400, "self_link")


def test_international_urls_keep_the_host_browsers_go_to(aws):
    link = body(shorten({"longUrl": "https://faß.de/"}, user="alice"))

    assert link["longUrl"] == "https://xn--fa-hia.de/"
    assert redirect(link["code"])["headers"]["Location"] == "https://xn--fa-hia.de/"


@pytest.mark.parametrize("code", ["x" * 3_000, "no such", "\u00fcberall", "a%2Fb"])
def test_codes_no_link_can_have_are_a_404_on_every_route(aws, code):
    # As strict as DynamoDB: a key over 2,048 bytes is a ValidationException there.
    with dynamodb_limits.enforced():
        assert_error(redirect(code), 404)
        assert head(code)["statusCode"] == 404
        assert_error(analytics(code, user="alice"), 404)
        assert_error(delete(code, user="alice"), 404)


def test_deleting_twice_gives_204_then_404(aws):
    code = body(shorten({"longUrl": "https://example.com/twice"}, user="alice"))["code"]

    assert delete(code, user="alice")["statusCode"] == 204
    assert_error(delete(code, user="alice"), 404)


def clicks_logged(run):
    out = io.StringIO()
    with redirect_stdout(out):
        response = run()
    lines = [json.loads(line) for line in out.getvalue().splitlines() if '"kind":"click"' in line]
    return response, lines


@pytest.mark.parametrize("redirect_type", [301, 302])
def test_head_answers_exactly_like_get_without_a_body_or_a_click(aws, redirect_type):
    code = body(
        shorten({"longUrl": "https://example.com/h", "redirectType": redirect_type}, user="a")
    )["code"]

    got, get_clicks = clicks_logged(lambda: redirect(code, source_ip="192.0.2.1"))
    headed, head_clicks = clicks_logged(lambda: head(code, source_ip="192.0.2.2"))

    assert headed["statusCode"] == got["statusCode"] == redirect_type
    assert headed["headers"] == got["headers"]  # Location, Cache-Control, RateLimit-*
    assert headed["body"] == ""
    assert len(get_clicks) == 1 and head_clicks == []


def test_head_of_an_unknown_code_is_a_404_without_a_body(aws):
    response = head("Nothere")

    assert response["statusCode"] == 404 and response["body"] == ""
    assert response["headers"]["RateLimit-Limit"] == "600"


def test_an_unexpected_error_in_the_redirect_is_designs_500_with_the_request_id(monkeypatch):
    from relay.shortener import redirects

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(redirects.Redirects, "resolve", broken)

    response = redirect("Ab3dE9x")

    assert_error(response, 500, "internal_error")
    assert "CsWtSg2ZIAMEPxQ=" in body(response)["error"]["message"]


def test_the_click_line_trusts_the_country_header_only_behind_cloudfront(aws, monkeypatch):
    from relay.platform import config
    from relay.shortener import service

    code = body(shorten({"longUrl": "https://example.com/c"}, user="alice"))["code"]
    headers = {"cloudfront-viewer-country": "de"}
    _, untrusted = clicks_logged(lambda: redirect(code, headers=headers))
    # A process started behind CloudFront: settings read again, the redirect made again.
    monkeypatch.setenv("BEHIND_CLOUDFRONT", "true")
    config.settings.cache_clear()
    service.redirects.cache_clear()
    try:
        _, trusted = clicks_logged(lambda: redirect(code, headers=headers))
    finally:
        monkeypatch.delenv("BEHIND_CLOUDFRONT")
        config.settings.cache_clear()
        service.redirects.cache_clear()

    assert untrusted[0]["country"] == "" and trusted[0]["country"] == "DE"
    assert untrusted[0]["cache"] == "hit"


def metrics_logged(run):
    out = io.StringIO()
    with redirect_stdout(out):
        run()
    return [
        name
        for line in out.getvalue().splitlines()
        if line.startswith("{") and "_aws" in line
        for name in json.loads(line)
        if name in ("RateLimited", "RedisFailOpen")
    ]


def test_rate_limited_requests_are_counted_as_a_metric(aws, limits_on_a_frozen_clock):
    for i in range(10):
        shorten({"longUrl": f"https://example.com/{i}"}, source_ip="192.0.2.9")

    names = metrics_logged(
        lambda: shorten({"longUrl": "https://example.com/x"}, source_ip="192.0.2.9")
    )

    assert names == ["RateLimited"]


def test_a_body_with_a_key_twice_is_read_as_json_parsers_do_the_last_one_wins(aws):
    payload = '{"longUrl": "https://example.com/first", "longUrl": "https://example.com/last"}'

    created = shorten(payload, user="alice")

    assert created["statusCode"] == 201 and body(created)["longUrl"] == "https://example.com/last"


@pytest.mark.parametrize("limit", ["abc", "1e2", "-1", "101", "\u0663", "9" * 5_000, ""])
def test_a_limit_that_is_not_a_number_from_1_to_100_is_a_400_or_the_default(aws, limit):
    event = http_event("GET /api/links", "/api/links", user="alice", query={"limit": limit})

    response = call("Shorten", event)

    assert response["statusCode"] in (200, 400), response
