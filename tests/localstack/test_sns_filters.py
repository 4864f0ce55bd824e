"""SNS subscription filter policies: which published messages a subscription receives,
and which policies SNS refuses. Examples marked "AWS docs" come from the SNS
developer guide (string, numeric and key matching, AND/OR logic, constraints)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay_local.template.languages.sns_filters import FilterPolicyError, compile_filter_policy

Attributes = dict[str, dict[str, str]]


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _number(value: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": value}


def _strings(*values: Any) -> dict[str, str]:
    return {"DataType": "String.Array", "StringValue": json.dumps(list(values))}


def _receives(policy: Any, attributes: Attributes) -> bool:
    return compile_filter_policy(policy)(attributes, "")


def _receives_body(policy: Any, body: Any) -> bool:
    text = body if isinstance(body, str) else json.dumps(body)
    return compile_filter_policy(policy, "MessageBody")({}, text)


def _refusal(policy: Any, scope: str = "MessageAttributes") -> str:
    with pytest.raises(FilterPolicyError) as refused:
        compile_filter_policy(policy, scope)
    return str(refused.value)


# --- No policy, scope, policy text -------------------------------------------------------


@pytest.mark.parametrize("policy", [None, {}, "", "  "], ids=["none", "empty", "blank", "spaces"])
def test_subscription_without_a_policy_receives_every_message(policy: Any) -> None:
    # Given a subscription with no filter policy
    matches = compile_filter_policy(policy)

    # Then messages with or without attributes are delivered
    assert matches({}, "anything")
    assert matches({"store": _string("example_corp")}, "")


def test_unknown_scope_is_refused() -> None:
    # When a subscription asks for a scope SNS does not have
    with pytest.raises(FilterPolicyError, match="FilterPolicyScope"):
        compile_filter_policy({"a": ["b"]}, "MessageHeaders")


def test_policy_given_as_json_text_filters_like_the_same_object() -> None:
    # Given the policy as the JSON text of the FilterPolicy subscription attribute
    matches = compile_filter_policy('{"store": ["example_corp"], "price": [{"numeric": [">", 1]}]}')

    # Then it filters as the object would
    assert matches({"store": _string("example_corp"), "price": _number("2")}, "")
    assert not matches({"store": _string("example_corp"), "price": _number("1")}, "")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"store": ["a"]', "not valid JSON"),
        ('{"price": [NaN]}', "not valid JSON"),
        ('["store"]', "Filter is not an object"),
    ],
)
def test_policy_text_that_is_not_a_json_object_is_refused(text: str, reason: str) -> None:
    assert reason in _refusal(text)


def test_refusal_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Unrecognized match type"):
        compile_filter_policy({"key": [{"regex": "a.*"}]})


# --- Exact values, AND across keys, OR within a key --------------------------------------


def test_exact_string_matches_any_listed_value() -> None:
    # Given the AWS docs policy "customer_interests": ["rugby", "tennis"]
    policy = {"customer_interests": ["rugby", "tennis"]}

    # Then rugby and tennis are delivered and baseball is not
    assert _receives(policy, {"customer_interests": _string("rugby")})
    assert _receives(policy, {"customer_interests": _string("tennis")})
    assert not _receives(policy, {"customer_interests": _string("baseball")})


def test_exact_string_is_case_sensitive() -> None:
    assert not _receives({"store": ["example_corp"]}, {"store": _string("Example_Corp")})


def test_string_array_attribute_matches_when_any_element_matches() -> None:
    # Given the AWS docs policy and String.Array attributes
    policy = {"customer_interests": ["rugby", "tennis"]}

    # Then an array holding a listed value is delivered, one without is not
    assert _receives(policy, {"customer_interests": _strings("rugby", "tennis")})
    assert _receives(policy, {"customer_interests": _strings("soccer", "rugby", "hockey")})
    assert not _receives(policy, {"customer_interests": _strings("baseball")})


def test_keys_are_anded() -> None:
    # Given the AWS docs AND example
    policy = {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}

    # Then both keys must match
    assert _receives(policy, {"customer_interests": _string("rugby"), "price_usd": _number("101")})
    assert not _receives(
        policy, {"customer_interests": _string("rugby"), "price_usd": _number("100")}
    )
    assert not _receives(
        policy, {"customer_interests": _string("tennis"), "price_usd": _number("101")}
    )


def test_missing_attribute_fails_its_key() -> None:
    # Given a policy on two attributes, one of which the message lacks
    policy = {"store": ["example_corp"], "encrypted": [False]}

    # Then the message is not delivered whatever the other attribute says
    assert not _receives(policy, {"store": _string("example_corp")})


def test_string_array_that_is_not_a_json_array_matches_nothing() -> None:
    broken = {"DataType": "String.Array", "StringValue": "one hundred"}

    assert not _receives({"price": [{"exists": True}]}, {"price": broken, "x": _string("y")})
    assert not _receives({"price": [{"anything-but": "x"}]}, {"price": broken})


def test_key_given_twice_keeps_its_last_patterns() -> None:
    # Given a body policy naming detail.state dotted and then nested
    policy = {"detail.state": ["running"], "detail": {"state": ["stopped"]}}

    # Then, as in the engine SNS filters with, the later patterns replace the earlier
    assert _receives_body(policy, {"detail": {"state": "stopped"}})
    assert not _receives_body(policy, {"detail": {"state": "running"}})


def test_attributes_the_policy_does_not_name_are_ignored() -> None:
    assert _receives(
        {"store": ["example_corp"]},
        {"store": _string("example_corp"), "event": _string("order_placed")},
    )


# --- Numbers -----------------------------------------------------------------------------


def test_numeric_equals_matches_the_number_in_any_notation() -> None:
    # Given the AWS docs policy "price_usd": [{"numeric": ["=", 301.5]}]
    policy = {"price_usd": [{"numeric": ["=", 301.5]}]}

    # Then 301.5 and 3.015e2 match, as attributes and as body properties
    assert _receives(policy, {"price_usd": _number("301.5")})
    assert _receives(policy, {"price_usd": _number("3.015e2")})
    assert _receives_body(policy, '{"price_usd": 3.015e2}')
    assert not _receives(policy, {"price_usd": _number("301.6")})


def test_exact_number_matches_number_attributes_not_string_attributes() -> None:
    # Given a policy listing the number 100
    policy = {"price": [100]}

    # Then a Number attribute of 100 (or 100.0) matches and the String "100" does not
    assert _receives(policy, {"price": _number("100")})
    assert _receives(policy, {"price": _number("100.0")})
    assert not _receives(policy, {"price": _string("100")})
    assert not _receives_body(policy, {"price": "100"})


def test_string_value_does_not_match_a_number_attribute() -> None:
    assert not _receives({"price": ["100"]}, {"price": _number("100")})


def test_string_array_elements_can_be_numbers() -> None:
    # Given a policy of numbers and a String.Array of numbers
    policy = {"price": [100, 500]}

    # Then any element equal to a listed number matches
    assert _receives(policy, {"price": _strings(100, 50)})
    assert not _receives(policy, {"price": _strings(150, 50)})


def test_numeric_less_than_zero_matches_negative_numbers() -> None:
    policy = {"price_usd": [{"numeric": ["<", 0]}]}

    assert _receives(policy, {"price_usd": _number("-0.5")})
    assert not _receives(policy, {"price_usd": _number("0")})


def test_numeric_range_includes_its_closed_bound_and_excludes_its_open_one() -> None:
    # Given the AWS docs range "positive numbers up to and including 150"
    policy = {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}

    # Then 150 is in, 0 and 150.5 are out
    assert _receives(policy, {"price_usd": _number("150")})
    assert _receives(policy, {"price_usd": _number("0.001")})
    assert not _receives(policy, {"price_usd": _number("0")})
    assert not _receives(policy, {"price_usd": _number("150.5")})


@pytest.mark.parametrize(
    ("expression", "inside", "outside"),
    [
        ([">=", 10], "10", "9.99"),
        (["<=", 10], "10", "10.01"),
        ([">=", 10, "<", 20], "10", "20"),
    ],
)
def test_numeric_operators_honour_their_bounds(
    expression: list[Any], inside: str, outside: str
) -> None:
    policy = {"n": [{"numeric": expression}]}

    assert _receives(policy, {"n": _number(inside)})
    assert not _receives(policy, {"n": _number(outside)})


def test_numeric_operators_ignore_string_attributes() -> None:
    assert not _receives({"price": [{"numeric": [">", 0]}]}, {"price": _string("99")})


def test_numbers_compare_to_six_decimal_places() -> None:
    # Given a policy number with more precision than SNS keeps
    policy = {"price": [100.123456789]}

    # Then a value equal to the sixth decimal matches and one off at the sixth does not
    assert _receives(policy, {"price": _number("100.1234567")})
    assert not _receives(policy, {"price": _number("100.1234561")})


def test_numeric_operators_do_not_match_values_beyond_a_billion() -> None:
    # SNS documents numeric matching for -10^9..10^9 only
    policy = {"n": [{"numeric": [">", 0]}]}

    assert _receives(policy, {"n": _number("1000000000")})
    assert not _receives(policy, {"n": _number("1000000001")})


def test_exact_numbers_beyond_a_billion_still_match() -> None:
    # An account id in a policy is accepted by SNS and matched exactly
    assert _receives({"account": [123456789012]}, {"account": _number("123456789012")})


# --- Prefix, suffix, equals-ignore-case, wildcard -----------------------------------------


def test_prefix_matches_values_that_start_with_it() -> None:
    policy = {"customer_interests": [{"prefix": "bas"}]}

    assert _receives(policy, {"customer_interests": _string("baseball")})
    assert _receives(policy, {"customer_interests": _string("basketball")})
    assert not _receives(policy, {"customer_interests": _string("rugby")})


def test_suffix_matches_values_that_end_with_it() -> None:
    policy = {"customer_interests": [{"suffix": "ball"}]}

    assert _receives(policy, {"customer_interests": _string("baseball")})
    assert _receives_body(policy, {"customer_interests": "basketball"})
    assert not _receives(policy, {"customer_interests": _string("rugby")})


def test_equals_ignore_case_matches_any_casing() -> None:
    policy = {"customer_interests": [{"equals-ignore-case": "tennis"}]}

    assert _receives(policy, {"customer_interests": _string("TENNIS")})
    assert _receives_body(policy, {"customer_interests": "teNnis"})
    assert not _receives(policy, {"customer_interests": _string("tenis")})


def test_string_operators_never_match_numbers() -> None:
    # Given string operators whose text a number would spell
    for expression in ({"prefix": "10"}, {"suffix": "0"}, {"equals-ignore-case": "100"}):
        # Then a Number attribute and a body number do not match
        assert not _receives({"n": [expression]}, {"n": _number("100")})
        assert not _receives_body({"n": [expression]}, {"n": 100})


def test_wildcard_matches_any_run_of_characters() -> None:
    policy = {"customer_interests": [{"wildcard": "*ball"}]}

    assert _receives(policy, {"customer_interests": _strings("baseball", "basketball")})
    assert _receives(policy, {"customer_interests": _string("ball")})
    assert not _receives(policy, {"customer_interests": _string("ballet")})


def test_wildcard_escaped_star_matches_a_literal_star() -> None:
    policy = {"name": [{"wildcard": "a\\*b*"}]}

    assert _receives(policy, {"name": _string("a*bc")})
    assert not _receives(policy, {"name": _string("axbc")})


# --- Anything-but --------------------------------------------------------------------------


def test_anything_but_single_value_rejects_only_that_value() -> None:
    policy = {"event": [{"anything-but": "order_cancelled"}]}

    assert _receives(policy, {"event": _string("order_placed")})
    assert not _receives(policy, {"event": _string("order_cancelled")})


def test_anything_but_list_rejects_listed_values() -> None:
    # Given the AWS docs policy anything-but ["rugby", "tennis"]
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}

    # Then baseball and football are delivered, rugby is not
    assert _receives(policy, {"customer_interests": _string("baseball")})
    assert _receives_body(policy, {"customer_interests": "football"})
    assert not _receives(policy, {"customer_interests": _string("rugby")})
    assert not _receives_body(policy, {"customer_interests": ["rugby"]})


def test_anything_but_matches_an_array_holding_an_unlisted_value() -> None:
    # The AWS docs example: ["rugby", "baseball"] contains a value that isn't listed
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}

    assert _receives(policy, {"customer_interests": _strings("rugby", "baseball")})
    assert _receives_body(policy, {"customer_interests": ["rugby", "baseball"]})
    assert not _receives(policy, {"customer_interests": _strings("rugby", "tennis")})


def test_anything_but_numbers_compare_numerically() -> None:
    # Given the AWS docs policy "price": [{"anything-but": [100, 500]}]
    policy = {"price": [{"anything-but": [100, 500]}]}

    # Then 101 and 100.1 are delivered, 100 in any notation is not
    assert _receives(policy, {"price": _number("101")})
    assert _receives(policy, {"price": _number("100.1")})
    assert _receives_body(policy, {"price": [100, 50]})
    assert not _receives(policy, {"price": _number("100")})
    assert not _receives(policy, {"price": _number("1e2")})


def test_anything_but_string_does_not_exclude_the_number_it_spells() -> None:
    assert _receives({"n": [{"anything-but": ["100"]}]}, {"n": _number("100")})


def test_anything_but_prefix_rejects_values_with_the_prefix() -> None:
    policy = {"event": [{"anything-but": {"prefix": "order-"}}]}

    assert _receives(policy, {"event": _string("data-entry")})
    assert _receives(policy, {"event": _string("order_number")})
    assert not _receives(policy, {"event": _string("order-cancelled")})


def test_anything_but_suffix_rejects_values_with_the_suffix() -> None:
    policy = {"customer_interests": [{"anything-but": {"suffix": "ball"}}]}

    assert _receives_body(policy, {"customer_interests": ["hockey", "rugby", "soccer"]})
    assert not _receives_body(policy, {"customer_interests": ["baseball", "basketball"]})


def test_anything_but_wildcard_rejects_matching_values() -> None:
    policy = {"customer_interests": [{"anything-but": {"wildcard": "*ball"}}]}

    assert _receives(policy, {"customer_interests": _strings("hockey", "rugby", "soccer")})
    assert not _receives(policy, {"customer_interests": _strings("baseball", "basketball")})


def test_anything_but_needs_the_attribute_to_exist() -> None:
    # Given anything-but on an attribute the message does not carry
    policy = {"event": [{"anything-but": "order_cancelled"}]}

    # Then the message is not delivered
    assert not _receives(policy, {"store": _string("example_corp")})
    assert not _receives_body(policy, {"event": None})


def test_anything_but_with_exists_false_also_accepts_a_missing_attribute() -> None:
    policy = {"event": [{"anything-but": "order_cancelled"}, {"exists": False}]}

    assert _receives(policy, {"store": _string("example_corp")})
    assert _receives(policy, {"event": _string("order_placed")})
    assert not _receives(policy, {"event": _string("order_cancelled")})


# --- Exists, missing and ignored attributes ------------------------------------------------


def test_exists_true_needs_the_attribute() -> None:
    # Given the AWS docs key matching policy
    policy = {"store": [{"exists": True}]}
    interests = _strings("baseball", "basketball")

    # Then only messages carrying store are delivered
    assert _receives(policy, {"store": _string("fans"), "customer_interests": interests})
    assert not _receives(policy, {"customer_interests": interests})


def test_exists_false_needs_the_attribute_absent() -> None:
    policy = {"store": [{"exists": False}]}
    interests = _strings("baseball", "basketball")

    assert not _receives(policy, {"store": _string("fans"), "customer_interests": interests})
    assert _receives(policy, {"customer_interests": interests})
    assert _receives_body(policy, {"customer_interests": ["baseball", "basketball"]})


def test_exists_false_does_not_match_a_message_without_attributes() -> None:
    # SNS: "exists": false only matches if at least one attribute is present
    assert not _receives({"store": [{"exists": False}]}, {})


@pytest.mark.parametrize(
    "binary",
    [
        {"DataType": "Binary", "BinaryValue": b"\x01\x02\x03"},
        {"DataType": "Binary", "StringValue": "AQID"},
    ],
    ids=["binary-value", "even-with-a-string-value"],
)
def test_binary_attributes_are_ignored(binary: dict[str, Any]) -> None:
    # Given a message whose only attribute named in the policy is Binary
    others = {"region": _string("EU")}

    # Then SNS treats it as absent
    assert not _receives({"signature": [{"exists": True}]}, {"signature": binary, **others})
    assert _receives({"signature": [{"exists": False}]}, {"signature": binary, **others})
    assert not _receives({"signature": ["AQID"]}, {"signature": binary, **others})
    # And a message with nothing but Binary attributes has no attributes to match
    assert not _receives({"signature": [{"exists": False}]}, {"signature": binary})


def test_exists_looks_at_leaves_only() -> None:
    # Given a body where "store" is an object rather than a value
    body = {"store": {"name": "fans"}}

    # Then "store" does not exist as a leaf, but "store.name" does
    assert not _receives_body({"store": [{"exists": True}]}, body)
    assert _receives_body({"store": [{"exists": False}]}, body)
    assert _receives_body({"store": {"name": [{"exists": True}]}}, body)


@pytest.mark.parametrize("value", [None, []], ids=["null", "empty-array"])
def test_exists_true_needs_a_non_null_non_empty_value(value: Any) -> None:
    assert not _receives_body({"store": [{"exists": True}]}, {"store": value, "other": 1})
    assert _receives_body({"store": [{"exists": False}]}, {"store": value, "other": 1})


# --- IP addresses --------------------------------------------------------------------------


def test_cidr_matches_addresses_in_the_subnet() -> None:
    # Given the AWS docs policy "source_ip": [{"cidr": "10.0.0.0/24"}]
    policy = {"source_ip": [{"cidr": "10.0.0.0/24"}]}

    # Then the first and last addresses of the subnet match and 10.1.1.0 does not
    assert _receives(policy, {"source_ip": _string("10.0.0.0")})
    assert _receives_body(policy, {"source_ip": "10.0.0.255"})
    assert not _receives(policy, {"source_ip": _string("10.1.1.0")})


def test_cidr_matches_ipv6_addresses_in_the_prefix() -> None:
    policy = {"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}

    assert _receives(policy, {"ip": _string("2001:0db8:1234:1a00:0000:0000:0000:0000")})
    assert not _receives(policy, {"ip": _string("2001:0db8:123f:1a01:0000:0000:0000:0000")})
    assert not _receives(policy, {"ip": _string("10.0.0.1")})


def test_cidr_ignores_values_that_are_not_addresses() -> None:
    policy = {"ip": [{"cidr": "10.0.0.0/24"}]}

    assert not _receives(policy, {"ip": _string("10.0.0.256")})
    assert not _receives(policy, {"ip": _number("10")})


def test_exact_ip_address_matches_other_spellings_of_the_address() -> None:
    assert _receives({"ip": ["2001:db8::1"]}, {"ip": _string("2001:0db8:0:0:0:0:0:1")})


# --- $or -----------------------------------------------------------------------------------


def test_or_operator_matches_either_branch() -> None:
    # Given the AWS docs standard OR: "source" && ("metricName" || "namespace")
    policy = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
    }
    source = _string("aws.cloudwatch")

    # Then either branch with the source is delivered, neither is not
    assert _receives(policy, {"source": source, "metricName": _string("CPUUtilization")})
    assert _receives(policy, {"source": source, "namespace": _string("AWS/EC2")})
    assert not _receives(policy, {"source": source, "namespace": _string("AWS/ES")})
    assert not _receives(policy, {"metricName": _string("CPUUtilization")})


def test_or_operator_in_the_body() -> None:
    policy = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
    }

    assert _receives_body(policy, {"source": "aws.cloudwatch", "metricName": "CPUUtilization"})
    assert _receives_body(policy, {"source": "aws.cloudwatch", "namespace": "AWS/EC2"})
    assert not _receives_body(policy, {"source": "aws.cloudwatch"})


def test_or_branch_can_hold_an_and_with_its_own_or() -> None:
    # Given the AWS docs policy with an OR inside an OR branch
    policy = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {
                "metricType": ["MetricType"],
                "$or": [{"metricId": [1234, 4321]}, {"spaceId": [1000, 2000, 3000]}],
            },
        ],
    }
    source = _string("aws.cloudwatch")
    metric_type = _string("MetricType")

    # Then each simplified alternative is delivered and a half alternative is not
    assert _receives(policy, {"source": source, "metricName": _string("ReadLatency")})
    assert _receives(
        policy, {"source": source, "metricType": metric_type, "metricId": _number("4321")}
    )
    assert _receives(
        policy, {"source": source, "metricType": metric_type, "spaceId": _number("2000")}
    )
    assert not _receives(policy, {"source": source, "metricType": metric_type})
    assert not _receives(policy, {"source": source, "spaceId": _number("2000")})


def test_or_inside_a_nested_object() -> None:
    # Given the AWS docs nested OR policy on the body
    policy = {
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]},
        ],
        "detail": {
            "scope": ["Service"],
            "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}],
        },
    }

    # Then the four documented alternatives match, and near misses do not
    alarm = "CloudWatch Alarm State Change"
    assert _receives_body(
        policy,
        {"metricName": "ReadLatency", "detail": {"scope": "Service", "source": "aws.cloudwatch"}},
    )
    assert _receives_body(
        policy, {"namespace": "AWS/ES", "detail": {"scope": "Service", "type": alarm}}
    )
    assert not _receives_body(
        policy,
        {"metricName": "CPUUtilization", "detail": {"scope": "aws.cloudwatch", "type": alarm}},
    )
    assert not _receives_body(
        policy, {"metricName": "CPUUtilization", "detail": {"scope": "Service"}}
    )
    assert not _receives_body(policy, {"metricName": "CPUUtilization", "scope": "Service"})
    assert not _receives_body(
        policy, {"metricName": "AWS/EC2", "detail": {"scope": "Service", "type": alarm}}
    )


def test_or_over_strings_is_an_ordinary_attribute_name() -> None:
    # "$or" not followed by two or more objects is just a key
    policy = {"$or": ["a", "b"]}

    assert _receives(policy, {"$or": _string("b")})
    assert not _receives(policy, {"a": _string("a")})


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({"$or": [{"numeric": 123}, {"prefix": "abc"}]}, "Value of numeric must be an array."),
        ({"$or": [{"metricName": ["CPUUtilization"]}]}, "Unrecognized match type metricName"),
        ({"$or": [{"a": {"prefix": ["x"]}}, {"b": ["y"]}]}, "Unrecognized match type a"),
    ],
    ids=["docs-reserved-names", "single-object", "reserved-name-nested-in-a-branch"],
)
def test_or_that_is_not_an_or_is_an_ordinary_key_and_refused(policy: Any, reason: str) -> None:
    # AWS docs: with a reserved keyword among its field names, or fewer than two
    # objects, "$or" is an ordinary key, whose objects are then match expressions
    assert reason in _refusal(policy, "MessageBody")


# --- Message body --------------------------------------------------------------------------


def test_body_policy_matches_nested_properties() -> None:
    # Given the payload-based filtering blog policy
    policy = {
        "object": {
            "key": [{"prefix": "auto-"}, "hardcodedvalue"],
            "nested_key": [{"exists": False}],
        },
        "test": [{"exists": False}],
    }

    # Then matching nested values are delivered
    assert _receives_body(policy, {"object": {"key": "auto-test"}})
    assert _receives_body(policy, {"object": {"key": "hardcodedvalue"}})
    # And the wrong value, an unwanted key or the key at the wrong level are not
    assert not _receives_body(policy, {"object": {"key": "test-auto"}})
    assert not _receives_body(policy, {"object": {"key": "auto-test"}, "test": "just-exists"})
    assert not _receives_body(policy, {"object": {"key": "auto-test", "nested_key": "x"}})
    assert not _receives_body(policy, {"object": {"test": "auto-test"}})
    assert not _receives_body(policy, {"key": "auto-test"})


def test_body_array_matches_when_any_element_matches() -> None:
    policy = {"headers": {"route-to": ["queue1"]}}

    assert _receives_body(policy, {"headers": {"route-to": ["queue1", "queue2"]}})
    assert not _receives_body(policy, {"headers": {"route-to": ["queue3"]}})


def test_body_keys_under_one_array_must_match_in_the_same_element() -> None:
    # Given an S3 notification policy on two properties of each record
    policy = {
        "Records": {
            "s3": {"object": {"key": [{"prefix": "auto-"}]}},
            "eventName": [{"prefix": "ObjectCreated:"}],
        }
    }
    created_auto = {"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "auto-1.xml"}}}
    removed_auto = {"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "auto-2.xml"}}}
    created_home = {"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "home-1.xml"}}}

    # Then one record satisfying both is delivered, even among others
    assert _receives_body(policy, {"Records": [removed_auto, created_auto]})
    # And the two halves in different records are not
    assert not _receives_body(policy, {"Records": [removed_auto, created_home]})


def test_body_arrays_of_arrays_are_crushed() -> None:
    policy = {"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}}}

    assert _receives_body(policy, {"Records": [{"s3": {"object": [[{"key": "auto-1.xml"}]]}}]})


def test_body_dotted_names_match_nested_objects_and_back() -> None:
    # SNS joins nested keys with dots, in the policy and in the body alike
    policy = {"object.nested.test": ["string.value"]}

    assert _receives_body(policy, {"object": {"nested": {"test": "string.value"}}})
    assert _receives_body(policy, {"object.nested": {"test": "string.value"}})
    assert _receives_body(policy, {"object": {"nested.test": "string.value"}})
    assert _receives_body({"object": {"nested": ["v"]}}, {"object.nested": "v"})
    assert not _receives_body(policy, {"object": {"nested": {"test": "string.notvalue"}}})


@pytest.mark.parametrize(
    "body",
    ["Regular string message", json.dumps("a JSON string"), "[1, 2]", '{"price": NaN}', "{}"],
    ids=["text", "json-string", "json-array", "nan", "empty-object"],
)
def test_body_that_is_not_a_json_object_with_properties_matches_nothing(body: str) -> None:
    assert not _receives_body({"price": [{"exists": False}]}, body)


def test_body_scope_ignores_message_attributes() -> None:
    matches = compile_filter_policy({"store": ["example_corp"]}, "MessageBody")

    assert not matches({"store": _string("example_corp")}, '{"other": 1}')
    assert matches({}, '{"store": "example_corp"}')


def test_body_literals_match_the_same_literals() -> None:
    policy = {"flag": [True], "gone": [None], "empty": [""]}

    assert _receives_body(policy, {"flag": True, "gone": None, "empty": ""})
    assert not _receives_body(policy, {"flag": "true", "gone": None, "empty": ""})
    assert not _receives_body(policy, {"flag": True, "empty": ""})


def test_body_attribute_scope_policy_ignores_the_body() -> None:
    assert not compile_filter_policy({"store": ["x"]})({}, '{"store": "x"}')


# --- The AWS docs example message ----------------------------------------------------------

TRANSACTION = {
    "customer_interests": _strings("soccer", "rugby", "hockey"),
    "store": _string("example_corp"),
    "event": _string("order_placed"),
    "price_usd": _number("210.75"),
}


def test_docs_example_policy_accepts_the_transaction() -> None:
    policy = {
        "store": ["example_corp"],
        "event": [{"anything-but": "order_cancelled"}],
        "customer_interests": ["rugby", "football", "baseball"],
        "price_usd": [{"numeric": [">=", 100]}],
    }

    assert _receives(policy, TRANSACTION)


def test_docs_example_policy_rejects_the_transaction() -> None:
    policy = {
        "store": ["example_corp"],
        "event": ["order_cancelled"],
        "encrypted": [False],
        "customer_interests": ["basketball", "baseball"],
    }

    assert not _receives(policy, TRANSACTION)


# --- Policies SNS refuses: limits ----------------------------------------------------------


def test_more_than_five_keys_is_refused() -> None:
    policy = {f"key{i}": [f"value{i}"] for i in range(6)}

    assert "can not have more than 5 keys" in _refusal(policy)
    compile_filter_policy({f"key{i}": [f"value{i}"] for i in range(5)})


def test_nested_body_policy_counts_leaf_keys() -> None:
    # The constraints page: for a nested policy only leaf keys count toward five
    policy = {"detail": {f"key{i}": ["v"] for i in range(6)}}

    assert "can not have more than 5 keys" in _refusal(policy, "MessageBody")
    compile_filter_policy({"a": {"b": {"c": ["v"]}}, "d": ["v"]}, "MessageBody")


@pytest.mark.parametrize(
    ("policy", "scope"),
    [
        ({"key_a": ["1", "2", "3"], "key_b": ["1"], "key_c": ["1", "2"]}, "MessageAttributes"),
        (
            {
                "key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}},
                "key_d": {"key_e": ["1", "2", "3"]},
            },
            "MessageBody",
        ),
        (
            {
                "source": ["a", "b", "c"],
                "$or": [
                    {"metricName": ["1", "2", "3", "4", "5", "6"]},
                    {
                        "metricType": ["1", "2", "3", "4"],
                        "$or": [{"metricId": [1, 2, 3, 4]}, {"spaceId": [1, 2, 3, 4, 5, 6, 7]}],
                    },
                ],
            },
            "MessageAttributes",
        ),
    ],
    ids=["docs-6", "docs-nested-72", "or-exactly-150"],
)
def test_policies_within_150_combinations_are_accepted(policy: Any, scope: str) -> None:
    compile_filter_policy(policy, scope)


@pytest.mark.parametrize(
    ("policy", "scope", "combinations"),
    [
        ({"key": [f"v{i}" for i in range(151)]}, "MessageAttributes", 151),
        (
            {"key1": [f"v{i}" for i in range(100)], "key2": [f"v{i}" for i in range(51)]},
            "MessageAttributes",
            5100,
        ),
        (
            {
                "key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}},
                "key_d": {"key_e": ["1", "2", "3"]},
                "key_f": ["1", "2", "3"],
            },
            "MessageBody",
            216,
        ),
        (
            {
                "source": ["a", "b", "c", "d"],
                "$or": [
                    {"metricName": ["1", "2", "3", "4", "5", "6"]},
                    {
                        "metricType": ["1", "2", "3", "4"],
                        "$or": [{"metricId": [1, 2, 3, 4]}, {"spaceId": [1, 2, 3, 4]}],
                    },
                ],
            },
            "MessageAttributes",
            152,
        ),
        (
            {
                "$or": [{"metricName": ["1", "2", "3"]}, {"namespace": ["1", "2"]}],
                "detail": {
                    "scope": ["Service", "Test"],
                    "$or": [{"source": ["1"]}, {"type": ["1", "2", "3"]}],
                },
            },
            "MessageBody",
            160,
        ),
    ],
    ids=["151-values", "100x51", "nested-216", "or-152", "nested-or-160"],
)
def test_policies_over_150_combinations_are_refused(
    policy: Any, scope: str, combinations: int
) -> None:
    assert f"too complex: {combinations} combinations" in _refusal(policy, scope)


def test_nested_policy_is_refused_in_attribute_scope() -> None:
    policy = {"object": {"key": [{"prefix": "auto-"}]}}

    message = _refusal(policy)

    assert "MessageAttributes does not support nested filter policy" in message
    assert "(at object)" in message
    compile_filter_policy(policy, "MessageBody")


def test_policy_over_256_kb_is_refused() -> None:
    assert "bytes" in _refusal({"key": ["x" * (256 * 1024)]})


# --- Policies SNS refuses: malformed keys and values ---------------------------------------


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({"key_a": "value_one"}, '"key_a" must be an object or an array'),
        ({"key": []}, "Empty arrays are not allowed"),
        ({"key": {}}, "Empty objects are not allowed"),
        ({"key": [["value"]]}, "Match value must be String, number, true, false, or null"),
        ({"key": [{"wrong-operator": True}]}, "Unrecognized match type wrong-operator"),
        ({"key": [{}]}, "Match expression name not found"),
        ({"key": [{"suffix": "value", "prefix": "value2"}]}, "Only one key allowed"),
        ({"key": {"suffix": "value"}}, '"suffix" must be an object or an array'),
        ({"key": [{"suffix": 100}]}, "suffix match pattern must be a string"),
        ({"key": [{"prefix": None}]}, "prefix match pattern must be a string"),
        (
            {"key": [{"equals-ignore-case": ["a"]}]},
            "equals-ignore-case match pattern must be a string",
        ),
        ({"key": [{"exists": None}]}, "exists match pattern must be either true or false."),
        ({"key": [{"exists": "no"}]}, "exists match pattern must be either true or false."),
    ],
)
def test_malformed_policy_is_refused(policy: Any, reason: str) -> None:
    assert reason in _refusal(policy)


@pytest.mark.parametrize(
    ("operand", "reason"),
    [
        ({"wrong-operator": None}, "Unsupported anything-but pattern: wrong-operator"),
        ({"exists": False}, "Unsupported anything-but pattern: exists"),
        ({"equals-ignore-case": "x"}, "Unsupported anything-but pattern: equals-ignore-case"),
        ({"prefix": False}, "prefix match pattern must be a string"),
        ({"suffix": ""}, "Null prefix/suffix not allowed"),
        (["a", 1], "mixed type is not supported"),
        ([], "mixed type is not supported"),
        ([None], "start|null|boolean is not supported"),
        (True, "must be an array or single string/number value"),
        ([5_000_000_000], "outside the range SNS compares"),
    ],
)
def test_malformed_anything_but_is_refused(operand: Any, reason: str) -> None:
    assert reason in _refusal({"key": [{"anything-but": operand}]})


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ([], "Invalid member in numeric match: ]"),
        (["operator"], "Unrecognized numeric range operator: operator"),
        ([1, "<="], "Invalid member in numeric match: 1"),
        (["=", "000"], "Value of equals must be numeric"),
        ([">="], "Value of >= must be numeric"),
        (["<", 100, ">", 10], "Too many elements in numeric expression"),
        ([">=", 1, ">", 2], "Bad numeric range operator: >"),
        ([">", 3, "<", 1], "Bottom must be less than top"),
        ([">", 20, "<="], "Value of <= must be numeric"),
        ([">", 20, 30], "Bad value in numeric range: 30"),
        ([">", 20, "test"], "Bad numeric range operator: test"),
        ([">", "20", "<", "30"], "Value of > must be numeric"),
        ([">", 20, "<", "30"], "Value of < must be numeric"),
        ([">", 20, "<", 30, "<", 50], "Too many terms in numeric range expression"),
        ([">", True], "Value of > must be numeric"),
        (["<", 1_000_000_001], "outside the range SNS compares"),
        ({">": 1}, "Value of numeric must be an array."),
    ],
)
def test_malformed_numeric_expression_is_refused(expression: Any, reason: str) -> None:
    assert reason in _refusal({"key": [{"numeric": expression}]})


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        (["bad-filter"], "prefix match pattern must be a string"),
        ("bad-filter", "Malformed CIDR, one '/' required"),
        ("bad-filter/64", "Nonstandard IP address: bad-filter"),
        ("bad-/64filter", "Malformed CIDR, mask bits must be an integer"),
        ("xx.11.xx/8", "Nonstandard IP address: xx.11.xx"),
        ("xxxx:db8:1234:1a00::/64", "Nonstandard IP address: xxxx:db8:1234:1a00::"),
        ("10.0.0.0/32", "IPv4 mask bits must be < 32"),
        ("2001:db8::/128", "IPv6 mask bits must be < 128"),
    ],
)
def test_malformed_cidr_is_refused(cidr: Any, reason: str) -> None:
    assert reason in _refusal({"key": [{"cidr": cidr}]})


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("a**b", "Consecutive wildcard characters at pos 1"),
        ("a\\b", "Invalid escape character at pos 1"),
        ("*a*b*c*", "has 4 wildcards"),
        (7, "wildcard match pattern must be a string"),
    ],
)
def test_malformed_wildcard_is_refused(pattern: Any, reason: str) -> None:
    assert reason in _refusal({"key": [{"wildcard": pattern}]})


def test_wildcard_budget_of_100_points_is_enforced() -> None:
    # Eleven one-wildcard patterns on a key score (11 x 1) x 11 = 121 points
    policy = {"key": [{"wildcard": f"{i}*"} for i in range(11)]}

    assert "wildcard complexity is 121" in _refusal(policy)
    compile_filter_policy({"key": [{"wildcard": f"{i}*"} for i in range(10)]})


def test_refusal_says_where_the_problem_is() -> None:
    policy = {
        "detail": {
            "scope": ["Service"],
            "$or": [{"source": ["aws.cloudwatch"]}, {"type": [{"numeric": [">"]}]}],
        }
    }

    message = _refusal(policy, "MessageBody")

    assert "Value of > must be numeric" in message
    assert "(at detail.$or[1].type.numeric)" in message
