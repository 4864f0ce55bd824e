"""The local stack's pure parts, without processes: the template loader and its
intrinsics, route precedence, response mapping, filter patterns, and how an
SQS batch's outcome is decided."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from relay_local.gateways.http11 import Response
from relay_local.gateways.http_api import BadResponse, Router, map_response
from relay_local.runtime.invoker import Invocation
from relay_local.sources.sqs import failed_ids
from relay_local.template.build import build_model
from relay_local.template.languages.log_patterns import compile_pattern
from relay_local.template.loader import Resolver, Unresolved, load_template
from relay_local.template.model import RouteSpec, TemplateError

FIXTURE_TEMPLATE = Path(__file__).parent / "fixtures" / "template.yaml"


def _route(method: str, path: str) -> RouteSpec:
    return RouteSpec(method, path, function=f"{method} {path}", api_id="api", authorizer=None)


def test_short_form_tags_become_long_form(tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(
        "Resources:\n"
        "  A:\n"
        "    Type: X\n"
        "    Properties:\n"
        "      Ref: !Ref B\n"
        "      Att: !GetAtt B.Arn\n"
        "      Sub: !Sub '${AWS::Region}-${B}'\n"
        "      Join: !Join [',', [a, !Ref B]]\n"
    )

    props = load_template(template)["Resources"]["A"]["Properties"]

    assert props["Ref"] == {"Ref": "B"}
    assert props["Att"] == {"Fn::GetAtt": ["B", "Arn"]}
    assert props["Sub"] == {"Fn::Sub": "${AWS::Region}-${B}"}
    assert props["Join"] == {"Fn::Join": [",", ["a", {"Ref": "B"}]]}


def test_resolver_evaluates_intrinsics_and_refuses_what_has_no_local_meaning() -> None:
    template = {
        "Parameters": {"Stage": {"Default": "dev"}, "Vpc": {"Type": "String"}},
        "Conditions": {"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}},
        "Resources": {"T": {"Type": "AWS::DynamoDB::Table"}},
    }
    resolver = Resolver(template, lambda name, _: f"local-{name}", lambda n, _, a: f"{n}.{a}")

    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Stage}-${T}-${T.Arn}-${!x}"}) == (
        "relay-dev-local-T-T.Arn-${x}"
    )
    assert resolver.resolve({"Fn::If": ["IsDev", "a", "b"]}) == "a"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y"]}]}) == "y"
    assert resolver.resolve([{"Ref": "AWS::NoValue"}, 1]) == [1]
    with pytest.raises(Unresolved):
        resolver.resolve({"Ref": "Vpc"})


def test_fixture_template_model() -> None:
    model = build_model(FIXTURE_TEMPLATE, "http://127.0.0.1:9")

    assert model.tables["ItemsTable"].name == "relay-test-items"
    work = model.queues["WorkQueue"]
    assert work.url == "http://127.0.0.1:9/123456789012/WorkQueue"
    assert (
        '"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:relay-work-dlq"'
        in (work.attributes["RedrivePolicy"])
    )
    echo = model.functions["Echo"]
    assert echo.memory_mb == 256
    assert echo.layer_dirs == (FIXTURE_TEMPLATE.parent.resolve() / "layers" / "common",)
    assert echo.environment["REDIS_URL"] == "rediss://:6379"  # the stack overrides it
    private = next(r for r in model.routes if r.path == "/private")
    assert private.authorizer is not None and private.authorizer.function == "Authorizer"
    assert model.functions["Shipper"].on_failure is not None
    assert model.subscriptions[0].source_function == "Clicker"


def test_route_precedence_follows_api_gateway() -> None:
    router = Router(
        [
            _route("ANY", "/{proxy+}"),
            _route("GET", "/{code}"),
            _route("GET", "/api/links"),
            _route("ANY", "/api/links/{code}"),
            _route("DELETE", "/api/links/{code}"),
            _route("GET", "/api/{kind}/{id}"),
        ]
    )

    def pick(method: str, path: str) -> tuple[str, dict[str, str] | None] | None:
        found = router.match(method, path)
        return None if found is None else (found[0].function, found[1])

    assert pick("GET", "/api/links") == ("GET /api/links", None)
    assert pick("GET", "/abc") == ("GET /{code}", {"code": "abc"})
    assert pick("DELETE", "/api/links/x") == ("DELETE /api/links/{code}", {"code": "x"})
    assert pick("GET", "/api/links/x") == ("ANY /api/links/{code}", {"code": "x"})
    assert pick("GET", "/api/posts/9") == ("GET /api/{kind}/{id}", {"kind": "posts", "id": "9"})
    assert pick("POST", "/a/b/c") == ("ANY /{proxy+}", {"proxy": "a/b/c"})
    assert Router([_route("GET", "/{code}")]).match("GET", "/a/b") is None


def test_response_mapping_refuses_what_api_gateway_refuses() -> None:
    assert map_response({"statusCode": 201, "body": "x", "cookies": ["a=1"]}) == Response(
        201, [(b"set-cookie", b"a=1")], b"x"
    )
    assert map_response([1, 2]) == Response(
        200, [(b"content-type", b"application/json")], b"[1, 2]"
    )
    for bad in (
        {"statusCode": 200, "body": 5},
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": 200, "headers": {"x-a": "1\r\nSet-Cookie: evil=1"}},
        {"statusCode": 200, "headers": {"bad name": "1"}},
        {"statusCode": 200, "headers": {"x-a": "naïve ✓"}},
    ):
        with pytest.raises(BadResponse):
            map_response(bad)


def test_filter_patterns() -> None:
    click = compile_pattern('{ $.kind = "click" }')
    assert click('{"kind": "click", "code": "a"}')
    assert not click('{"kind": "view"}')
    assert not click("kind click")
    exists = compile_pattern("{ $.user.id = * }")
    assert exists('{"user": {"id": 1}}')
    assert not exists('{"user": {}}')
    both = compile_pattern('{ $.a = "x" && $.b = "y" }')
    assert both('{"a": "x", "b": "y"}')
    assert not both('{"a": "x", "b": "z"}')
    terms = compile_pattern('ERROR "disk full"')
    assert terms("ERROR: disk full on /")
    assert not terms("ERROR: disk ok")
    # A function's line nested past the JSON parser's depth matches nothing; it does
    # not stop the subscription.
    assert not click("[" * 100_000 + "]" * 100_000)
    for unsupported in ('{ $.a = "x" || $.b = "y" }', "?ERROR ?WARN", "[ip, user]"):
        with pytest.raises(TemplateError):
            compile_pattern(unsupported)


@pytest.mark.parametrize(
    ("result", "error", "expected"),
    [
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, None, {"b"}),
        ({"batchItemFailures": []}, None, set()),
        (None, None, set()),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None, {"a", "b"}),
        ({"batchItemFailures": [{}]}, None, {"a", "b"}),
        (None, {"errorType": "ValueError"}, {"a", "b"}),
    ],
)
def test_batch_outcome_like_lambda(
    result: object, error: dict[str, str] | None, expected: set[str]
) -> None:
    invocation = Invocation("Consumer", "req", result=result, error=error)

    assert failed_ids(invocation, {"a", "b"}, report_failures=True) == expected


def test_batch_failures_are_ignored_without_report_batch_item_failures() -> None:
    invocation = Invocation(
        "Consumer", "req", result={"batchItemFailures": [{"itemIdentifier": "a"}]}
    )

    assert failed_ids(invocation, {"a", "b"}, report_failures=False) == set()


@pytest.mark.parametrize("message", ["[1, 2]", '"text"', "[" * 100_000 + "]" * 100_000])
def test_a_json_structured_message_that_is_no_object_is_delivered_as_published(
    message: str,
) -> None:
    from relay_local.sources.sns import Published
    from relay_local.template.model import TopicSpec

    topic = TopicSpec("Topic", "topic", "arn:aws:sns:us-east-1:000000000000:topic", {})
    published = Published(topic, "m-1", message, None, {}, "json", None, None)

    assert published.text_for("lambda") == message


def _criteria(*patterns: object) -> dict[str, object]:
    return {"Filters": [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in patterns]}


def test_filter_criteria_deliver_a_record_any_filter_matches() -> None:
    from relay_local.template.languages.event_filters import compile_filter_criteria, sqs_view

    matches = compile_filter_criteria(
        _criteria(
            {"body": {"kind": ["order"], "total": [{"numeric": [">", 100]}]}}, {"body": ["ping"]}
        )
    )
    assert matches is not None

    def record(body: str) -> dict[str, object]:
        return sqs_view({"messageId": "m", "body": body, "attributes": {}})

    assert matches(record('{"kind": "order", "total": 150}'))
    assert not matches(record('{"kind": "order", "total": 50}'))
    assert not matches(record('{"kind": "refund", "total": 150}'))
    assert matches(record("ping"))  # a plain body against a plain pattern
    assert not matches(record("not json {"))
    assert not matches(record("[" * 100_000 + "]" * 100_000))  # parsed past depth: a string


@pytest.mark.parametrize(
    ("criteria", "reason"),
    [
        ({"Filters": []}, "needs Filters"),
        ({"Filters": [{"Pattern": "{}"}] * 6}, "Lambda allows 5"),
        (_criteria("{not json"), "Filters[0].Pattern: not valid JSON"),
        (_criteria({"a": ["x"]}, {"b": [{"nope": 1}]}), "Filters[1].Pattern: Unrecognized match"),
        (_criteria("{}"), "empty pattern"),
        ({"Filters": [{"Patern": "{}"}]}, "needs a Pattern"),
    ],
)
def test_filter_criteria_lambda_would_refuse_stop_the_stack(criteria: object, reason: str) -> None:
    from relay_local.template.languages.event_filters import (
        FilterCriteriaError,
        compile_filter_criteria,
    )

    with pytest.raises(FilterCriteriaError, match=re.escape(reason)):
        compile_filter_criteria(criteria)
