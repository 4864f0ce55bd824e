"""Part 5: what counting a click costs in DynamoDB, and how fast one link's clicks are counted.

(a) Write and read units per click, for stated models of which links the clicks of
    one delivery (ten messages, a thousand clicks) fall on. The real ClickCounter
    writes to the template's ClicksTable in a moto server; every transaction and
    read is priced by DynamoDB's rules from the sizes of the items it touches (a
    transactional write is 2 WRU per KB of the larger of the item before and after;
    a consistent read 1 RRU per 4 KB, 1 for a missing item). docs/scale.md turns
    these figures into dollars.
(b) One viral link: clicks counted per second through ClickQueue and ClickConsumer
    under `relay run` (the real template, its SQS poller and worker pool), with the
    dead-letter queue checked empty afterwards.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import REDIS_URL, ROOT, PartResult, Row, bench_env, moto_server

DELIVERIES = 6
CLICKS_PER_DELIVERY = 1000
HOT_MESSAGES = 600  # 60,000 clicks of one link
NOW_MS = 1_795_000_000_000
UAS = (
    (0.60, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148"),
    (0.35, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131"),
    (0.05, "Googlebot/2.1 (+http://www.google.com/bot.html)"),
)
COUNTRIES = ("US", "IN", "BR", "DE", "GB", "FR", "JP", "ID", "MX", "NG")
REFERRERS = [f"https://{h}/" for h in ("t.co", "facebook.com", "google.com", "reddit.com")]
REFERRERS += [f"https://news{i}.example/" for i in range(16)]


# --- pricing ------------------------------------------------------------------


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def item_size(item: dict[str, Any] | None) -> int:
    """An item's size as DynamoDB bills it: names plus values (strings, numbers)."""
    if not item:
        return 0
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            size += _number_size(value["N"])
        else:
            size += len(json.dumps(value).encode())
    return size


class Meter:
    """Wraps a DynamoDB client's transact_write_items and batch_get_item to price them."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table
        self.wru = 0
        self.rru = 0
        self.transactions = 0
        self.items = 0
        self._write = client.transact_write_items
        self._read = client.batch_get_item
        client.transact_write_items = self.transact_write_items
        client.batch_get_item = self.batch_get_item

    def _sizes(self, keys: list[dict[str, Any]]) -> list[int]:
        """The sizes of these items now (0 when missing), read in one consistent batch."""
        if not keys:
            return []
        found = self._read(RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
        by_key = {(i["pk"]["S"], i["sk"]["S"]): i for i in found["Responses"][self.table]}
        return [item_size(by_key.get((k["pk"]["S"], k["sk"]["S"]))) for k in keys]

    def transact_write_items(self, **kwargs: Any) -> Any:
        entries = kwargs["TransactItems"]
        updated = [e["Update"]["Key"] for e in entries if "Update" in e]
        before = iter(self._sizes(updated))
        answer = self._write(**kwargs)
        after = iter(self._sizes(updated))
        self.transactions += 1
        for entry in entries:
            if "Update" in entry:
                size = max(next(before), next(after))
            else:
                size = item_size(entry["Put"]["Item"])
            self.wru += 2 * max(1, math.ceil(size / 1024))
            self.items += 1
        return answer

    def batch_get_item(self, **kwargs: Any) -> Any:
        answer = self._read(**kwargs)
        for table, request in kwargs["RequestItems"].items():
            found = {(i["pk"]["S"], i["sk"]["S"]): i for i in answer["Responses"].get(table, [])}
            for key in request["Keys"]:
                item = found.get((key["pk"]["S"], key["sk"]["S"]))
                self.rru += max(1, math.ceil(item_size(item) / 4096))
        return answer


# --- click models -------------------------------------------------------------


def zipf_sampler(rng: random.Random, links: int, s: float = 1.0) -> Callable[[], int]:
    """Link ranks with P(rank k) proportional to 1/k^s over `links` links (inverse CDF
    of the continuous approximation, exact enough for a bench's mix)."""
    if s != 1.0:
        raise ValueError("only s = 1")
    log_n = math.log(links + 1)

    def sample() -> int:
        return max(1, int(math.exp(rng.random() * log_n)))

    return sample


def _pick(rng: random.Random, weighted: tuple[tuple[float, str], ...]) -> str:
    roll, total = rng.random(), 0.0
    for weight, value in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][1]


def _deliveries(rng: random.Random, link_of: Callable[[], int]) -> list[list[Any]]:
    from relay.shortener.clicks import Batch, Click

    deliveries = []
    serial = 0
    for _ in range(DELIVERIES):
        batches = []
        for _ in range(CLICKS_PER_DELIVERY // 100):
            clicks = []
            for _ in range(100):
                serial += 1
                referer = rng.choice(REFERRERS) if rng.random() < 0.5 else ""
                clicks.append(
                    Click(
                        f"{serial:032x}",
                        f"L{link_of():09d}",
                        1,
                        NOW_MS + serial,
                        referer,
                        _pick(rng, UAS),
                        rng.choice(COUNTRIES),
                    )
                )
            batches.append(Batch.of(clicks))
        deliveries.append(batches)
    return deliveries


MODELS: dict[str, Callable[[random.Random], Callable[[], int]]] = {
    "Zipf s=1 over 10^6 links (the 80/20 rule's head-heavy end)": lambda rng: zipf_sampler(
        rng, 10**6
    ),
    "Zipf s=1 over 10^8 links (a day's new links)": lambda rng: zipf_sampler(rng, 10**8),
    "every click on its own link (the long tail's worst case)": lambda rng: (
        iter(range(1, 10**9)).__next__
    ),
}


def _client(moto_url: str) -> Any:
    """A DynamoDB client of its own (a Meter wraps the client it is given); credentials
    and region are the bench's environment."""
    import boto3

    return boto3.client("dynamodb", endpoint_url=moto_url)


def _units_per_click(moto_url: str) -> list[tuple[str, float, float, float, float]]:
    import httpx

    from bench.common import create_template_resources
    from relay.shortener.clicks_table import ClicksTable
    from relay.shortener.counting import ClickCounter

    httpx.post(f"{moto_url}/moto-api/reset")  # moto's state is per process: other parts ran
    create_template_resources(moto_url)
    figures = []
    for name, model in MODELS.items():
        rng = random.Random(7)
        store = ClicksTable(_client(moto_url), "ClicksTable")
        meter = Meter(store.client, "ClicksTable")
        counter = ClickCounter(store, lambda: NOW_MS, lambda s: None)
        deliveries = _deliveries(rng, model(rng))
        clicks = 0
        for batches in deliveries:
            outcome = counter.count(batches)
            clicks += outcome.counted
        figures.append(
            (
                name,
                meter.wru / clicks,
                meter.rru / clicks,
                meter.items / clicks,
                clicks / meter.transactions,
            )
        )
    return figures


# --- one viral link through the local stack -------------------------------------


def _hot_link(result: PartResult) -> None:
    import boto3

    from bench.stack import RAISED, Running, stack_ready
    from relay.shortener.clicks import Batch, Click

    why_not = stack_ready()
    if why_not:
        result.rows.append(Row("counting", "hot link", "not measured", note=why_not))
        return

    state = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    stack = Running(
        ROOT, state, "--parameter-overrides", *RAISED, env=bench_env(REDIS_URL=REDIS_URL)
    )
    try:
        kwargs = {
            "endpoint_url": stack.info["moto_url"],
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        sqs, dynamodb = boto3.client("sqs", **kwargs), boto3.client("dynamodb", **kwargs)
        queue = sqs.get_queue_url(QueueName="ClickQueue")["QueueUrl"]
        dead = sqs.get_queue_url(QueueName="ClickDeadLetterQueue")["QueueUrl"]
        ua, serial = UAS[0][1], 0
        bodies = []
        for _ in range(HOT_MESSAGES):
            clicks = []
            for _ in range(100):
                serial += 1
                clicks.append(
                    Click(
                        f"{serial:032x}",
                        "Viral01",
                        1,
                        NOW_MS + serial,
                        REFERRERS[serial % 20],
                        ua,
                        "US",
                    )
                )
            bodies.append(Batch.of(clicks).body())
        start = time.perf_counter()
        for first in range(0, len(bodies), 10):
            entries: list[Any] = [
                {"Id": str(i), "MessageBody": body}
                for i, body in enumerate(bodies[first : first + 10])
            ]
            sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        total = HOT_MESSAGES * 100
        counted = 0
        deadline = time.monotonic() + 300
        while counted < total and time.monotonic() < deadline:
            items = dynamodb.query(
                TableName="ClicksTable",
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "LINK#Viral01#1"}},
            )["Items"]
            counted = sum(int(item["clicks"]["N"]) for item in items if "clicks" in item)
            if counted < total:
                time.sleep(0.05)  # polling another process's progress
        elapsed = time.perf_counter() - start
        attributes = sqs.get_queue_attributes(
            QueueUrl=dead, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        in_dlq = int(attributes["ApproximateNumberOfMessages"])
    finally:
        stack.stop()
        shutil.rmtree(state, ignore_errors=True)
    ok = counted == total and in_dlq == 0
    result.rows.append(
        Row(
            "counting",
            f"one link, {total:,} clicks through ClickQueue and ClickConsumer (relay run)",
            f"{counted / elapsed:,.0f} clicks/s",
            "",
            None,
            "all counted, DLQ empty",
            "PASS" if ok else "MISS",
            f"counted {counted:,} of {total:,} in {elapsed:.1f} s, send included;"
            f" {in_dlq} in the dead-letter queue",
        )
    )


def run() -> PartResult:
    from relay_local.state import moto_speed

    result = PartResult("counting")
    moto_speed.install()  # transactions back up the items they touch, as in relay run
    with moto_server() as url:
        figures = _units_per_click(url)
    for name, wru, rru, items, per_transaction in figures:
        result.rows.append(
            Row(
                "counting",
                f"WRU per click: {name}",
                f"{wru:.2f} WRU, {rru:.2f} RRU",
                "4.5 WRU before",
                wru / 4.5,
                "information",
                "",
                f"{DELIVERIES} deliveries of {CLICKS_PER_DELIVERY} clicks; {items:.2f} items"
                f" written per click, {per_transaction:.0f} clicks per transaction",
            )
        )
    _hot_link(result)
    return result
