"""The clicks table: a link's counters, its referrer summary, and batch markers.

The only module that knows the table's keys and attribute names. A link's
partition is `LINK#<code>#<generation>` (a code deleted and claimed again starts
from zero) and holds at most a few hundred small items, so a link's analytics are
one query:
- `SUM`: the total, and one number per device class (`d_<class>`), country
  (`c_<XX>`) and the direct visits (`r_direct`), all added in one update;
- `DAY#<date>`: the clicks of one day, kept a year (TTL);
- `REFS`: the top referrer hosts (`TopK`), rewritten only by a batch that has
  some, on condition that nobody rewrote it since it was read.

A batch that was counted leaves `BATCH#<id>`, written in the same transaction as
its counters on condition that it is new: that is what makes counting
exactly-once. Markers expire after two weeks, longer than any message lives.

Counter names are chosen at run time (a device class, a country), which PynamoDB
models cannot declare, so the store speaks DynamoDB's own API through PynamoDB's
connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.connection import Connection

from relay.shortener.clicks import DIRECT
from relay.shortener.topk import TopK

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit
MARKER_TTL_S = 14 * 86_400  # longer than any SQS retention: a redelivery always finds it
DAY_TTL_S = 400 * 86_400  # a year of daily counts, and a little slack


@dataclass(frozen=True)
class LinkKey:
    code: str
    generation: int


@dataclass
class Increments:
    """What some clicks add to one link's counters."""

    total: int = 0
    devices: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)
    referrers: dict[str, int] = field(default_factory=dict)  # host (or DIRECT) -> clicks

    @property
    def hosts(self) -> dict[str, int]:
        return {host: n for host, n in self.referrers.items() if host != DIRECT}

    def items(self) -> int:
        """How many table items adding it writes."""
        return 1 + len(self.days) + (1 if self.hosts else 0)


@dataclass(frozen=True)
class Referrers:
    """A link's referrer summary as read, with the version a write must find."""

    top: TopK
    version: int


@dataclass(frozen=True)
class Counters:
    """Everything a link's partition holds, as read."""

    total: int
    devices: dict[str, int]
    countries: dict[str, int]
    days: dict[str, int]
    direct: int
    referrers: TopK


class Conflict(Exception):
    """Another writer changed what this write depends on; read again and retry."""


class AlreadyCounted(Exception):
    """A batch's marker exists: that batch was counted before."""

    def __init__(self, batch_id: str) -> None:
        super().__init__(batch_id)
        self.batch_id = batch_id


class Refused(Exception):
    """DynamoDB refused the write as invalid (ValidationException): retrying cannot help."""


def link_partition(link: LinkKey) -> str:
    return f"LINK#{link.code}#{link.generation}"


def _s(text: str) -> dict[str, str]:
    return {"S": text}


def _n(number: int) -> dict[str, str]:
    return {"N": str(number)}


class ClickStore:
    def __init__(self, table: str, region: str, host: str | None = None) -> None:
        self.table = table
        self._connection = Connection(region=region, host=host)

    @classmethod
    def from_settings(cls) -> ClickStore:
        """The deployment's clicks table, as the template names it."""
        from relay.platform.config import settings

        conf = settings()
        return cls(conf.clicks_table, conf.aws_region, conf.aws_endpoint_url)

    @property
    def _client(self) -> Any:
        return self._connection.client

    def referrers(self, links: Iterable[LinkKey]) -> dict[LinkKey, Referrers]:
        """The referrer summaries of these links, read consistently (a write follows)."""
        wanted = {link_partition(link): link for link in links}
        found = {link: Referrers(TopK(), 0) for link in wanted.values()}
        keys = [{"pk": _s(pk), "sk": _s("REFS")} for pk in wanted]
        while keys:
            request = {self.table: {"Keys": keys[:100], "ConsistentRead": True}}
            keys = keys[100:]
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    top = TopK.loads(item.get("entries", {}).get("S", "{}"))
                    version = int(item.get("version", {}).get("N", "0"))
                    found[wanted[item["pk"]["S"]]] = Referrers(top, version)
                request = answer.get("UnprocessedKeys") or {}
        return found

    def add(
        self,
        batch_ids: list[str],
        increments: Mapping[LinkKey, Increments],
        referrers: Mapping[LinkKey, tuple[Referrers, TopK]],
        now_ms: int,
    ) -> None:
        """Write the batches' markers and their counters in one transaction.

        `referrers` holds, for each link whose clicks name referrer hosts, its summary
        as read and as it should become: the write finds the version it read, or it
        raises Conflict. AlreadyCounted names a batch whose marker exists."""
        now_s = now_ms // 1000
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": _s(f"BATCH#{batch_id}"),
                        "sk": _s("-"),
                        "ttl": _n(now_s + MARKER_TTL_S),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for batch_id in batch_ids
        ]
        for link, adds in increments.items():
            pk = link_partition(link)
            items.append(self._sum_update(pk, adds))
            for day, n in sorted(adds.days.items()):
                items.append(
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": _s(pk), "sk": _s(f"DAY#{day}")},
                            "UpdateExpression": "ADD clicks :n SET #ttl = :ttl",
                            "ExpressionAttributeNames": {"#ttl": "ttl"},
                            "ExpressionAttributeValues": {
                                ":n": _n(n),
                                ":ttl": _n(now_s + DAY_TTL_S),
                            },
                        }
                    }
                )
        for link, (before, after) in referrers.items():
            put: dict[str, Any] = {
                "TableName": self.table,
                "Item": {
                    "pk": _s(link_partition(link)),
                    "sk": _s("REFS"),
                    "entries": _s(after.dumps()),
                    "version": _n(before.version + 1),
                },
            }
            if before.version == 0:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "version = :v"
                put["ExpressionAttributeValues"] = {":v": _n(before.version)}
            items.append({"Put": put})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            raise _translated(error, batch_ids) from error

    def _sum_update(self, pk: str, adds: Increments) -> dict[str, Any]:
        counters = {"clicks": adds.total}
        counters.update({f"d_{name}": n for name, n in adds.devices.items()})
        counters.update({f"c_{name}": n for name, n in adds.countries.items()})
        if adds.referrers.get(DIRECT):
            counters["r_direct"] = adds.referrers[DIRECT]
        names = {f"#a{i}": name for i, name in enumerate(sorted(counters))}
        values = {f":a{i}": _n(counters[name]) for i, name in enumerate(sorted(counters))}
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": _s(pk), "sk": _s("SUM")},
                "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(names))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def read(self, link: LinkKey) -> Counters:
        """A link's whole partition: one query over a bounded set of items."""
        total = direct = 0
        devices: dict[str, int] = {}
        countries: dict[str, int] = {}
        days: dict[str, int] = {}
        top = TopK()
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(link_partition(link))},
        }
        while True:
            page = self._client.query(**request)
            for item in page.get("Items", []):
                sk = item["sk"]["S"]
                if sk == "SUM":
                    for name, value in item.items():
                        if name == "clicks":
                            total = int(value["N"])
                        elif name == "r_direct":
                            direct = int(value["N"])
                        elif name.startswith("d_"):
                            devices[name[2:]] = int(value["N"])
                        elif name.startswith("c_"):
                            countries[name[2:]] = int(value["N"])
                elif sk == "REFS":
                    top = TopK.loads(item.get("entries", {}).get("S", "{}"))
                elif sk.startswith("DAY#"):
                    days[sk[4:]] = int(item.get("clicks", {}).get("N", "0"))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return Counters(total, devices, countries, days, direct, top)


def _translated(error: ClientError, batch_ids: list[str]) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ValidationException":
        return Refused(str(error))
    if code != "TransactionCanceledException":
        return error
    reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
    for index, batch_id in enumerate(batch_ids):
        if index < len(reasons) and reasons[index] == "ConditionalCheckFailed":
            return AlreadyCounted(batch_id)
    if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
        return Conflict()
    if "ValidationError" in reasons:
        return Refused(str(error))
    return error
