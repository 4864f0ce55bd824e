"""The URL shortener end to end: `relay run` on free ports with the real template.yaml,
spoken to over HTTP as a user would (curl's view of the world)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.support.accounts import sub_of
from tests.support.stack import Stack, eventually, relay

ROOT = Path(__file__).resolve().parents[2]
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def start(state_dir: Path) -> Stack:
    return Stack(ROOT, state_dir, env={"REDIS_URL": os.environ["RELAY_E2E_REDIS_URL"]})


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    redis.Redis.from_url(os.environ["RELAY_E2E_REDIS_URL"]).flushdb()
    return tmp_path_factory.mktemp("relay-state")


@pytest.fixture(scope="module")
def stack(state_dir: Path) -> Iterator[Stack]:
    running = start(state_dir)
    try:
        yield running
    finally:
        running.stop()


def token(stack: Stack, handle: str) -> dict[str, str]:
    """A Cognito access token of a local user with this handle (`relay token`)."""
    made = relay("token", handle, "--state-dir", str(stack.state_dir), cwd=ROOT)
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip()}"}


def from_address(stack: Stack, address: str) -> httpx.Client:
    """A client whose requests come from another loopback address (another source IP)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=str(stack.http.base_url), transport=transport, timeout=30)


def error_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]  # type: ignore[no-any-return]


def test_shortening_twice_gives_the_same_code_and_it_redirects(stack: Stack) -> None:
    with from_address(stack, "127.0.0.11") as client:
        created = client.post("/api/shorten", content='{"longUrl":"https://example.com/a"}')
        again = client.post("/api/shorten", content='{"longUrl":"https://example.com/a"}')

    assert created.status_code == 201 and again.status_code == 200
    code = created.json()["code"]
    assert len(code) == 7 and again.json()["code"] == code
    assert created.json()["shortUrl"] == f"http://127.0.0.1:{stack.info['http_port']}/{code}"

    followed = stack.http.get(f"/{code}")

    assert followed.status_code == 301
    assert followed.headers["location"] == "https://example.com/a"
    assert followed.headers["cache-control"] == "private, max-age=60"


def test_head_answers_like_get_without_a_body_or_a_click(stack: Stack) -> None:
    code = stack.http.post("/api/shorten", json={"longUrl": "https://example.com/head"}).json()[
        "code"
    ]

    checked = stack.http.head(f"/{code}")
    followed = stack.http.get(f"/{code}")

    assert checked.status_code == followed.status_code == 301
    assert checked.headers["location"] == followed.headers["location"] == "https://example.com/head"
    assert checked.content == b""
    assert stack.http.head("/Zz9Zz9Z").status_code == 404
    eventually(
        lambda: stack.http.get(f"/api/analytics/{code}").json()["clicks"] == 1,
        timeout=20,
        what="the GET's click",
    )
    click_lines = [line for line in stack.output() if '"kind":"click"' in line and code in line]
    assert len(click_lines) == 1


def test_a_click_shows_in_the_analytics_within_seconds(stack: Stack) -> None:
    code = stack.http.post("/api/shorten", json={"longUrl": "https://example.com/clicked"}).json()[
        "code"
    ]
    headers = {
        "Referer": "https://www.news.example/story",
        "User-Agent": IPHONE,
        "CloudFront-Viewer-Country": "DE",
    }

    assert stack.http.get(f"/{code}", headers=headers).status_code == 301

    def counted() -> dict[str, object] | None:
        body = stack.http.get(f"/api/analytics/{code}").json()
        return body if body["clicks"] == 1 else None

    analytics = eventually(counted, timeout=20, what="the click in the analytics")
    assert analytics["referrers"] == {"news.example": 1}
    # A client set that header; nothing in front of the local API vouches for it.
    assert analytics["countries"] == {"unknown": 1}
    assert analytics["devices"] == {"mobile": 1}
    assert sum(analytics["daily"].values()) == 1  # type: ignore[attr-defined]


def test_a_user_manages_their_own_links(stack: Stack) -> None:
    alice, bob = token(stack, "alice"), token(stack, "bob")
    custom = stack.http.post(
        "/api/shorten",
        headers=alice,
        json={
            "longUrl": "https://example.com/launch",
            "customCode": "launch-day",
            "redirectType": 302,
            "expiresAt": "2099-01-01T00:00:00Z",
        },
    )
    assert custom.status_code == 201, custom.text
    assert (
        custom.json()["owner"] == sub_of(alice["Authorization"].removeprefix("Bearer "))
        and custom.json()["expiresAt"] == "2099-01-01T00:00:00.000Z"
    )
    for i in range(3):
        stack.http.post("/api/shorten", headers=alice, json={"longUrl": f"https://example.com/{i}"})

    temporary = stack.http.get("/launch-day")
    assert (
        temporary.status_code == 302
        and temporary.headers["location"] == "https://example.com/launch"
    )

    first = stack.http.get("/api/links", params={"limit": 2}, headers=alice).json()
    second = stack.http.get(
        "/api/links", params={"limit": 2, "cursor": first["nextCursor"]}, headers=alice
    ).json()
    listed = [link["longUrl"] for link in first["items"] + second["items"]]
    assert listed == [
        "https://example.com/2",
        "https://example.com/1",
        "https://example.com/0",
        "https://example.com/launch",
    ]
    assert stack.http.get("/api/links", headers=bob).json() == {"items": [], "nextCursor": None}

    assert error_of(stack.http.delete("/api/links/launch-day", headers=bob))["code"] == "forbidden"
    assert stack.http.get("/api/analytics/launch-day", headers=bob).status_code == 403
    assert stack.http.get("/api/analytics/launch-day", headers=alice).status_code == 200

    assert stack.http.delete("/api/links/launch-day", headers=alice).status_code == 204
    assert stack.http.get("/launch-day").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"longUrl": "https://example.com"', 400, "malformed_json"),
        ("{}", 400, "invalid_request"),
        ('{"longUrl": "ftp://example.com/file"}', 400, "invalid_url"),
        (json.dumps({"longUrl": "https://example.com/" + "x" * 2100}), 400, "url_too_long"),
        ('{"longUrl": "https://example.com", "customCode": "api"}', 400, "reserved_code"),
        (
            '{"longUrl": "https://example.com", "customCode": "no spaces"}',
            400,
            "invalid_custom_code",
        ),
        (
            '{"longUrl": "https://example.com", "expiresAt": "2020-01-01T00:00:00Z"}',
            400,
            "expiry_in_past",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(stack: Stack, body: str, status: int, code: str) -> None:
    response = stack.http.post("/api/shorten", content=body, headers=token(stack, "carol"))

    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_a_taken_code_is_409_and_unknown_or_expired_codes_are_404_and_410(stack: Stack) -> None:
    dave = token(stack, "dave")
    assert (
        stack.http.post(
            "/api/shorten",
            headers=dave,
            json={"longUrl": "https://a.example", "customCode": "taken"},
        ).status_code
        == 201
    )

    taken = stack.http.post(
        "/api/shorten",
        headers=token(stack, "erin"),
        json={"longUrl": "https://b.example", "customCode": "taken"},
    )
    assert taken.status_code == 409 and error_of(taken)["code"] == "code_taken"
    assert error_of(stack.http.get("/Nothing"))["code"] == "not_found"

    # A link whose expiry has passed, put where the Shorten function would have put it.
    stack.client("dynamodb").put_item(
        TableName="LinksTable",
        Item={
            "pk": {"S": "LINK#Expired"},
            "code": {"S": "Expired"},
            "longUrl": {"S": "https://old.example"},
            "createdAt": {"S": "2020-01-01T00:00:00.000Z"},
            "createdMs": {"N": "1577836800000"},
            "expiresMs": {"N": "1577923200000"},
            "redirectType": {"N": "301"},
        },
    )
    gone = stack.http.get("/Expired")
    assert gone.status_code == 410 and error_of(gone)["code"] == "gone"


def test_too_many_anonymous_shortens_get_429_with_rate_limit_headers(stack: Stack) -> None:
    with from_address(stack, "127.0.0.12") as client:
        responses = [
            client.post("/api/shorten", json={"longUrl": f"https://example.com/r{i}"})
            for i in range(11)
        ]

    assert [r.status_code for r in responses] == [201] * 10 + [429]
    assert responses[0].headers["ratelimit-limit"] == "10"
    limited = responses[-1]
    assert error_of(limited)["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["ratelimit-remaining"] == "0"
    assert "ratelimit-reset" in limited.headers
    # The source IP is the connection's, as on API Gateway: a header does not change it.
    with from_address(stack, "127.0.0.12") as client:
        spoofed = client.post(
            "/api/shorten",
            json={"longUrl": "https://example.com/s"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    assert spoofed.status_code == 429


def test_a_bad_token_is_401(stack: Stack) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    # Sign-in required: API Gateway's JWT authorizer refuses, in its own words.
    response = stack.http.get("/api/links", headers=bad)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    # Optional sign-in: the function answers, in DESIGN's error body.
    response = stack.http.post("/api/shorten", headers=bad, json={"longUrl": "https://e.com/"})
    assert response.status_code == 401 and error_of(response)["code"] == "invalid_token"
    assert stack.http.get("/api/links").status_code == 401


def test_the_openapi_document_is_served(stack: Stack) -> None:
    def served() -> httpx.Response | None:
        response = stack.http.get("/api/openapi.json")
        return response if response.status_code == 200 else None

    document = eventually(served, timeout=30, what="the OpenAPI document").json()

    assert document == json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert {"/api/shorten", "/{code}", "/api/links", "/api/analytics/{code}"} <= set(
        document["paths"]
    )


def test_relay_invoke_runs_a_function_with_an_event_file(stack: Stack) -> None:
    owner = token(stack, "frank")
    stack.http.post(
        "/api/shorten",
        headers=owner,
        json={"longUrl": "https://example.com/e", "customCode": "Ab3dE9x"},
    )

    invoked = relay(
        "invoke",
        "Redirect",
        "-e",
        "events/redirect.json",
        "--state-dir",
        str(stack.state_dir),
        cwd=ROOT,
    )

    assert invoked.returncode == 0, invoked.stderr
    result = json.loads(invoked.stdout)
    assert result["statusCode"] == 301 and result["headers"]["Location"] == "https://example.com/e"


def test_links_and_analytics_survive_a_restart_and_a_kill(tmp_path: Path) -> None:
    first = start(tmp_path)
    try:
        code = first.http.post(
            "/api/shorten", json={"longUrl": "https://example.com/durable"}
        ).json()["code"]
        first.http.get(f"/{code}")
        eventually(
            lambda: first.http.get(f"/api/analytics/{code}").json()["clicks"] == 1,
            timeout=20,
            what="click",
        )
    finally:
        first.stop()

    second = start(tmp_path)
    try:
        assert second.http.get(f"/{code}").headers["location"] == "https://example.com/durable"
        eventually(
            lambda: second.http.get(f"/api/analytics/{code}").json()["clicks"] == 2,
            timeout=20,
            what="click",
        )
    finally:
        second.kill()

    third = start(tmp_path)
    try:
        assert third.http.get(f"/{code}").status_code == 301
        assert third.http.get(f"/api/analytics/{code}").json()["clicks"] >= 2
    finally:
        third.stop()


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/api/shorten"), ("GET", "/api/links/"), ("GET", "/")]
)
def test_unrouted_requests_get_the_error_body_too(stack: Stack, method: str, path: str) -> None:
    response = stack.http.request(method, path)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_rate_limits_follow_the_template_parameters(tmp_path: Path) -> None:
    # Given the stack started with a redirect limit of three a minute, on a Redis database
    # of its own (another stack's redirects from 127.0.0.1 would share its counter)
    own_db = os.environ["RELAY_E2E_REDIS_URL"].rsplit("/", 1)[0] + "/15"
    redis.Redis.from_url(own_db).flushdb()
    running = Stack(
        ROOT,
        tmp_path,
        "--parameter-overrides",
        "RedirectLimitPerMinute=3",
        env={"REDIS_URL": own_db},
    )
    try:
        code = running.http.post(
            "/api/shorten", json={"longUrl": "https://example.com/limited"}
        ).json()["code"]

        # When one client follows the link four times
        answers = [running.http.get(f"/{code}") for _ in range(4)]

        # Then the limit it is told is the parameter's, and the fourth is refused
        assert [a.status_code for a in answers] == [301, 301, 301, 429]
        assert answers[0].headers["ratelimit-limit"] == "3"
        assert int(answers[3].headers["retry-after"]) >= 1
    finally:
        running.stop()
