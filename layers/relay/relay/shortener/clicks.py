"""Clicks: written by the redirect as one log line each, shipped to SQS, counted once.

The redirect must not wait on the network to record a click, and must not lose one.
So it writes a JSON line to its log (microseconds, no round trip); CloudWatch Logs
keeps it and a subscription filter hands it to ClickShipper, which packs lines into
SQS messages; ClickConsumer counts them (analytics.py). The figures behind this
choice are in docs/decisions.md.

The hot path does no parsing: referrer host and device class are worked out by the
consumer, from the raw headers the redirect logged.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

KIND = "click"
MAX_HEADER = 512
CLICKS_PER_MESSAGE = 100
# Well under SQS's message limit (256 KiB, the older and smaller of its limits), so a
# batch of them can be cut to fit a request too (see shipping.py).
MAX_MESSAGE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Click:
    id: str
    code: str
    gen: int  # the link's creation time: a code reused later is another link
    ts: int
    referer: str
    ua: str
    country: str


def _stdout(line: str) -> None:
    # Looked up per call: Lambda's runtime (and the local stack) may swap sys.stdout.
    sys.stdout.write(line)
    sys.stdout.flush()


class ClickLog:
    """Where the redirect records a click: one structured line on the function's log."""

    def __init__(self, write: Callable[[str], None] = _stdout) -> None:
        self._write = write

    def record(self, code: str, generation: int, now_ms: int, headers: dict[str, str]) -> None:
        line = {
            "kind": KIND,
            "id": secrets.token_hex(16),
            "code": code,
            "gen": generation,
            "ts": now_ms,
            "referer": headers.get("referer", "")[:MAX_HEADER],
            "ua": headers.get("user-agent", "")[:MAX_HEADER],
            "country": headers.get("cloudfront-viewer-country", ""),
        }
        self._write(json.dumps(line, separators=(",", ":")) + "\n")


def parse(raw: object) -> Click:
    """A click from its logged form; ValueError for anything else (a poison message)."""
    if not isinstance(raw, dict) or raw.get("kind", KIND) != KIND:
        raise ValueError(f"not a click: {raw!r:.200}")
    try:
        click = Click(
            id=str(raw["id"]),
            code=str(raw["code"]),
            gen=int(raw["gen"]),
            ts=int(raw["ts"]),
            referer=str(raw.get("referer", "")),
            ua=str(raw.get("ua", "")),
            country=str(raw.get("country", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a click: {raw!r:.200}") from error
    if not click.id or not click.code:
        raise ValueError(f"not a click: {raw!r:.200}")
    return click


def pack(lines: Iterable[str]) -> list[str]:
    """SQS message bodies for the clicks among log lines: at most CLICKS_PER_MESSAGE
    clicks and MAX_MESSAGE_BYTES each. How clicks are grouped does not matter
    downstream: each is counted once by its own id (analytics.py)."""
    messages: list[list[str]] = [[]]
    size = 0
    for line in lines:
        try:
            click = json.dumps(asdict(parse(json.loads(line))), separators=(",", ":"))
        except ValueError:
            continue
        if len(messages[-1]) == CLICKS_PER_MESSAGE or size + len(click) + 16 > MAX_MESSAGE_BYTES:
            messages.append([])
            size = 0
        messages[-1].append(click)
        size += len(click) + 1
    return ['{"clicks":[' + ",".join(clicks) + "]}" for clicks in messages if clicks]


def log_lines(awslogs: object) -> list[str]:
    """The log lines of a CloudWatch Logs subscription delivery (`event["awslogs"]`);
    none for CloudWatch's own control message."""
    import base64  # not on the redirect's path, which imports this module too
    import gzip

    try:
        data = awslogs["data"]  # type: ignore[index]
        delivery = json.loads(gzip.decompress(base64.b64decode(data)))
    except (TypeError, KeyError, ValueError, OSError) as error:
        raise ValueError("not a CloudWatch Logs delivery") from error
    if delivery.get("messageType") != "DATA_MESSAGE":
        return []
    return [str(event["message"]) for event in delivery.get("logEvents", [])]


def unpack(body: str) -> list[Click]:
    """The clicks of one SQS message; ValueError when the message is not ours.

    Two shapes: a batch ClickShipper packed, or the record Lambda leaves on the
    dead-letter queue when a delivery to ClickShipper failed for good, which holds
    the delivery itself. So redriving the dead-letter queue to the click queue
    counts those clicks too.
    """
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as error:
        raise ValueError("message body is not JSON") from error
    if isinstance(payload, dict) and isinstance(payload.get("requestPayload"), dict):
        lines = log_lines(payload["requestPayload"].get("awslogs"))
        return [parse(json.loads(line)) for line in lines if _is_click(line)]
    if not isinstance(payload, dict) or not isinstance(payload.get("clicks"), list):
        raise ValueError("message body has no clicks")
    return [parse(raw) for raw in payload["clicks"]]


def _is_click(line: str) -> bool:
    try:
        return json.loads(line).get("kind") == KIND  # type: ignore[no-any-return]
    except (ValueError, AttributeError):
        return False


_BOT = re.compile(r"bot|crawl|spider|slurp|curl|wget|python-|httpclient|headless|preview", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk|playbook|(android(?!.*mobile))", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|windows phone|blackberry|opera mini", re.I)
_DESKTOP = re.compile(r"windows nt|macintosh|mac os x|x11|linux|cros", re.I)


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


def referrer_host(referer: str) -> str:
    """The referring site, `direct` when there is none."""
    if not referer:
        return "direct"
    try:
        host = urlsplit(referer).hostname
    except ValueError:
        host = None
    if not host:
        return "direct"
    return host.removeprefix("www.")


def country(code: str) -> str:
    code = code.strip().upper()
    return code if re.fullmatch(r"[A-Z]{2}", code) else "unknown"
