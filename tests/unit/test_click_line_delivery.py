"""The click line reaches the subscription and the metric filters as the template sets them.

Lambda's log-level filtering (LogFormat JSON) files a JSON line without a "level"
as INFO, so a click line survives any ApplicationLogLevel up to INFO; the metric
filters count what the line says about the cache.
"""

from __future__ import annotations

import json
import re

import pytest

from relay.shortener.click_log import ClickLog
from relay_local.template.loader import load_template
from tests.conftest import TEMPLATE

KEPT_AT_INFO = ("TRACE", "DEBUG", "INFO")


@pytest.fixture(scope="module")
def resources():
    return load_template(TEMPLATE)["Resources"]


def click_line(cache: str) -> dict:
    lines: list[str] = []
    ClickLog(lines.append).record(
        "Ab3dE9x", 1, 1_795_000_000_000, {"referer": "https://a.example/"}, cache=cache
    )
    return json.loads(lines[0])


def test_redirect_logs_keep_info_lines_so_click_lines_reach_the_subscription(resources):
    logging = resources["Redirect"]["Properties"]["LoggingConfig"]
    line = click_line("hit")

    assert logging["LogFormat"] == "JSON"
    assert logging.get("ApplicationLogLevel", "INFO") in KEPT_AT_INFO
    assert "level" not in line  # filed as INFO
    assert resources["RedirectClickSubscription"]["Properties"]["FilterPattern"] == (
        '{ $.kind = "click" }'
    )
    assert line["kind"] == "click"


@pytest.mark.parametrize(
    ("metric", "cache"),
    [
        ("RedirectCacheHits", "hit"),
        ("RedirectCacheMisses", "miss"),
        ("RedirectRedisFailOpen", "down"),
    ],
)
def test_each_cache_metric_filter_matches_the_line_the_redirect_writes(resources, metric, cache):
    (resource,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Logs::MetricFilter"
        and r["Properties"]["MetricTransformations"][0]["MetricName"] == metric
    ]
    pattern = resource["Properties"]["FilterPattern"]
    wanted = dict(re.findall(r'\$\.(\w+) = "([^"]*)"', pattern))
    line = click_line(cache)

    assert wanted == {"kind": "click", "cache": cache}
    assert {key: line[key] for key in wanted} == wanted
