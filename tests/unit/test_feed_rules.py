"""The feed's rules, ids and cursors: what they promise on their own."""

from __future__ import annotations

import dataclasses

import pytest

from relay.feed import ids, service
from relay.feed.rules import DAY_S, Rules, score
from relay.platform import config
from relay.platform.errors import Invalid
from relay_local.template.loader import load_template
from tests.conftest import TEMPLATE


def test_ids_sort_as_their_creation_times_do():
    made = [ids.new_id(ms) for ms in (1_795_000_000_999, 1_795_000_001_000, 1_795_000_010_000)]

    assert sorted(made) == made
    assert all(ids.is_id(i) for i in made)
    assert ids.created_ms(made[1]) == 1_795_000_001_000


def test_a_cursor_names_the_last_id_of_its_own_list_and_nothing_else_is_a_cursor():
    post_id = ids.new_id(1_795_000_000_000)
    mine = "feed:alice"

    assert ids.position(mine, ids.cursor_of(mine, post_id)) == post_id
    for bad in (
        "not-a-cursor",
        "",
        "x" * 500,
        ids.cursor_of(mine, "1795000000000ABCDEFGHIJ"),
        ids.cursor_of("feed:bob", post_id),  # another reader's feed
        ids.cursor_of("posts:alice", post_id),  # another list of the same user
    ):
        with pytest.raises(Invalid) as raised:
            ids.position(mine, bad)
        assert raised.value.code == "invalid_cursor"


def test_engagement_lifts_a_post_and_age_brings_it_down():
    hour = 3_600_000

    assert score(1, 0, 0, 0) > score(0, 0, 0, 0)
    assert score(0, 0, 1, 0) > score(0, 1, 0, 0) > score(1, 0, 0, 0)
    assert score(5, 0, 0, 0) > score(5, 0, 0, hour) > score(5, 0, 0, 24 * hour)
    assert score(0, 0, 0, 0) > score(10, 0, 0, 48 * hour)


def test_an_author_is_a_celebrity_from_the_threshold_on():
    rules = Rules(celebrity_threshold=3)

    assert not rules.is_celebrity(2) and rules.is_celebrity(3)


@pytest.mark.parametrize("bad", ["0", "-5", "ten", "1.5"])
def test_a_malformed_feed_setting_is_refused_at_start(monkeypatch, bad):
    monkeypatch.setenv("CELEBRITY_THRESHOLD", bad)
    config.settings.cache_clear()
    try:
        with pytest.raises(ValueError):
            config.settings()
    finally:
        monkeypatch.delenv("CELEBRITY_THRESHOLD")
        config.settings.cache_clear()


def test_each_rule_the_template_sets_defaults_to_the_same_value_there_and_in_the_code():
    parameters = load_template(TEMPLATE)["Parameters"]
    defaults = Rules()

    assert parameters["CelebrityThreshold"]["Default"] == defaults.celebrity_threshold
    assert parameters["FeedTimelineLength"]["Default"] == defaults.timeline_length
    assert parameters["FeedInactiveDays"]["Default"] * DAY_S == defaults.inactive_after_s


@pytest.mark.parametrize(
    ("variable", "value", "rule", "expected"),
    [
        ("CELEBRITY_THRESHOLD", "7", "celebrity_threshold", 7),
        ("FEED_TIMELINE_LENGTH", "300", "timeline_length", 300),
        ("FEED_INACTIVE_DAYS", "2", "inactive_after_s", 2 * DAY_S),
    ],
)
def test_a_rule_the_deployment_sets_replaces_its_default_and_only_it(
    monkeypatch, variable, value, rule, expected
):
    monkeypatch.setenv(variable, value)
    config.settings.cache_clear()
    service.rules.cache_clear()
    try:
        rules = service.rules()
    finally:
        monkeypatch.delenv(variable)
        config.settings.cache_clear()
        service.rules.cache_clear()

    assert rules == dataclasses.replace(Rules(), **{rule: expected})
