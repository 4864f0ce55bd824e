"""Event sources and resources of the fixture template beyond HTTP and SQS, driven from
outside: SNS topics and their subscriptions, S3 presigned URLs, generated secrets,
DynamoDB streams, template parameters, template edits, and `relay invoke` against a
running stack."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.localstack.conftest import Stack, eventually, make_project, relay

pytestmark = pytest.mark.xdist_group("localstack")

ITEMS_TABLE = "relay-test-items"
TOPIC = "arn:aws:sns:us-east-1:123456789012:Notifications"


def _item(stack: Stack, pk: str) -> dict[str, Any] | None:
    answer = stack.client("dynamodb").get_item(TableName=ITEMS_TABLE, Key={"pk": {"S": pk}})
    item: dict[str, Any] | None = answer.get("Item")
    return item


def _messages(stack: Stack, queue: str) -> list[dict[str, Any]]:
    answer = stack.client("sqs").receive_message(
        QueueUrl=stack.queue_url(queue),
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
        MessageAttributeNames=["All"],
    )
    return list(answer.get("Messages", []))


# --- SNS ----------------------------------------------------------------------------------


def test_a_published_message_reaches_the_function_whose_filter_matches(stack: Stack) -> None:
    sns = stack.client("sns")

    # Given one message the function's filter policy refuses and one it accepts
    sns.publish(
        TopicArn=TOPIC,
        Message="dropped-1",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "drop"}},
    )
    published = sns.publish(
        TopicArn=TOPIC,
        Message="kept-1",
        Subject="greetings",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "keep"}},
    )

    # Then the function gets SNS's Lambda event for the accepted one only
    item = eventually(lambda: _item(stack, "sns#kept-1"), what="SNS delivery")
    record = json.loads(item["record"]["S"])
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"].startswith(TOPIC + ":")
    sns_part = record["Sns"]
    assert sns_part["Type"] == "Notification"
    assert sns_part["MessageId"] == published["MessageId"]
    assert sns_part["TopicArn"] == TOPIC
    assert sns_part["Subject"] == "greetings"
    assert sns_part["MessageAttributes"] == {"kind": {"Type": "String", "Value": "keep"}}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sns_part["Timestamp"])
    assert {"SigningCertUrl", "UnsubscribeUrl", "Signature"} <= set(sns_part)
    assert _item(stack, "sns#dropped-1") is None


def test_raw_delivery_puts_the_message_and_its_attributes_on_the_queue(stack: Stack) -> None:
    stack.client("sns").publish(
        TopicArn=TOPIC,
        Message="raw-1",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "7"}},
    )

    messages = eventually(lambda: _messages(stack, "RawNotifications"), what="raw delivery")

    raw = next(m for m in messages if m["Body"] == "raw-1")
    assert raw["MessageAttributes"] == {"n": {"StringValue": "7", "DataType": "Number"}}


def test_an_email_subscription_prints_what_the_person_would_get(stack: Stack) -> None:
    stack.client("sns").publish(TopicArn=TOPIC, Subject="ALARM", Message="queue depth 3")

    line = stack.wait_for_output("-> email oncall@example.com: ALARM: queue depth 3")

    assert "SNS Notifications" in line


def test_an_sqs_subscription_carries_the_envelope_and_filters_on_the_body(stack: Stack) -> None:
    sns = stack.client("sns")
    sns.publish(TopicArn=TOPIC, Message=json.dumps({"queued": False, "n": "no"}))
    sns.publish(TopicArn=TOPIC, Message=json.dumps({"queued": True, "n": "yes"}))

    def queued() -> list[str]:
        return [
            key["S"]
            for item in stack.client("dynamodb").scan(TableName=ITEMS_TABLE)["Items"]
            if (key := item["pk"])["S"].startswith("snsqueue#")
        ]

    keys = eventually(queued, what="SNS -> SQS -> function")
    envelopes = [json.loads(key.removeprefix("snsqueue#")) for key in keys]
    assert [json.loads(e["Message"])["n"] for e in envelopes] == ["yes"]
    envelope = envelopes[0]
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == TOPIC
    assert "Subject" not in envelope and "MessageAttributes" not in envelope
    assert {"SigningCertURL", "UnsubscribeURL", "SignatureVersion"} <= set(envelope)


def test_publish_batch_delivers_every_entry(stack: Stack) -> None:
    keep = {"kind": {"DataType": "String", "StringValue": "keep"}}

    stack.client("sns").publish_batch(
        TopicArn=TOPIC,
        PublishBatchRequestEntries=[
            {"Id": "a", "Message": "batch-a", "MessageAttributes": keep},
            {"Id": "b", "Message": "batch-b", "MessageAttributes": keep},
        ],
    )

    assert eventually(lambda: _item(stack, "sns#batch-a") and _item(stack, "sns#batch-b"))


def test_a_failing_sns_delivery_is_retried_then_sent_to_the_on_failure_queue(
    stack: Stack,
) -> None:
    stack.client("sns").publish(
        TopicArn=TOPIC,
        Message="fail-sns-1",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "keep"}},
    )

    def failure() -> dict[str, Any] | None:
        for message in _messages(stack, "ShipperFailures"):
            record = json.loads(message["Body"])
            sns_records = record.get("requestPayload", {}).get("Records", [{}])
            if sns_records[0].get("Sns", {}).get("Message") == "fail-sns-1":
                return record
        return None

    record = eventually(failure, timeout=20, what="failed SNS delivery on ShipperFailures")
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2  # MaximumRetryAttempts 1
    assert record["responsePayload"]["errorType"] == "RuntimeError"


# --- S3 -----------------------------------------------------------------------------------


def test_presigned_put_and_get_urls_made_by_a_handler_work_from_a_client(stack: Stack) -> None:
    urls = stack.http.get("/presign/notes.txt").json()

    put = httpx.put(urls["put"], content=b"hello s3", headers={"Content-Type": "text/plain"})
    got = httpx.get(urls["get"])

    assert put.status_code == 200
    assert got.status_code == 200 and got.content == b"hello s3"


def test_s3_refuses_what_the_signature_does_not_cover(stack: Stack) -> None:
    urls = stack.http.get("/presign/signed.txt").json()

    other_type = httpx.put(urls["put"], content=b"x", headers={"Content-Type": "text/html"})
    other_key = httpx.put(urls["put"].replace("signed.txt", "other.txt"), content=b"x")

    assert other_type.status_code == 403 and b"SignatureDoesNotMatch" in other_type.content
    assert other_key.status_code == 403


def test_a_presigned_post_enforces_its_policy(stack: Stack) -> None:
    post = stack.http.get("/presign/avatar.png").json()["post"]

    def upload(data: bytes) -> httpx.Response:
        return httpx.post(post["url"], data=post["fields"], files={"file": ("a.png", data)})

    assert upload(b"\x89PNG" * 10).status_code == 204
    too_large = upload(b"x" * 2048)
    assert too_large.status_code == 400 and b"EntityTooLarge" in too_large.content


# --- secrets ------------------------------------------------------------------------------


def test_a_generated_secret_is_readable_by_a_function_and_by_dynamic_reference(
    stack: Stack,
) -> None:
    secret = stack.http.get("/secret").json()

    assert secret["length"] == 40
    assert secret["inEnvironment"] is True


# --- DynamoDB streams ---------------------------------------------------------------------


def test_table_changes_reach_the_stream_function_in_order_without_no_op_writes(
    stack: Stack,
) -> None:
    dynamodb = stack.client("dynamodb")

    dynamodb.put_item(TableName="EventsTable", Item={"pk": {"S": "s1"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName="EventsTable", Item={"pk": {"S": "s1"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName="EventsTable", Item={"pk": {"S": "s1"}, "v": {"N": "2"}})
    dynamodb.delete_item(TableName="EventsTable", Key={"pk": {"S": "s1"}})

    removed = eventually(lambda: _item(stack, "stream#s1#REMOVE"), what="REMOVE record")
    inserted = json.loads(_item(stack, "stream#s1#INSERT")["record"]["S"])  # type: ignore[index]
    modified = json.loads(_item(stack, "stream#s1#MODIFY")["record"]["S"])  # type: ignore[index]
    record = json.loads(removed["record"]["S"])
    assert inserted["eventSource"] == "aws:dynamodb" and inserted["eventVersion"] == "1.1"
    assert inserted["eventSourceARN"].endswith(":table/EventsTable/stream/local")
    assert "OldImage" not in inserted["dynamodb"]
    assert modified["dynamodb"]["OldImage"]["v"] == {"N": "1"}
    assert modified["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "s1"}}
    assert "NewImage" not in record["dynamodb"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in (inserted, modified, record)]
    assert sequence == sorted(sequence) and len(set(sequence)) == 3
    # The repeated identical put made no record: INSERT, MODIFY and REMOVE are consecutive.
    assert sequence[2] - sequence[0] == 2
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)


def test_stream_records_no_filter_matches_never_reach_the_function(stack: Stack) -> None:
    dynamodb = stack.client("dynamodb")
    # Given the filters (a modify or remove, or a new image whose key does not start
    # "skip-"): an insert that matches neither, then changes that match
    dynamodb.put_item(TableName="EventsTable", Item={"pk": {"S": "skip-s2"}})
    dynamodb.put_item(TableName="EventsTable", Item={"pk": {"S": "skip-s2"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName="EventsTable", Item={"pk": {"S": "kept-s2"}})

    # Then records after the filtered insert arrive, and it never does
    eventually(lambda: _item(stack, "stream#kept-s2#INSERT"), what="the matching insert")
    assert _item(stack, "stream#skip-s2#MODIFY") is not None
    assert _item(stack, "stream#skip-s2#INSERT") is None


def test_a_reported_stream_failure_is_retried_from_that_record(stack: Stack) -> None:
    stack.client("dynamodb").put_item(TableName="EventsTable", Item={"pk": {"S": "flaky-1"}})

    assert eventually(lambda: _item(stack, "stream#flaky-1#INSERT"), what="retried record")
    assert _item(stack, "seen#flaky-1") is not None  # the first attempt did fail
    stack.wait_for_output("failed from")


# --- template parameters ------------------------------------------------------------------


def test_a_parameter_override_reaches_the_functions(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    running = Stack(project, tmp_path / "state", "--parameter-overrides", "Greeting=howdy")
    try:
        assert running.http.get("/echo/p").json()["env"]["GREETING"] == "howdy"
        running.wait_for_output("Greeting=howdy")
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ("Greeting=NotLower", "does not match"),
        ("BatchLimit=1000", "above MaxValue"),
        ("Nope=1", "has no parameter Nope"),
        ("justaword", "is not Key=Value"),
    ],
)
def test_a_bad_parameter_override_stops_the_stack_with_a_reason(
    tmp_path: Path, override: str, complaint: str
) -> None:
    project = make_project(tmp_path)

    done = relay(
        "run",
        "--http-port",
        "0",
        "--ws-port",
        "0",
        "--cognito-port",
        "0",
        "--state-dir",
        str(tmp_path / "state"),
        "--parameter-overrides",
        override,
        cwd=project,
    )

    assert done.returncode == 2
    assert complaint in done.stderr


# --- relay invoke through the running stack ------------------------------------------------


def test_relay_invoke_uses_the_running_stacks_warm_workers(stack: Stack, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"rawPath": "/invoked"}))
    args = ["invoke", "Echo", "-e", str(event), "--template", str(stack.template)]
    args += ["--state-dir", str(stack.state_dir)]

    first = relay(*args)
    second = relay(*args)

    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert "of the running stack" in second.stderr
    assert "(warm)" in second.stderr
    assert json.loads(json.loads(second.stdout)["body"])["event"] == {"rawPath": "/invoked"}
    stack.wait_for_output("relay invoke -> Echo ok")


# --- template edits -----------------------------------------------------------------------


def test_a_template_edit_applies_without_a_restart_and_keeps_state(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    running = Stack(project, tmp_path / "state")
    try:
        running.client("dynamodb").put_item(TableName=ITEMS_TABLE, Item={"pk": {"S": "kept"}})
        warm_pid = running.http.get("/echo/before").json()["pid"]
        assert running.http.get("/added").status_code == 404
        running.wait_for_output("OpenAPI document", timeout=30)
        assert "/docs/hello" not in running.http.get("/api/openapi.json").json()["paths"]

        # When a route, a queue and a table are added to template.yaml
        template = project / "template.yaml"
        text = template.read_text()
        text = text.replace(
            "  Fixed:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            "      CodeUri: functions/fixed\n      Events:\n",
            "  Fixed:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            "      CodeUri: functions/fixed\n      Events:\n"
            "        Added:\n          Type: HttpApi\n"
            "          Properties: {Method: GET, Path: /added, Auth: {Authorizer: NONE}}\n",
        )
        text += (
            "\n  Docs:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            "      CodeUri: functions/docs\n      Events:\n        Hello:\n"
            "          Type: HttpApi\n"
            "          Properties: {Method: GET, Path: /docs/hello, Auth: {Authorizer: NONE}}\n"
            "\n  AddedQueue:\n    Type: AWS::SQS::Queue\n"
            "\n  AddedTable:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
            "      BillingMode: PAY_PER_REQUEST\n"
            "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
            "      KeySchema: [{AttributeName: id, KeyType: HASH}]\n"
        )
        template.write_text(text)

        # Then they are served, created and kept, and unchanged functions stay warm
        running.wait_for_output("template.yaml changed: +routes GET /added", timeout=20)
        assert running.http.get("/added").text == "v1"
        assert running.queue_url("AddedQueue").endswith("/AddedQueue")
        tables = running.client("dynamodb").list_tables()["TableNames"]
        assert "AddedTable" in tables
        assert _item(running, "kept") is not None
        assert running.http.get("/echo/after").json()["pid"] == warm_pid
        assert running.http.get("/docs/hello").json() == {"hello": "docs"}
        # and the OpenAPI document is made again from the functions the template now has
        eventually(
            lambda: "/docs/hello" in running.http.get("/api/openapi.json").json()["paths"],
            timeout=30,
            what="the new route in the OpenAPI document",
        )

        # And a template that does not parse is refused, the stack serving on
        template.write_text(text + "\n  Broken: [\n")
        running.wait_for_output("template.yaml not applied", timeout=20)
        assert running.http.get("/added").text == "v1"
    finally:
        running.stop()


# --- state across restarts ----------------------------------------------------------------


def test_objects_secrets_streams_and_pending_invocations_survive_a_kill(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    state = tmp_path / "state"
    first = Stack(project, state, "--async-retry-delay", "0")
    try:
        urls = first.http.get("/presign/kept.txt").json()
        httpx.put(urls["put"], content=b"kept object", headers={"Content-Type": "text/plain"})
        secret = first.http.get("/secret").json()
        first.client("dynamodb").put_item(TableName="EventsTable", Item={"pk": {"S": "once"}})
        eventually(lambda: _item(first, "stream#once#INSERT"), what="stream record")
        first.client("dynamodb").delete_item(
            TableName=ITEMS_TABLE, Key={"pk": {"S": "stream#once#INSERT"}}
        )
    finally:
        first.kill()

    # An asynchronous invocation accepted but not made (as after a kill -9 in between)
    pending = {
        "id": "feedfacecafebeef",
        "function": "SnsReader",
        "event": {"Records": [{"Sns": {"Message": "recovered-1"}}]},
        "source": "SNS Notifications (test)",
        "first": time.time(),
        "attempts": 0,
    }
    with (state / "async-invocations.jsonl").open("a") as journal:
        journal.write(json.dumps({"add": pending}) + "\n")

    second = Stack(project, state, "--async-retry-delay", "0")
    try:
        urls = second.http.get("/presign/kept.txt").json()
        assert httpx.get(urls["get"]).content == b"kept object"
        assert second.http.get("/secret").json() == secret
        assert eventually(lambda: _item(second, "sns#recovered-1"), what="recovered invocation")
        # the stream's checkpoint survived: the record already handled is not sent again
        second.client("dynamodb").put_item(TableName="EventsTable", Item={"pk": {"S": "twice"}})
        eventually(lambda: _item(second, "stream#twice#INSERT"), what="a new stream record")
        assert _item(second, "stream#once#INSERT") is None
    finally:
        second.stop()
