"""Clicks after the redirect logged them (click_log.py): read back, packed into batches,
counted once (counting.py).

A batch is the unit of exactly-once counting: its id is a digest of its clicks' ids,
and `pack` cuts the same lines into the same batches every time, so a delivery that
is retried, or redriven from the dead-letter queue, produces batches the counter has
already seen. Referrer host and device class are worked out here, by the consumer,
from the raw values the redirect logged, and every value that becomes a key is
bounded in bytes and characters (relay.shortener.rules).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from relay.shortener.click_log import KIND
from relay.shortener.codes import PLAUSIBLE
from relay.shortener.rules import CLICKS_PER_BATCH, MAX_BATCH_BYTES, MAX_HEADER, MAX_HOST_BYTES

DIRECT = "direct"  # the referrer of a click that names none


@dataclass(frozen=True)
class Click:
    id: str
    code: str
    gen: int  # the link's creation time: a code reused later is another link
    ts: int
    referer: str
    ua: str
    country: str


def _serialized(click: Click) -> str:
    return json.dumps(asdict(click), separators=(",", ":"))


@dataclass(frozen=True)
class Batch:
    """Clicks counted together, once: `id` is a digest of the clicks themselves."""

    id: str
    clicks: tuple[Click, ...]

    @classmethod
    def of(cls, clicks: Iterable[Click]) -> Batch:
        members = tuple(clicks)
        digest = hashlib.sha256(",".join(map(_serialized, members)).encode()).hexdigest()
        return cls(digest[:32], members)

    def body(self) -> str:
        """The batch as a click queue message (`unpack` reads it back)."""
        return f'{{"batch":"{self.id}","clicks":[{",".join(map(_serialized, self.clicks))}]}}'

    def halves(self) -> tuple[Batch, Batch]:
        """Two batches of the first and second half, with ids of their own (deterministic)."""
        middle = len(self.clicks) // 2
        return (
            Batch(f"{self.id}.0", self.clicks[:middle]),
            Batch(f"{self.id}.1", self.clicks[middle:]),
        )


_ID = re.compile(r"[0-9a-f]{32}")


def parse(raw: object) -> Click:
    """A click from its logged form; ValueError for anything else (a poison line)."""
    if not isinstance(raw, dict) or raw.get("kind", KIND) != KIND:
        raise ValueError(f"not a click: {raw!r:.200}")
    try:
        click = Click(
            id=str(raw["id"]),
            code=str(raw["code"]),
            gen=int(raw["gen"]),
            ts=int(raw["ts"]),
            referer=str(raw.get("referer", ""))[:MAX_HEADER],
            ua=str(raw.get("ua", ""))[:MAX_HEADER],
            country=str(raw.get("country", ""))[:2],
        )
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"not a click: {raw!r:.200}") from error
    if not _ID.fullmatch(click.id) or not PLAUSIBLE.fullmatch(click.code) or click.gen < 0:
        raise ValueError(f"not a click: {raw!r:.200}")
    return click


def _click_of(line: str) -> Click | None:
    try:
        return parse(json.loads(line))
    except (ValueError, RecursionError):
        return None


def pack(lines: Iterable[str]) -> list[Batch]:
    """The clicks among log lines, cut into batches: at most CLICKS_PER_BATCH clicks and
    MAX_BATCH_BYTES each, in order. The same lines always give the same batches."""
    batches: list[list[Click]] = [[]]
    size = 0
    for line in lines:
        click = _click_of(line)
        if click is None:
            continue
        weight = len(_serialized(click).encode()) + 1
        if len(batches[-1]) == CLICKS_PER_BATCH or size + weight + 64 > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(click)
        size += weight
    return [Batch.of(clicks) for clicks in batches if clicks]


def unpack(body: str) -> Batch:
    """The batch of one click queue message; ValueError when the message is not one."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError("message body is not JSON") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("clicks"), list):
        raise ValueError("message body has no clicks")
    batch = Batch.of(parse(raw) for raw in payload["clicks"])
    if payload.get("batch") != batch.id:
        raise ValueError("the batch id does not match its clicks")
    return batch


_BOT = re.compile(r"bot|crawl|spider|slurp|curl|wget|python-|httpclient|headless|preview", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk|playbook|(android(?!.*mobile))", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|windows phone|blackberry|opera mini", re.I)
_DESKTOP = re.compile(r"windows nt|macintosh|mac os x|x11|linux|cros", re.I)
DEVICES = ("bot", "tablet", "mobile", "desktop", "other")


def device_class(user_agent: str) -> str:
    """bot, tablet, mobile, desktop or other: the classes analytics reports."""
    if not user_agent:
        return "other"
    for name, pattern in (
        ("bot", _BOT),
        ("tablet", _TABLET),
        ("mobile", _MOBILE),
        ("desktop", _DESKTOP),
    ):
        if pattern.search(user_agent):
            return name
    return "other"


_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")


def referrer_host(referer: str) -> str:
    """The referring site as an ASCII host name of at most MAX_HOST_BYTES: `direct` when
    there is none, `other` when the header names no host a browser could have sent."""
    if not referer:
        return DIRECT
    try:
        host = urlsplit(referer).hostname
    except ValueError:
        return "other"
    if not host:
        return DIRECT
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return "other"
    host = host.lower().rstrip(".").removeprefix("www.")
    if not _HOST.fullmatch(host):
        return "other"
    while len(host) > MAX_HOST_BYTES and "." in host:
        host = host.split(".", 1)[1]  # keep the registrable end of an absurdly long name
    return host if len(host) <= MAX_HOST_BYTES else "other"


def country(code: str) -> str:
    code = code.strip().upper()
    return code if re.fullmatch(r"[A-Z]{2}", code) else "unknown"
