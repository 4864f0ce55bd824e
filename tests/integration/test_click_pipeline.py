"""Clicks from the redirect's log, through ClickShipper and SQS, to ClickConsumer's counters."""

import base64
import gzip
import io
import json
from contextlib import redirect_stdout

from relay.shortener import analytics, service
from tests.support.lambdas import call, http_event

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


def summary_of(code):
    link = service.links_table().get(code)
    clicks = service.clicks_table()
    return analytics.summary(clicks, code, link.created_ms, link.created_ms)


def awslogs_event(lines):
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/lambda/relay/Redirect",
        "logStream": "2026/11/25/[$LATEST]abc",
        "subscriptionFilters": ["RedirectClickSubscription"],
        "logEvents": [
            {"id": str(i), "timestamp": 0, "message": line} for i, line in enumerate(lines)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    return {"awslogs": {"data": data}}


def sqs_event(aws, queue="ClickQueue"):
    reply = aws.sqs.receive_message(
        QueueUrl=aws.queue_urls[queue], MaxNumberOfMessages=10, AttributeNames=["All"]
    )
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ClickQueue",
                "awsRegion": "us-east-1",
            }
            for m in reply.get("Messages", [])
        ]
    }


def click_lines(aws, code, count, headers):
    out = io.StringIO()
    event = http_event("GET /{code}", f"/{code}", path_parameters={"code": code}, headers=headers)
    with redirect_stdout(out):
        for _ in range(count):
            assert call("Redirect", event)["statusCode"] == 301
    return [line for line in out.getvalue().splitlines() if '"kind":"click"' in line]


def shorten(url, source_ip="203.0.113.42", user=None, custom_code=None):
    body = {"longUrl": url} | ({"customCode": custom_code} if custom_code else {})
    event = http_event(
        "POST /api/shorten", "/api/shorten", body=body, source_ip=source_ip, user=user
    )
    return call("Shorten", event)


def shortened(url, source_ip="203.0.113.42"):
    return json.loads(shorten(url, source_ip)["body"])["code"]


def test_redirect_clicks_reach_the_analytics(aws):
    code = shortened("https://example.com/a")
    headers = {
        "referer": "https://www.news.example/story",
        "user-agent": IPHONE,
        "cloudfront-viewer-country": "de",
    }
    lines = click_lines(aws, code, 3, headers)
    assert len(lines) == 3

    assert call("ClickShipper", awslogs_event(lines)) == {"messages": 1}
    assert call("ClickConsumer", sqs_event(aws)) == {"batchItemFailures": []}

    summary = summary_of(code)
    assert summary.clicks == 3
    assert summary.referrers == {"news.example": 3}
    # The header is the client's to set: without CloudFront in front, no country is trusted.
    assert summary.countries == {"unknown": 3}
    assert summary.devices == {"mobile": 3}
    assert sum(summary.daily.values()) == 3


def test_a_redelivered_message_is_counted_once(aws):
    code = shortened("https://example.com/a")
    lines = click_lines(aws, code, 2, {"user-agent": IPHONE})
    call("ClickShipper", awslogs_event(lines))
    event = sqs_event(aws)

    call("ClickConsumer", event)
    call("ClickConsumer", event)  # SQS is at-least-once

    assert summary_of(code).clicks == 2


def test_a_retried_log_delivery_is_counted_once(aws):
    code = shortened("https://example.com/a")
    lines = click_lines(aws, code, 2, {"user-agent": IPHONE})

    call("ClickShipper", awslogs_event(lines))
    call("ClickShipper", awslogs_event(lines))  # Lambda's async retry of the same delivery
    call("ClickConsumer", sqs_event(aws))

    assert summary_of(code).clicks == 2


def test_a_poison_message_fails_alone(aws):
    code = shortened("https://example.com/a")
    call("ClickShipper", awslogs_event(click_lines(aws, code, 1, {})))
    aws.sqs.send_message(QueueUrl=aws.queue_urls["ClickQueue"], MessageBody="not a click batch")
    event = sqs_event(aws)
    poison = next(r["messageId"] for r in event["Records"] if r["body"] == "not a click batch")

    result = call("ClickConsumer", event)

    assert result == {"batchItemFailures": [{"itemIdentifier": poison}]}
    assert summary_of(code).clicks == 1


def test_clicks_on_many_links_in_one_message_are_all_counted(aws):
    codes = [shortened(f"https://example.com/{i}", source_ip=f"192.0.2.{i}") for i in range(40)]
    lines = [line for code in codes for line in click_lines(aws, code, 1, {"user-agent": IPHONE})]

    call("ClickShipper", awslogs_event(lines))
    call("ClickConsumer", sqs_event(aws))

    assert [summary_of(code).clicks for code in codes] == [1] * 40


def test_a_delivery_shipped_again_after_a_crash_is_counted_once(aws):
    code = shortened("https://example.com/a")
    lines = click_lines(aws, code, 5, {"user-agent": IPHONE})

    # ClickShipper sent its messages, then crashed before answering: Lambda runs the
    # same delivery again, and the consumer sees every batch twice.
    for _ in range(2):
        call("ClickShipper", awslogs_event(lines))
    while event := sqs_event(aws)["Records"]:
        call("ClickConsumer", {"Records": event})

    assert summary_of(code).clicks == 5


def test_a_click_with_an_unstorable_referrer_does_not_hold_back_the_others(aws):
    # A referrer host of 300 CJK characters (900 bytes; a sort key holds 1,024) used to
    # fail the whole message on every retry, then again from the dead-letter queue.
    code = shortened("https://example.com/a")
    good = click_lines(aws, code, 5, {"referer": "https://news.example/"})
    odd = click_lines(aws, code, 1, {"referer": "https://" + "\u6f22" * 300 + ".example/"})
    call("ClickShipper", awslogs_event(good[:2] + odd + good[2:]))

    assert call("ClickConsumer", sqs_event(aws)) == {"batchItemFailures": []}
    counted = summary_of(code)
    assert counted.clicks == 6
    assert counted.referrers == {"news.example": 5, "other": 1}


def test_a_batch_whose_records_all_fail_reports_each_instead_of_raising(aws):
    for body in ("not a click batch", '{"clicks": "nope"}'):
        aws.sqs.send_message(QueueUrl=aws.queue_urls["ClickQueue"], MessageBody=body)
    event = sqs_event(aws)

    result = call("ClickConsumer", event)

    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(
        r["messageId"] for r in event["Records"]
    )


def test_large_click_deliveries_fit_sqs_limits(aws):
    code = shortened("https://example.com/a")
    headers = {"referer": "https://ref.example/" + "r" * 600, "user-agent": "U" * 600}
    lines = click_lines(aws, code, 400, headers)

    messages = call("ClickShipper", awslogs_event(lines))["messages"]
    received = []
    while batch := sqs_event(aws)["Records"]:
        received += batch
        call("ClickConsumer", {"Records": batch})

    assert messages == len(received) > 4  # cut by size, not only by count
    assert max(len(r["body"].encode()) for r in received) <= 64 * 1024
    assert summary_of(code).clicks == 400


def test_a_reclaimed_code_does_not_show_the_previous_links_clicks(aws):
    from relay.shortener import links_table

    first = json.loads(shorten("https://a.example", user="alice", custom_code="promo1")["body"])
    call("ClickShipper", awslogs_event(click_lines(aws, "promo1", 3, {})))
    call("ClickConsumer", sqs_event(aws))
    delete = http_event(
        "DELETE /api/links/{code}",
        "/api/links/promo1",
        user="alice",
        path_parameters={"code": "promo1"},
    )
    assert call("Shorten", delete)["statusCode"] == 204
    # The tombstone's TTL has run out and DynamoDB removed it.
    aws.dynamodb.delete_item(
        TableName="LinksTable", Key={"pk": {"S": links_table.link_key("promo1")}}
    )

    reclaimed = shorten("https://b.example", user="bob", custom_code="promo1")
    analytics_event = http_event(
        "GET /api/analytics/{code}",
        "/api/analytics/promo1",
        user="bob",
        path_parameters={"code": "promo1"},
    )

    assert reclaimed["statusCode"] == 201 and first["owner"] == "alice"
    assert json.loads(call("Analytics", analytics_event)["body"])["clicks"] == 0


def test_a_failed_delivery_redriven_from_the_dead_letter_queue_is_counted(aws):
    code = shortened("https://example.com/a")
    delivery = awslogs_event(click_lines(aws, code, 2, {"user-agent": IPHONE}))
    # What Lambda puts on the OnFailure destination after ClickShipper's last retry.
    record = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": delivery,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "SQS was away"},
    }
    aws.sqs.send_message(QueueUrl=aws.queue_urls["ClickQueue"], MessageBody=json.dumps(record))

    assert call("ClickConsumer", sqs_event(aws)) == {"batchItemFailures": []}
    assert summary_of(code).clicks == 2


def test_when_counting_fails_the_messages_being_counted_fail_and_the_poison_too(aws):
    code = shortened("https://example.com/a")
    call("ClickShipper", awslogs_event(click_lines(aws, code, 3, {})))
    aws.sqs.send_message(QueueUrl=aws.queue_urls["ClickQueue"], MessageBody="not a click batch")
    event = sqs_event(aws)
    aws.dynamodb.delete_table(TableName="ClicksTable")  # DynamoDB answers every write with an error

    result = call("ClickConsumer", event)

    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(
        r["messageId"] for r in event["Records"]
    )
