"""Part 2: ways to record a click, per click, measured in the same run (docs/decisions.md).

(a) the redirect's way: ClickLog.record, one JSON line on a file-backed stdout;
(b) a synchronous SQS SendMessage to a moto server on loopback;
(c) the same SendMessage's client-side cost only: botocore with the HTTP send
    stubbed out (serialise, sign, parse), i.e. what (b) costs before the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from bench.common import PartResult, Row, moto_server, percentile, us

N_LOG = 5_000
N_SQS = 400
N_STUB = 2_000
HEADERS = {
    "referer": "https://news.example/",
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15",
    "cloudfront-viewer-country": "DE",
}


@contextlib.contextmanager
def _file_stdout() -> Iterator[None]:
    saved = sys.stdout
    with tempfile.TemporaryFile("w+") as sink:
        sys.stdout = sink
        try:
            yield
        finally:
            sys.stdout = saved


def _click_body(i: int) -> str:
    line = {"kind": "click", "id": f"{i:032x}", "code": "BenchRd1", "ts": i, **HEADERS}
    return json.dumps({"clicks": [line]}, separators=(",", ":"))


def _sqs_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    )


def _timed_sends(client: Any, queue: str, *, warm: int, count: int) -> list[int]:
    """Nanoseconds per synchronous SendMessage, after `warm` untimed ones."""
    for i in range(warm):
        client.send_message(QueueUrl=queue, MessageBody=_click_body(i))
    times = []
    for i in range(count):
        body = _click_body(i)
        start = time.perf_counter_ns()
        client.send_message(QueueUrl=queue, MessageBody=body)
        times.append(time.perf_counter_ns() - start)
    return times


def _stubbed_http(client: Any) -> None:
    """Answer every request in-process: botocore's before-send hook may return the response."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    class _Raw:
        def __init__(self, body: bytes) -> None:
            self._body = body

        def stream(self, **_: Any) -> Iterator[bytes]:
            yield self._body

    def answer(request: Any, **_: Any) -> AWSResponse:
        body = json.loads(request.body)["MessageBody"]
        reply = json.dumps(
            {
                "MD5OfMessageBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "MessageId": "00000000-0000-0000-0000-000000000000",
            }
        ).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "bench"}
        return AWSResponse(request.url, 200, HTTPHeaders.from_dict(headers), _Raw(reply))

    client.meta.events.register("before-send.sqs.SendMessage", answer)


def run() -> PartResult:
    from relay.shortener.click_log import ClickLog

    result = PartResult("clicks")
    log = ClickLog()
    times: dict[str, list[int]] = {"log": [], "sqs": [], "stub": []}
    perf = time.perf_counter_ns
    with _file_stdout():
        for i in range(200):
            log.record("BenchRd1", 1_795_000_000_000, i, HEADERS)
        for i in range(N_LOG):
            start = perf()
            log.record("BenchRd1", 1_795_000_000_000, i, HEADERS)
            times["log"].append(perf() - start)

    with moto_server() as url:
        client = _sqs_client(url)
        queue = client.create_queue(QueueName="BenchClicks")["QueueUrl"]
        times["sqs"] = _timed_sends(client, queue, warm=30, count=N_SQS)
    stub = _sqs_client("http://127.0.0.1:9")
    _stubbed_http(stub)
    stub_queue = "http://127.0.0.1:9/123456789012/BenchClicks"
    times["stub"] = _timed_sends(stub, stub_queue, warm=100, count=N_STUB)

    log50 = percentile(times["log"], 50)
    labels = {
        "log": f"(a) click JSON line to file-backed stdout (ClickLog.record), N={N_LOG}",
        "sqs": f"(b) synchronous SQS SendMessage to moto on loopback, N={N_SQS}",
        "stub": f"(c) SendMessage client side only (botocore, HTTP stubbed), N={N_STUB}",
    }
    for name, label in labels.items():
        p50, p99 = percentile(times[name], 50), percentile(times[name], 99)
        result.rows.append(
            Row(
                "clicks",
                label,
                f"p50 {us(p50)}, p99 {us(p99)}",
                "(a) p50" if name != "log" else "",
                p50 / log50 if name != "log" else None,
                "information",
            )
        )
    return result
