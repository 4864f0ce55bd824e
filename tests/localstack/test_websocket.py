"""The local WebSocket API, driven as a client drives it: through the fixture template's
API (an authorizer on $connect, one function behind every route that answers through
the @connections management API, built from the event as on AWS)."""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.localstack.conftest import Stack, eventually

pytestmark = pytest.mark.xdist_group("localstack")

ITEMS_TABLE = "relay-test-items"


def _item(stack: Stack, pk: str) -> dict[str, Any] | None:
    answer = stack.client("dynamodb").get_item(TableName=ITEMS_TABLE, Key={"pk": {"S": pk}})
    item: dict[str, Any] | None = answer.get("Item")
    return item


def _stored_event(stack: Stack, pk: str) -> dict[str, Any]:
    item = eventually(lambda: _item(stack, pk), what=pk)
    event: dict[str, Any] = json.loads(item["event"]["S"])
    return event


def _refusal(stack: Stack, query: str) -> tuple[int, bytes]:
    with pytest.raises(InvalidStatus) as refused:
        stack.ws(query)
    return refused.value.response.status_code, bytes(refused.value.response.body or b"")


def _ask(ws: Any, message: Any) -> Any:
    ws.send(message if isinstance(message, str) else json.dumps(message))
    return json.loads(ws.recv(timeout=20))


# --- $connect: the authorizer, then the function ------------------------------------------


def test_a_connect_without_the_identity_source_is_401_before_any_function_runs(
    stack: Stack,
) -> None:
    status, body = _refusal(stack, "")

    assert status == 401
    assert json.loads(body) == {"message": "Unauthorized"}
    stack.wait_for_output("401 (no identity source)")


@pytest.mark.parametrize(("token", "status"), [("deny", 403), ("unauthorized", 401), ("boom", 500)])
def test_the_authorizer_refuses_the_upgrade(stack: Stack, token: str, status: int) -> None:
    assert _refusal(stack, f"token={token}")[0] == status


def test_a_connect_function_answering_non_2xx_refuses_the_socket(stack: Stack) -> None:
    assert _refusal(stack, "token=good-alice&refuse=418")[0] == 418


def test_the_connect_event_is_api_gateways(stack: Stack) -> None:
    # Given a client that connects with a token and a query string
    with stack.ws("token=good-alice&room=1&room=2", user_agent_header="relay-test") as ws:
        connection_id = _ask(ws, {"action": "echo"})["event"]["requestContext"]["connectionId"]

    # Then the $connect function saw API Gateway's CONNECT event
    event = _stored_event(stack, f"ws#connect#{connection_id}")
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    assert event["queryStringParameters"] == {"token": "good-alice", "room": "2"}
    assert event["multiValueQueryStringParameters"]["room"] == ["1", "2"]
    headers = event["headers"]
    assert headers["User-Agent"] == "relay-test"  # the client's case, kept
    assert "Upgrade" not in headers and "Connection" not in headers
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["multiValueHeaders"]["User-Agent"] == ["relay-test"]
    context = event["requestContext"]
    assert context["routeKey"] == "$connect"
    assert context["eventType"] == "CONNECT"
    assert context["messageDirection"] == "IN"
    assert context["stage"] == "test"
    assert context["apiId"] == "wsapi"
    assert context["connectionId"] == connection_id
    assert context["requestId"] == context["extendedRequestId"]
    assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "relay-test"}
    assert isinstance(context["connectedAt"], int)
    assert context["requestTimeEpoch"] >= context["connectedAt"]
    assert "messageId" not in context
    # the authorizer's principal and context, its values as strings, as API Gateway passes them
    authorizer = context["authorizer"]
    assert authorizer["principalId"] == "alice"
    assert authorizer["userId"] == "alice"
    assert authorizer["level"] == "3" and authorizer["admin"] == "false"
    assert authorizer["methodArn"].endswith(":wsapi/test/$connect")
    assert isinstance(authorizer["integrationLatency"], int)


def test_every_message_event_carries_the_connection_and_its_authorizer_context(
    stack: Stack,
) -> None:
    with stack.ws("token=good-bob") as ws:
        event = _ask(ws, {"action": "echo", "n": 1})["event"]

    assert event["body"] == '{"action": "echo", "n": 1}'
    assert event["isBase64Encoded"] is False
    assert "headers" not in event
    context = event["requestContext"]
    assert context["routeKey"] == "echo"
    assert context["eventType"] == "MESSAGE"
    assert len(context["messageId"]) == 16 and len(context["connectionId"]) == 16
    assert context["authorizer"]["userId"] == "bob"
    assert context["domainName"] == f"127.0.0.1:{stack.info['ws_ports']['WsApi']}"


def test_each_socket_gets_its_own_connection_id(stack: Stack) -> None:
    with stack.ws("token=good-a") as first, stack.ws("token=good-b") as second:
        one = _ask(first, {"action": "echo"})["event"]["requestContext"]["connectionId"]
        two = _ask(second, {"action": "echo"})["event"]["requestContext"]["connectionId"]

    assert one != two


# --- routes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        '{"action": "unknown"}',
        '{"no": "action"}',
        "[1, 2]",
        '{"action": 7}',
        '{"action": "$connect"}',
        '{"action": "$disconnect"}',
    ],
)
def test_json_messages_no_route_selects_reach_default(stack: Stack, message: str) -> None:
    with stack.ws("token=good-alice") as ws:
        answer = _ask(ws, message)

    assert answer == {"default": message, "route": "$default"}


def test_a_message_nested_past_the_json_parsers_depth_reaches_default(stack: Stack) -> None:
    nested = "[" * 10_000 + "]" * 10_000  # under the 32 KB frame limit
    with stack.ws("token=good-alice") as ws:
        answer = _ask(ws, nested)
        still_open = _ask(ws, {"action": "echo"})

    assert answer == {"default": nested, "route": "$default"}
    assert still_open["event"]["requestContext"]["routeKey"] == "echo"


def test_a_message_that_is_not_json_reaches_default(stack: Stack) -> None:
    with stack.ws("token=good-alice") as ws:
        answer = _ask(ws, "not json at all")

    assert answer == {"default": "not json at all", "route": "$default"}


def test_a_failing_function_sends_internal_server_error_and_the_socket_stays_open(
    stack: Stack,
) -> None:
    with stack.ws("token=good-alice") as ws:
        error = _ask(ws, {"action": "fail"})
        still_open = _ask(ws, {"action": "echo"})

    assert error["message"] == "Internal server error"
    assert set(error) == {"message", "connectionId", "requestId"}
    assert still_open["event"]["requestContext"]["routeKey"] == "echo"
    stack.wait_for_output("RuntimeError: the fail route fails")


def test_a_two_way_route_sends_the_functions_body_back(stack: Stack) -> None:
    with stack.ws("token=good-alice") as ws:
        ws.send('{"action": "reply", "x": 1}')

        assert ws.recv(timeout=20) == 'reply:{"action": "reply", "x": 1}'


# --- @connections -------------------------------------------------------------------------


def test_get_connection_describes_the_socket(stack: Stack) -> None:
    with stack.ws("token=good-alice", user_agent_header="relay-info") as ws:
        info = _ask(ws, {"action": "info"})["info"]  # the handler's GetConnection on itself

    assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "relay-info"}
    assert info["ConnectedAt"] <= info["LastActiveAt"]


def test_posting_to_a_connection_that_is_gone_is_410(stack: Stack) -> None:
    with stack.ws("token=good-alice") as ws:
        answer = _ask(ws, {"action": "to", "target": "Bm9uZUV4aXN0cz0=", "text": "hi"})

    assert answer == {"gone": "Bm9uZUV4aXN0cz0="}


def test_one_client_reaches_another_through_the_management_api(stack: Stack) -> None:
    with stack.ws("token=good-alice") as alice, stack.ws("token=good-bob") as bob:
        bob_id = _ask(bob, {"action": "echo"})["event"]["requestContext"]["connectionId"]

        alice.send(json.dumps({"action": "to", "target": bob_id, "text": "hello bob"}))

        assert bob.recv(timeout=20) == "hello bob"


def test_posting_during_connect_is_gone(stack: Stack) -> None:
    with stack.ws("token=good-alice&post-early=1") as ws:
        connection_id = _ask(ws, {"action": "echo"})["event"]["requestContext"]["connectionId"]

    assert eventually(lambda: _item(stack, f"ws#early-gone#{connection_id}"), what="410")


def test_delete_connection_closes_the_socket_and_runs_disconnect(stack: Stack) -> None:
    with stack.ws("token=good-alice") as ws:
        connection_id = _ask(ws, {"action": "echo"})["event"]["requestContext"]["connectionId"]
        ws.send(json.dumps({"action": "kick"}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    event = _stored_event(stack, f"ws#disconnect#{connection_id}")
    context = event["requestContext"]
    assert context["eventType"] == "DISCONNECT"
    assert context["disconnectStatusCode"] == 1000
    assert context["disconnectReason"] == "Connection Closed Normally"
    assert context["authorizer"]["principalId"] == "alice"
    assert "integrationLatency" not in context["authorizer"]
    assert event["headers"]["x-restapi"] == ""


def test_a_client_close_runs_disconnect_with_its_code_and_reason(stack: Stack) -> None:
    with stack.ws("token=good-alice") as ws:
        connection_id = _ask(ws, {"action": "echo"})["event"]["requestContext"]["connectionId"]

        ws.close(4001, "bye now")

    context = _stored_event(stack, f"ws#disconnect#{connection_id}")["requestContext"]
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (4001, "bye now")


def test_the_management_api_answers_boto3_over_tls_with_the_local_ca(stack: Stack) -> None:
    import boto3

    with stack.ws("token=good-alice") as ws:
        connection_id = _ask(ws, {"action": "echo"})["event"]["requestContext"]["connectionId"]
        port = stack.info["ws_ports"]["WsApi"]
        client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=f"https://127.0.0.1:{port}/test",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            verify=str(stack.state_dir / "tls" / "ca.pem"),
        )

        client.post_to_connection(ConnectionId=connection_id, Data=b"pushed")
        info = client.get_connection(ConnectionId=connection_id)

        assert ws.recv(timeout=20) == "pushed"
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        assert info["LastActiveAt"] >= info["ConnectedAt"]
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
        client.delete_connection(ConnectionId=connection_id)
        with pytest.raises(client.exceptions.GoneException):
            client.get_connection(ConnectionId=connection_id)


def test_a_wss_client_trusting_the_local_ca_connects(stack: Stack) -> None:
    context = ssl.create_default_context(cafile=str(stack.state_dir / "tls" / "ca.pem"))
    url = stack.ws_url("token=good-alice").replace("ws://", "wss://")

    with connect(url, ssl=context, open_timeout=20) as ws:
        assert _ask(ws, {"action": "echo"})["event"]["requestContext"]["routeKey"] == "echo"


def test_the_management_api_needs_a_signed_request(stack: Stack) -> None:
    port = stack.info["ws_ports"]["WsApi"]

    response = httpx.post(f"http://127.0.0.1:{port}/test/@connections/abc=", content=b"x")

    assert response.status_code == 403


def test_a_plain_http_request_is_told_to_upgrade(stack: Stack) -> None:
    port = stack.info["ws_ports"]["WsApi"]

    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 426


# --- API Gateway's limits -----------------------------------------------------------------


def test_a_frame_over_32_kb_closes_the_socket_with_1009(stack: Stack) -> None:
    with stack.ws("token=good-alice", max_size=None) as ws:
        ws.send("x" * (32 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_message_of_frames_up_to_128_kb_is_delivered_and_over_is_1009(stack: Stack) -> None:
    head = '{"action": "size", "pad": "'
    tail = '"}'
    padding = "y" * (128 * 1024 - len(head) - len(tail))
    message = head + padding + tail
    frames = [message[i : i + 32 * 1024] for i in range(0, len(message), 32 * 1024)]
    with stack.ws("token=good-alice") as ws:
        ws.send(iter(frames))  # exactly 128 KB, in four frames of 32 KB
        assert json.loads(ws.recv(timeout=20)) == {"size": 128 * 1024}

        # One byte more. The gateway may close while the client is still
        # sending, so the close can surface from send() as well as recv().
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(iter([*frames, " "]))
            ws.recv(timeout=20)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_binary_frame_closes_the_socket_with_1003(stack: Stack) -> None:
    with stack.ws("token=good-alice") as ws:
        ws.send(b"\x00\x01")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


def test_a_post_to_connection_over_128_kb_fails_in_the_function(stack: Stack) -> None:
    with stack.ws("token=good-alice", max_size=None) as ws:
        ws.send(json.dumps({"action": "big", "size": 128 * 1024}))
        assert len(ws.recv(timeout=20)) == 128 * 1024

        error = _ask(ws, {"action": "big", "size": 128 * 1024 + 1})

    assert error["message"] == "Internal server error"
    stack.wait_for_output("PayloadTooLargeException")
