"""The storage kit every store shares: batches split to DynamoDB's limits, unprocessed
keys retried with back-off (bounded), cancellation reasons read one way, one cursor codec."""

from __future__ import annotations

import functools
import types

import pytest
from botocore.exceptions import ClientError

from relay.platform import clients, cursors, dynamo
from relay.platform.errors import Invalid


class Throttled:
    """A DynamoDB client that leaves the first key of each call unprocessed `times` times."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls: list[dict] = []

    def batch_get_item(self, RequestItems):
        self.calls.append(RequestItems)
        responses, leftover = {}, {}
        for table, request in RequestItems.items():
            keys = list(request["Keys"])
            if self.times > 0:
                leftover[table] = {**request, "Keys": keys[:1]}
                keys = keys[1:]
            responses[table] = [dict(key) for key in keys]
        self.times -= 1
        return {"Responses": responses, "UnprocessedKeys": leftover}

    def batch_write_item(self, RequestItems):
        self.calls.append(RequestItems)
        leftover = {}
        if self.times > 0:
            leftover = {table: requests[:1] for table, requests in RequestItems.items()}
        self.times -= 1
        return {"UnprocessedItems": leftover}


class Pauses:
    def __init__(self) -> None:
        self.ceilings: list[float] = []

    def backoff(self) -> dynamo.Backoff:
        return dynamo.Backoff(sleep=lambda s: None, jitter=self._jitter)

    def _jitter(self, low: float, high: float) -> float:
        self.ceilings.append(high)
        return high


def keys(count: int, table_prefix: str = "k") -> list[dict]:
    return [{"pk": {"S": f"{table_prefix}{i}"}} for i in range(count)]


def test_a_batch_get_is_split_into_calls_of_at_most_a_hundred_keys():
    client = Throttled(times=0)

    found = dynamo.batch_get(client, {"A": keys(150), "B": keys(70)})

    assert [sum(len(r["Keys"]) for r in call.values()) for call in client.calls] == [100, 100, 20]
    assert len(found["A"]) == 150 and len(found["B"]) == 70


def test_unprocessed_keys_are_retried_with_a_growing_jittered_pause_until_none_are_left():
    client, pauses = Throttled(times=3), Pauses()

    found = dynamo.batch_get(client, {"A": keys(5)}, backoff=pauses.backoff())

    assert len(found["A"]) == 5
    assert pauses.ceilings == [0.02, 0.04, 0.08]


def test_a_batch_that_stays_unprocessed_gives_up_after_the_last_round():
    client, pauses = Throttled(times=1_000), Pauses()

    with pytest.raises(dynamo.Unprocessed):
        dynamo.batch_write(client, "A", puts=[{"pk": {"S": "x"}}], backoff=pauses.backoff())

    assert len(client.calls) == dynamo.MAX_ROUNDS
    assert max(pauses.ceilings) == dynamo.BACKOFF_CAP_S


def test_a_batch_write_is_split_into_calls_of_at_most_twenty_five_requests():
    client = Throttled(times=0)

    dynamo.batch_write(client, "A", puts=keys(30), deletes=keys(30, "d"))

    assert [len(call["A"]) for call in client.calls] == [25, 25, 10]


def test_cancellation_reasons_are_read_in_the_order_of_the_transaction_items():
    cancelled = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}, {}],
        },
        "TransactWriteItems",
    )
    other = ClientError({"Error": {"Code": "ValidationException"}}, "TransactWriteItems")

    assert dynamo.cancellation_reasons(cancelled) == ["None", "ConditionalCheckFailed", "None"]
    assert dynamo.cancellation_reasons(other) == []


def test_a_cursor_reads_back_as_the_position_it_was_made_from():
    cursor = cursors.encode("alice", ["2026-12-07T00:00:00.000Z", 42])

    position = cursors.decode(cursor, "alice", [cursors.text(str.isascii), cursors.whole()])

    assert position == ["2026-12-07T00:00:00.000Z", 42]


@pytest.mark.parametrize(
    "cursor",
    [
        cursors.encode("bob", ["x", 1]),  # another list's
        cursors.encode("alice", ["x"]),  # another shape
        cursors.encode("alice", ["x", -1]),  # a part its check refuses
        cursors.encode("alice", ["x", True]),  # a bool is not a number here
        "not-base64!",
        "W10",  # []
        "e30",  # {}
        "A" * (cursors.MAX_CURSOR + 1),
        "\ud800",
    ],
)
def test_a_cursor_not_made_for_this_list_is_refused_alike(cursor):
    with pytest.raises(Invalid) as refused:
        cursors.decode(cursor, "alice", [cursors.text(str.isascii), cursors.whole()])

    assert refused.value.code == "invalid_cursor" and refused.value.status == 400


def test_counters_of_one_item_move_together_whatever_their_names(aws):
    key = {"pk": {"S": "LINK#kit#1"}, "sk": {"S": "MONTH#2026-12"}}
    deltas = {"clicks": 2, "c_DE": 1, "a name, with: punctuation": 3}

    for _ in range(2):
        aws.dynamodb.update_item(**dynamo.add_counts("ClicksTable", key, deltas))

    item = aws.dynamodb.get_item(TableName="ClicksTable", Key=key)["Item"]
    assert {name: int(item[name]["N"]) for name in deltas} == {
        "clicks": 4,
        "c_DE": 2,
        "a name, with: punctuation": 6,
    }


def test_a_client_on_first_use_is_made_when_first_called_and_only_then():
    made = []

    @functools.cache
    def make():
        made.append("client")
        return types.SimpleNamespace(ping=lambda: "pong")

    client = clients.OnFirstUse(make)
    assert made == []

    assert client.ping() == "pong" and client.ping() == "pong"
    assert made == ["client"]
