"""Rate limits come from RULES, overridden per deployment by the template's parameters."""

import json

import pytest

from relay.platform import config, ratelimit
from tests.conftest import TEMPLATE


@pytest.fixture
def limits(monkeypatch):
    def set_limits(text):
        monkeypatch.setenv("RATE_LIMITS", text)
        config.settings.cache_clear()

    yield set_limits
    config.settings.cache_clear()


def test_a_rule_keeps_its_default_when_the_deployment_sets_nothing(limits):
    limits("")

    assert ratelimit.rule("redirect-ip") is ratelimit.RULES["redirect-ip"]


def test_a_deployment_can_raise_a_limit_and_keep_its_period(limits):
    limits('{"redirect-ip": 1000000}')

    raised = ratelimit.rule("redirect-ip")

    assert raised.limit == 1_000_000
    assert raised.period_s == ratelimit.RULES["redirect-ip"].period_s
    assert ratelimit.rule("shorten-user") == ratelimit.RULES["shorten-user"]


@pytest.mark.parametrize("bad", ['{"redirect-ip": 0}', '{"redirect-ip": "600"}', "[600]", "{"])
def test_a_malformed_limit_is_refused_at_start(limits, bad):
    limits(bad)

    with pytest.raises(ValueError):
        config.settings()


def test_the_template_defaults_are_the_rules_defaults():
    from relay_local.template.build import build_model

    model = build_model(TEMPLATE, moto_url="http://127.0.0.1:1")
    for function in model.functions.values():
        configured = json.loads(function.environment["RATE_LIMITS"])
        assert configured == {name: rule.limit for name, rule in ratelimit.RULES.items()}


def test_a_parameter_override_reaches_every_function():
    from relay_local.template.build import build_model

    model = build_model(
        TEMPLATE, moto_url="http://127.0.0.1:1", overrides={"RedirectLimitPerMinute": "5000"}
    )

    redirect = json.loads(model.functions["Redirect"].environment["RATE_LIMITS"])
    assert redirect["redirect-ip"] == 5000
