"""The local stack, driven from outside as a user drives it: HTTP requests, SQS
messages, files edited on disk, the process stopped and killed.

The fixture template (tests/localstack/fixtures) exercises every feature;
these tests do not depend on Relay's own template or functions.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import re
import stat
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from tests.localstack.conftest import Stack, eventually, make_project, relay

pytestmark = pytest.mark.xdist_group("localstack")

ITEMS_TABLE = "relay-test-items"


def _item(stack: Stack, pk: str) -> dict[str, object] | None:
    answer = stack.client("dynamodb").get_item(TableName=ITEMS_TABLE, Key={"pk": {"S": pk}})
    item: dict[str, object] | None = answer.get("Item")
    return item


# --- HTTP API: payload 2.0, routing, responses ---------------------------------------------


def test_http_event_is_api_gateway_payload_2_0(stack: Stack) -> None:
    # Given a request with a repeated query parameter, a repeated header and cookies
    response = stack.http.get(
        "/echo/abc%20d?x=1&x=2&y=z",
        headers=[("X-Multi", "a"), ("X-Multi", "b"), ("Cookie", "c1=v1; c2=v2")],
    )

    # Then the function saw the HTTP API payload format 2.0 event
    assert response.status_code == 200
    event = response.json()["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /echo/{name}"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/echo/abc d"  # decoded
    assert event["pathParameters"] == {"name": "abc d"}
    assert event["rawQueryString"] == "x=1&x=2&y=z"
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "a,b"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["headers"]["x-amzn-trace-id"].startswith("Root=1-")
    assert event["queryStringParameters"] == {"x": "1,2", "y": "z"}
    assert event["pathParameters"] == {"name": "abc d"}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /echo/{name}"
    assert context["accountId"] == "123456789012"
    assert context["domainName"] == event["headers"]["host"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["http"]["userAgent"].startswith("python-httpx")
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert isinstance(context["timeEpoch"], int)
    assert response.headers["apigw-requestid"] == context["requestId"]
    assert "authorizer" not in context


def test_function_gets_local_environment_layer_and_context(stack: Stack) -> None:
    body = stack.http.get("/echo/env").json()

    env = body["env"]
    assert env["ITEMS_TABLE"] == ITEMS_TABLE
    assert env["WORK_QUEUE_URL"] == f"{stack.info['moto_url']}/123456789012/WorkQueue"
    assert env["WORK_QUEUE_ARN"] == "arn:aws:sqs:us-east-1:123456789012:WorkQueue"
    assert env["MODE"] == "local"
    assert env["REDIS_URL"] == stack.info["redis_url"]
    assert env["AWS_ENDPOINT_URL"] == stack.info["moto_url"]
    assert env["JWT_SECRET"] == (stack.state_dir / "jwt-secret").read_text()
    assert env["JWT_SECRET_ARN"] is None
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "Echo"
    assert env["GREETING"] == "hello"  # the parameter's default
    # the template's WebSocket API URLs point at the local gateway, TLS by the local CA
    ws_port = stack.info["ws_ports"]["WsApi"]
    assert env["WS_CALLBACK"] == f"https://127.0.0.1:{ws_port}/test"
    assert env["WS_ENDPOINT"] == f"wss://127.0.0.1:{ws_port}"
    assert env["AWS_CA_BUNDLE"] == str(stack.state_dir / "tls" / "ca.pem")
    assert body["greeting"] == "hello from the layer"
    context = body["context"]
    assert context["function_name"] == "Echo"
    assert context["memory_limit_in_mb"] == 256
    assert context["invoked_function_arn"].endswith(":function:Echo")
    assert 0 < context["remaining_ms"] <= 5000


def test_response_headers_and_cookies_are_mapped(stack: Stack) -> None:
    response = stack.http.get("/echo/cookies")

    assert response.headers["x-echo"] == "1"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2"]


def test_binary_body_reaches_greedy_route_base64_encoded(stack: Stack) -> None:
    response = stack.http.post("/greedy/a/b/c", content=b"\xff\x00\xfe")

    event = response.json()["event"]
    assert event["routeKey"] == "ANY /greedy/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00\xfe"


def test_text_body_is_passed_as_is(stack: Stack) -> None:
    event = stack.http.put("/greedy/x", content="héllo").json()["event"]

    assert event["body"] == "héllo"
    assert event["isBase64Encoded"] is False


def test_exact_route_beats_parameter_route(stack: Stack) -> None:
    assert stack.http.get("/echo/fixed").text == "v1"
    assert stack.http.get("/echo/other").json()["event"]["pathParameters"] == {"name": "other"}


def test_unknown_route_and_method_are_404_like_api_gateway(stack: Stack) -> None:
    for response in (stack.http.get("/nowhere"), stack.http.post("/echo/abc")):
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found"}


def test_non_string_body_is_a_500_with_the_reason_in_the_log(stack: Stack) -> None:
    response = stack.http.get("/bad/dict-body")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    stack.wait_for_output("body must be a string, got dict")


def test_handler_exception_is_a_500(stack: Stack) -> None:
    response = stack.http.get("/bad/raise")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    stack.wait_for_output("ValueError: handler failed on purpose")


def test_worker_that_dies_is_replaced_by_a_cold_one(stack: Stack) -> None:
    before = stack.http.get("/bad/pid").text

    assert stack.http.get("/bad/exit").status_code == 500

    after = stack.http.get("/bad/pid").text
    assert after != before
    stack.wait_for_output("Runtime.ExitError")


def test_function_timeout_is_a_500_and_the_next_invocation_is_cold(stack: Stack) -> None:
    before = stack.http.get("/bad/pid").text

    response = stack.http.get("/bad/slow")

    assert response.status_code == 500
    stack.wait_for_output("Task timed out after 1.00 seconds")
    assert stack.http.get("/bad/pid").text != before


def test_concurrent_invocations_get_their_own_environment(stack: Stack) -> None:
    # The stack runs with --concurrency 2: a request that arrives while the function is
    # busy gets a second execution environment, as on Lambda. Each call waits until the
    # other is in too, so one environment serving both in turn gives one pid.
    path = f"/bad/pid-together?id={uuid.uuid4().hex}"

    async def two_at_once() -> set[str]:
        async with httpx.AsyncClient(base_url=str(stack.http.base_url), timeout=30) as client:
            first, second = await asyncio.gather(client.get(path), client.get(path))
        assert (first.status_code, second.status_code) == (200, 200)
        return {first.text, second.text}

    assert len(asyncio.run(two_at_once())) == 2


def test_result_without_status_code_is_inferred_as_json(stack: Stack) -> None:
    response = stack.http.get("/bad/inferred")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"hello": "world"}


def test_base64_response_and_empty_response(stack: Stack) -> None:
    assert stack.http.get("/bad/binary").content == b"\x00\x01\xff"
    empty = stack.http.get("/bad/nothing")
    assert empty.status_code == 204
    assert empty.content == b""


def test_invocation_lines_report_cold_then_warm(stack: Stack) -> None:
    stack.http.get("/echo/one")
    stack.http.get("/echo/two")

    line = stack.wait_for_output("GET /echo/{name} -> Echo 200")
    assert re.search(r"\d+\.\d ms (cold \(init \d+\.\d ms\)|warm)", line)
    stack.wait_for_output('"path": "/echo/two"')


# --- Authorizer -------------------------------------------------------------------------


def test_missing_identity_header_is_401_without_calling_the_authorizer(stack: Stack) -> None:
    response = stack.http.get("/private")

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_authorizer_deny_is_403(stack: Stack) -> None:
    response = stack.http.get("/private", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


@pytest.mark.parametrize("token", ["boom", "malformed"])
def test_authorizer_failure_or_malformed_answer_is_500(stack: Stack, token: str) -> None:
    response = stack.http.get("/private", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_authorizer_context_reaches_the_function(stack: Stack) -> None:
    response = stack.http.get("/private", headers={"Authorization": "Bearer allow-u7"})

    assert response.status_code == 200
    event = response.json()["event"]
    context = event["requestContext"]["authorizer"]["lambda"]
    assert context["userId"] == "u7"
    assert context["identitySource"] == ["Bearer allow-u7"]
    assert context["routeArn"].endswith("/$default/GET/private")


# --- SQS event source -------------------------------------------------------------------


def test_sqs_partial_batch_failure_redelivers_then_dead_letters(stack: Stack) -> None:
    sqs = stack.client("sqs")
    work = stack.queue_url("WorkQueue")
    dlq = stack.queue_url("relay-work-dlq")

    # Given one good and one poison message in the same batch
    sqs.send_message_batch(
        QueueUrl=work,
        Entries=[{"Id": "1", "MessageBody": "ok-batch"}, {"Id": "2", "MessageBody": "fail-batch"}],
    )

    # Then the good one is processed once, as a well-formed SQS record
    item = eventually(lambda: _item(stack, "msg#ok-batch"), what="ok-batch processed")
    record = json.loads(item["record"]["S"])  # type: ignore[index]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:WorkQueue"
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["md5OfBody"]

    # And the poison one is retried, then lands in the dead-letter queue
    def dead_lettered() -> list[dict[str, str]]:
        return list(sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", []))

    messages = eventually(dead_lettered, timeout=15, what="fail-batch in the DLQ")
    assert [m["Body"] for m in messages] == ["fail-batch"]
    stack.wait_for_output("1 of 2 failed")


def test_a_message_no_filter_matches_is_deleted_unseen(stack: Stack) -> None:
    sqs = stack.client("sqs")
    work = stack.queue_url("WorkQueue")

    # Given the mapping's FilterCriteria (a body not starting "skip-"), one message
    # that matches it and one that does not, sent first
    sqs.send_message(QueueUrl=work, MessageBody="skip-filtered")
    sqs.send_message(QueueUrl=work, MessageBody="ok-after-filtered")

    # Then the function sees only the match, and the other leaves the queue
    eventually(lambda: _item(stack, "msg#ok-after-filtered"), what="the matching message")
    stack.wait_for_output("matched no filter, deleted")
    assert _item(stack, "msg#skip-filtered") is None
    attributes = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


# --- Log subscription -------------------------------------------------------------------


def test_matching_log_lines_are_delivered_as_awslogs_event(stack: Stack) -> None:
    stack.http.get("/click/c42")

    item = eventually(lambda: _item(stack, "log#c42"), what="click delivered")
    data = json.loads(item["data"]["S"])  # type: ignore[index]
    assert data["messageType"] == "DATA_MESSAGE"
    assert data["owner"] == "123456789012"
    assert data["logGroup"] == "/relay/test/clicker"
    assert data["subscriptionFilters"] == ["ClickSubscription"]
    assert [json.loads(e["message"]) for e in data["logEvents"]] == [
        {"kind": "click", "code": "c42"}
    ]
    assert isinstance(data["logEvents"][0]["timestamp"], int)


def test_failed_log_delivery_goes_to_on_failure_queue_after_retries(stack: Stack) -> None:
    sqs = stack.client("sqs")
    failures = stack.queue_url("ShipperFailures")

    stack.http.get("/click/fail-9")

    def failure_record() -> list[dict[str, str]]:
        return list(sqs.receive_message(QueueUrl=failures, WaitTimeSeconds=1).get("Messages", []))

    messages = eventually(failure_record, timeout=15, what="failed delivery on ShipperFailures")
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    payload = record["requestPayload"]["awslogs"]["data"]
    assert "fail-9" in gzip.decompress(base64.b64decode(payload)).decode()


# --- Hot reload -------------------------------------------------------------------------


def test_code_change_reloads_only_that_function(stack: Stack) -> None:
    before = stack.http.get("/echo/warm").json()
    assert stack.http.get("/echo/fixed").text == "v1"

    # When the Fixed function's code changes on disk
    source = stack.project / "functions" / "fixed" / "app.py"
    source.write_text(source.read_text().replace('"v1"', '"v2"'))

    # Then its next requests run the new code, and Echo stays warm in the same process
    eventually(lambda: stack.http.get("/echo/fixed").text == "v2", what="Fixed reloaded")
    after = stack.http.get("/echo/warm").json()
    assert after["pid"] == before["pid"]
    assert after["invocations"] > before["invocations"]


def test_layer_change_reloads_functions_that_use_it(stack: Stack) -> None:
    layer = stack.project / "layers" / "common" / "common_lib" / "__init__.py"
    layer.write_text(layer.read_text().replace("hello from the layer", "layer v2"))

    eventually(
        lambda: stack.http.get("/echo/layer").json()["greeting"] == "layer v2",
        what="Echo reloaded with the new layer",
    )


# --- Persistence, relay invoke, relay token ---------------------------------------------


def test_state_survives_clean_stop_and_kill_9(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    state = tmp_path / "state"
    first = Stack(project, state)
    try:
        first.client("dynamodb").put_item(
            TableName=ITEMS_TABLE, Item={"pk": {"S": "persisted"}, "v": {"N": "1"}}
        )
        first.client("sqs").send_message(
            QueueUrl=first.queue_url("ShipperFailures"), MessageBody="kept"
        )
        work = first.queue_url("WorkQueue")
        first.client("sqs").send_message(QueueUrl=work, MessageBody="ok-gone")
        first.client("sqs").send_message(QueueUrl=work, MessageBody="fail-dead")
        eventually(lambda: _item(first, "msg#ok-gone"), what="ok-gone consumed")
        first.wait_for_output("moved to relay-work-dlq", timeout=15)
    finally:
        first.stop()
    assert not (state / "stack.json").exists()

    # A delivery captured but never made (as after a kill -9 between the two)
    entry = {"id": "1" * 56, "sub": "ClickSubscription", "stream": "s", "timestamp": 1}
    entry["message"] = json.dumps({"kind": "click", "code": "recovered"})
    with (state / "log-deliveries.jsonl").open("a") as journal:
        journal.write(json.dumps({"add": entry}) + "\n")

    second = Stack(project, state)
    try:
        assert _item(second, "persisted") == {"pk": {"S": "persisted"}, "v": {"N": "1"}}
        second.client("dynamodb").update_item(
            TableName=ITEMS_TABLE,
            Key={"pk": {"S": "persisted"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "2"}},
        )
        eventually(lambda: _item(second, "log#recovered"), what="recovered log delivery")
    finally:
        second.kill()

    third = Stack(project, state)
    try:
        assert _item(third, "persisted") == {"pk": {"S": "persisted"}, "v": {"N": "2"}}
        kept = third.client("sqs").receive_message(QueueUrl=third.queue_url("ShipperFailures"))
        assert [m["Body"] for m in kept["Messages"]] == ["kept"]
        dead = third.client("sqs").receive_message(QueueUrl=third.queue_url("relay-work-dlq"))
        assert [m["Body"] for m in dead["Messages"]] == ["fail-dead"]
        # The consumed message was compacted out of the journal, so it is not sent again.
        journal_lines = (state / "journal.jsonl").read_text().splitlines()
        sent = [json.loads(line)["b"].get("MessageBody") for line in journal_lines]
        assert "kept" in sent
        assert "ok-gone" not in sent
        # and the item's history (a put, then an update) is compacted to one put
        records = [json.loads(line) for line in journal_lines]
        writes = [
            r
            for r in records
            if r["b"].get("Item", r["b"].get("Key", {})).get("pk") == {"S": "persisted"}
        ]
        assert [w["t"] for w in writes] == ["DynamoDB_20120810.PutItem"]
    finally:
        third.stop()

    # relay invoke without a running stack replays the same state
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pk": "persisted"}))
    result = relay(
        "invoke",
        "Reader",
        "-e",
        str(event),
        "--template",
        str(project / "template.yaml"),
        "--state-dir",
        str(state),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"pk": "persisted", "v": 2}


def test_relay_invoke_attaches_to_running_stack(stack: Stack, tmp_path: Path) -> None:
    stack.client("dynamodb").put_item(TableName=ITEMS_TABLE, Item={"pk": {"S": "live"}})
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pk": "live"}))

    result = relay(
        "invoke",
        "Reader",
        "-e",
        str(event),
        "--template",
        str(stack.template),
        "--state-dir",
        str(stack.state_dir),
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"pk": "live"}


def test_relay_invoke_exits_non_zero_when_the_function_raises(stack: Stack, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pathParameters": {"kind": "raise"}}))

    result = relay(
        "invoke",
        "BadBody",
        "-e",
        str(event),
        "--template",
        str(stack.template),
        "--state-dir",
        str(stack.state_dir),
    )

    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == "ValueError"


def test_relay_token_is_signed_with_the_local_secret(tmp_path: Path) -> None:
    # A template without a user pool (Relay's own has one: tests/e2e sign in through it).
    template = Path(__file__).parent / "fixtures" / "template.yaml"
    result = relay(
        "token", "alice", "--ttl", "60", "--template", str(template), "--state-dir", str(tmp_path)
    )

    assert result.returncode == 0
    secret_file = tmp_path / "jwt-secret"
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    claims = jwt.decode(result.stdout.strip(), secret_file.read_text(), algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 60
