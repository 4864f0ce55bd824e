"""The local stack as a browser meets it: CORS answered from the template's
CorsConfiguration as API Gateway answers it, the WebSocket API taking any origin,
over-size bodies refused as API Gateway and Lambda refuse them, the OpenAPI
document there when "Ready" is printed, and a clean stop on Ctrl-C and SIGTERM.

The fixture template's Globals.HttpApi allows http://app.example and
https://*.relay.example, GET, POST and DELETE, two request headers, two exposed
headers, credentials and a max age of 300 seconds.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relay_local.template.build import build_model
from relay_local.template.model import TemplateError
from tests.localstack.conftest import Stack, make_project, relay

pytestmark = pytest.mark.xdist_group("localstack")

APP = "http://app.example"
ITEMS_TABLE = "relay-test-items"
_popen = subprocess.Popen


def _project_without_cors(root: Path) -> Path:
    project = make_project(root)
    template = project / "template.yaml"
    text = template.read_text()
    stripped = re.sub(r"\n    # API Gateway answers CORS.*?\n(?=\n)", "\n", text, flags=re.S)
    assert "AllowCredentials" not in stripped
    template.write_text(stripped)
    return project


def _web_root(root: Path) -> Path:
    """A browser client's files, a secret beside them, and links in and out."""
    web = root / "web"
    (web / "sub").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>Relay</title><p>v1")
    (web / "app.js").write_text("export const answer = 42;\n")
    (web / "style.css").write_text("body { margin: 0 }\n")
    (web / "sub" / "index.html").write_text("<p>sub")
    (web / ".hidden").write_text("HIDDEN-CONTENT")
    (root / "secret.txt").write_text("SECRET")
    (web / "escape").symlink_to(root / "secret.txt")
    (web / "inside.js").symlink_to(web / "app.js")
    return web


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The fixture project, serving a web root of its own with --web."""
    root = tmp_path_factory.mktemp("browser")
    running = Stack(
        make_project(root), root / "state", "--concurrency", "2", "--web", str(_web_root(root))
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def stack_without_cors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("plain")
    running = Stack(_project_without_cors(root), root / "state", "--concurrency", "1")
    try:
        yield running
    finally:
        running.stop()


def _preflight(
    stack: Stack, path: str, origin: str = APP, method: str = "POST", headers: str = ""
) -> httpx.Response:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return stack.http.options(path, headers=asked)


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


# --- CORS: preflights -------------------------------------------------------------------


def test_a_preflight_gets_204_with_the_configuration_on_a_path_without_an_options_route(
    stack: Stack,
) -> None:
    # When a browser asks before a POST with two headers (the route takes GET only)
    response = _preflight(stack, "/echo/abc", headers="Content-Type, Authorization")

    # Then API Gateway answers it itself, as configured
    assert response.status_code == 204
    assert response.content == b""
    assert _cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-methods": "GET,POST,DELETE",
        "access-control-allow-headers": "authorization,content-type",
        "access-control-max-age": "300",
        "access-control-allow-credentials": "true",
    }
    assert response.headers["apigw-requestid"]
    assert "content-length" not in response.headers  # none on a 204 (RFC 9110)


@pytest.mark.parametrize("path", ["/greedy/any/thing", "/private", "/no/such/route"])
def test_a_preflight_runs_no_function_and_no_authorizer(stack: Stack, path: str) -> None:
    # Given an ANY route (which would take OPTIONS), a route behind the authorizer, no route
    before = len(stack.output())

    # When a preflight comes for each
    response = _preflight(stack, path, method="DELETE")

    # Then the gateway answers 204, and nothing ran
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP
    ran = [line for line in stack.output()[before:] if "OPTIONS" in line or "authorizer" in line]
    assert ran == []


def test_an_origin_pattern_allows_what_it_matches_and_echoes_it(stack: Stack) -> None:
    allowed = _preflight(stack, "/echo/abc", origin="https://chat.relay.example")
    near_miss = _preflight(stack, "/echo/abc", origin="https://relay.example")
    wrong_scheme = _preflight(stack, "/echo/abc", origin="http://chat.relay.example")

    assert allowed.headers["access-control-allow-origin"] == "https://chat.relay.example"
    assert _cors_headers(near_miss) == {} and near_miss.status_code == 204
    assert _cors_headers(wrong_scheme) == {}


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("http://evil.example", "POST", ""),  # an origin not allowed
        (APP, "PUT", ""),  # a method not allowed
        (APP, "POST", "content-type, x-not-allowed"),  # a header not allowed
    ],
)
def test_a_preflight_that_is_not_allowed_gets_204_without_cors_headers(
    stack: Stack, origin: str, method: str, headers: str
) -> None:
    response = _preflight(stack, "/echo/abc", origin=origin, method=method, headers=headers)

    # The browser, finding no Access-Control-Allow-Origin, refuses the request it asked about.
    assert response.status_code == 204
    assert _cors_headers(response) == {}


def test_an_options_request_that_is_no_preflight_goes_to_its_route(stack: Stack) -> None:
    # An OPTIONS without Access-Control-Request-Method is an ordinary request: the ANY route
    response = stack.http.options("/greedy/x", headers={"Origin": APP})

    assert response.status_code == 200
    assert response.json()["event"]["requestContext"]["http"]["method"] == "OPTIONS"
    assert response.headers["access-control-allow-origin"] == APP


# --- CORS: actual requests --------------------------------------------------------------


def test_a_cors_request_gets_allow_origin_expose_and_credentials_added(stack: Stack) -> None:
    response = stack.http.get("/echo/abc", headers={"Origin": APP})

    assert response.status_code == 200
    assert response.headers["x-echo"] == "1"  # the function's own headers stay
    assert _cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-expose-headers": "x-echo,location",
        "access-control-allow-credentials": "true",
    }


def test_a_request_without_origin_or_from_another_origin_gets_no_cors_headers(
    stack: Stack,
) -> None:
    assert _cors_headers(stack.http.get("/echo/abc")) == {}
    assert _cors_headers(stack.http.get("/echo/abc", headers={"Origin": "http://x.example"})) == {}


def test_the_configuration_replaces_cors_headers_the_function_returns(stack: Stack) -> None:
    # Given a function that answers Access-Control-Allow-Origin: * and a max age of its own
    allowed = stack.http.get("/bad/own-cors", headers={"Origin": APP})
    refused = stack.http.get("/bad/own-cors", headers={"Origin": "http://evil.example"})

    assert allowed.text == "mine"
    assert allowed.headers["access-control-allow-origin"] == APP
    assert "access-control-max-age" not in allowed.headers
    assert _cors_headers(refused) == {}


def test_the_gateways_own_errors_carry_cors_headers(stack: Stack) -> None:
    # A 404 (no route) and the authorizer's 401 are readable by the page that asked
    missing = stack.http.get("/no/such/route", headers={"Origin": APP})
    unauthorized = stack.http.get("/private", headers={"Origin": APP})

    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == APP
    assert unauthorized.status_code == 401
    assert unauthorized.headers["access-control-allow-origin"] == APP


def test_a_template_without_cors_configuration_answers_no_cors(stack_without_cors: Stack) -> None:
    preflight = _preflight(stack_without_cors, "/echo/abc")
    request = stack_without_cors.http.get("/echo/abc", headers={"Origin": APP})

    # No route takes OPTIONS /echo/abc: API Gateway's 404, as for any unrouted request
    assert preflight.status_code == 404
    assert _cors_headers(preflight) == {}
    assert request.status_code == 200
    assert _cors_headers(request) == {}


def test_a_204_has_no_body_so_the_next_answer_on_the_connection_stays_readable(
    stack: Stack,
) -> None:
    # Given a function answering 204 with a body, then another request on the same connection
    first = stack.http.get("/bad/no-content-with-body")
    second = stack.http.get("/echo/after")

    assert (first.status_code, first.content) == (204, b"")
    assert second.status_code == 200 and second.json()["event"]["rawPath"] == "/echo/after"


# --- WebSocket: any origin --------------------------------------------------------------


def test_a_websocket_from_a_browser_origin_is_accepted(stack: Stack) -> None:
    # API Gateway WebSocket APIs do not check Origin: a page on any origin connects
    with stack.ws("token=good-alice", origin="http://evil.example") as socket:
        socket.send('{"action": "echo"}')
        answer = json.loads(socket.recv(timeout=20))

    assert answer["event"]["requestContext"]["routeKey"] == "echo"


def test_credentials_with_any_origin_is_refused_at_start_as_api_gateway_refuses_it(
    tmp_path: Path,
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        'AWSTemplateFormatVersion: "2010-09-09"\nTransform: AWS::Serverless-2016-10-31\n'
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n"
        "      CorsConfiguration: {AllowOrigins: ['*'], AllowCredentials: true}\n"
    )

    with pytest.raises(TemplateError) as refused:
        build_model(template, "http://127.0.0.1:9")

    assert "AllowCredentials is not supported with AllowOrigins '*'" in str(refused.value)


# --- sizes: API Gateway's 10 MB, Lambda's 6 MB ---------------------------------------------

TOO_LARGE = {"message": "Request Entity Too Large"}


def test_a_body_over_api_gateways_10_mb_is_refused_413_before_it_is_sent(stack: Stack) -> None:
    # Given a client that announces 10 MB and one byte, and waits (as curl's Expect does)
    port = stack.info["http_port"]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
        client.sendall(
            b"POST /greedy/upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n" % (10 * 1024 * 1024 + 1)
        )
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk

    # Then the gateway answers 413 without reading the body, and closes
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body) == TOO_LARGE


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"a" * (6 * 1024 * 1024), "text/plain"),  # the event is the body and more: over 6 MB
        (b"\xff" * (5 * 1024 * 1024), "application/octet-stream"),  # 5 MB, base64 in the event
    ],
    ids=["text-6mb", "binary-5mb"],
)
def test_a_body_whose_event_is_over_lambdas_6_mb_is_413_and_runs_nothing(
    stack: Stack, body: bytes, content_type: str
) -> None:
    response = stack.http.post(
        "/greedy/upload", content=body, headers={"content-type": content_type}
    )

    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    stack.wait_for_output("413 (event over Lambda's 6 MB)")


def test_a_body_under_the_limits_reaches_the_function(stack: Stack) -> None:
    response = stack.http.post(
        "/greedy/upload", content=b"a" * (5 * 1024 * 1024), headers={"content-type": "text/plain"}
    )

    assert response.status_code == 200
    assert len(response.json()["event"]["body"]) == 5 * 1024 * 1024


def test_a_function_answer_over_lambdas_6_mb_is_api_gateways_500(stack: Stack) -> None:
    # Lambda fails the invocation; the HTTP API answers its integration error
    response = stack.http.get("/bad/huge")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    stack.wait_for_output("Function.ResponseSizeTooLarge")


# --- the browser client's files at /app/ ---------------------------------------------------


def _raw_get(stack: Stack, path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (an HTTP client would resolve its dot segments)."""
    with socket.create_connection(("127.0.0.1", stack.info["http_port"]), timeout=20) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def test_the_app_is_served_at_app_with_its_link_printed(stack: Stack) -> None:
    port = stack.info["http_port"]
    assert f"App: http://127.0.0.1:{port}/app/" in stack.wait_for_output("App: ")

    page = stack.http.get("/app/")
    script = stack.http.get("/app/app.js")
    style = stack.http.get("/app/style.css")
    linked = stack.http.get("/app/inside.js")  # a symlink that stays inside the root
    directory = stack.http.get("/app/sub/")

    assert page.status_code == 200 and "<title>Relay</title>" in page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.text == "export const answer = 42;\n"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert linked.text == script.text
    assert directory.text == "<p>sub"
    assert stack.http.head("/app/app.js").headers["content-length"] == str(len(script.content))


def test_app_without_its_slash_redirects_to_it(stack: Stack) -> None:
    response = stack.http.get("/app", follow_redirects=False)

    assert response.status_code == 301
    assert response.headers["location"] == "/app/"


def test_an_edit_under_web_shows_on_the_next_request(stack: Stack) -> None:
    index = Path(stack.project).parent / "web" / "index.html"
    before = stack.http.get("/app/").text

    index.write_text("<!doctype html><title>Relay</title><p>v2")

    assert "v1" in before
    assert "v2" in stack.http.get("/app/").text


def test_a_missing_file_is_a_404_in_designs_error_shape(stack: Stack) -> None:
    response = stack.http.get("/app/nowhere.js")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "nowhere.js" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/app/../secret.txt",
        "/app/%2e%2e/secret.txt",
        "/app/%2E%2E%2Fsecret.txt",
        "/app/sub/..%2f..%2fsecret.txt",
        "/app/sub/%2e%2e/%2e%2e/secret.txt",
        "/app/..%5csecret.txt",
        "/app/escape",  # a symlink out of the root
        "/app/.hidden",
        "/app/%00",
        "/app/%ff",
        "/app//etc/passwd",
    ],
)
def test_no_path_leaves_the_web_root(stack: Stack, path: str) -> None:
    status, body = _raw_get(stack, path)

    assert status == 404
    assert b"SECRET" not in body and b"HIDDEN-CONTENT" not in body
    assert json.loads(body)["error"]["code"] == "not_found"


def test_without_a_web_directory_nothing_is_served_at_app(stack_without_cors: Stack) -> None:
    # The fixture project has no web/: no link, and /app/ is an unrouted path like any other
    assert not [line for line in stack_without_cors.output() if line.startswith("App: ")]
    response = stack_without_cors.http.get("/app/")

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_a_web_root_that_is_not_a_directory_stops_relay_run_with_a_message(
    tmp_path: Path,
) -> None:
    done = relay("run", "--web", str(tmp_path / "missing"), "--state-dir", str(tmp_path / "s"))

    assert done.returncode == 2
    assert "--web" in done.stderr and "is not a directory" in done.stderr


# --- start: the OpenAPI document is there when the stack says it is ready -------------------


def test_the_openapi_document_is_served_as_soon_as_ready_is_printed(tmp_path: Path) -> None:
    # When the stack prints "Ready" (Stack returns as soon as it reads that line)
    running = Stack(make_project(tmp_path), tmp_path / "state", "--concurrency", "1")
    try:
        # Then the first request for the document already gets it
        response = running.http.get("/api/openapi.json")
        lines = running.output()
    finally:
        running.stop()

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    served = next(i for i, line in enumerate(lines) if line.startswith("OpenAPI document"))
    ready = next(i for i, line in enumerate(lines) if line.startswith("Ready:"))
    assert served < ready


# --- stop: Ctrl-C and SIGTERM -------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """Every process under `pid`, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_the_stack_cleanly_and_keeps_its_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: signal.Signals
) -> None:
    # Given `relay run` in a terminal of its own (its own process group), with an item stored
    # and a function's execution environment up
    monkeypatch.setattr(subprocess, "Popen", functools.partial(_popen, start_new_session=True))
    project, state = make_project(tmp_path), tmp_path / "state"
    running = Stack(project, state, "--concurrency", "1")
    running.client("dynamodb").put_item(TableName=ITEMS_TABLE, Item={"pk": {"S": "kept"}})
    assert running.http.get("/echo/warm").status_code == 200
    children = _descendants(running.process.pid)
    assert len(children) >= 2  # local AWS and the worker, at least

    # When Ctrl-C is pressed (the terminal signals the whole foreground process group),
    # or SIGTERM is sent to `relay` (a service manager, `docker stop`)
    if signum == signal.SIGINT:
        os.killpg(running.process.pid, signum)
    else:
        running.process.send_signal(signum)
    code = running.process.wait(timeout=30)
    running.http.close()

    # Then it stops as on a normal stop: exit 0, no traceback, no process left behind
    lines = running.output()
    assert code == 0
    assert "Stopping" in lines
    assert not [line for line in lines if "Traceback" in line or "KeyboardInterrupt" in line]
    assert [pid for pid in children if _alive(pid)] == []
    assert not (state / "stack.json").exists()

    # And what it held is there on the next start
    monkeypatch.undo()
    again = Stack(project, state, "--concurrency", "1")
    try:
        item = again.client("dynamodb").get_item(TableName=ITEMS_TABLE, Key={"pk": {"S": "kept"}})
        assert "Item" in item
    finally:
        again.stop()
