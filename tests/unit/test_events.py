"""Domain events: written with the change they report, read back from the stream as written."""

from __future__ import annotations

import pytest

from relay.platform import events


def test_an_event_reads_back_from_its_stream_image_as_it_was_written():
    event = events.Event.now(
        "feed.liked",
        actor_id="u-bob",
        subject_id="p1",
        at_ms=1_765_000_000_000,
        recipients=("u-alice",),
        data={"postId": "p1", "note": "zoë \u2603"},
    )

    image = events.outbox_put("EventsTable", event)["Put"]["Item"]

    assert events.from_stream_image(image) == event


def test_an_event_without_actor_or_recipients_reads_back_without_them():
    event = events.Event.now("accounts.deleted", actor_id=None, subject_id="u1", at_ms=5)

    image = events.outbox_put("EventsTable", event)["Put"]["Item"]

    assert "actorId" not in image and "recipients" not in image
    assert events.from_stream_image(image) == event


def test_event_ids_sort_by_time():
    ids = [events.new_event_id(ms) for ms in (1, 20, 300, 1_765_000_000_000)]

    assert ids == sorted(ids)


def test_an_event_carrying_more_than_small_facts_is_refused_by_its_producer():
    big = events.Event.now("x.y", actor_id="a", subject_id="s", at_ms=1, data={"b": "x" * 5000})

    with pytest.raises(ValueError):
        events.outbox_put("EventsTable", big)


@pytest.mark.parametrize(
    "image", [{}, {"pk": {"S": "EVENT#1"}}, {"pk": {"N": "1"}, "kind": {"S": "k"}}]
)
def test_a_stream_image_that_is_not_an_event_is_refused(image):
    with pytest.raises(events.NotAnEventRecord):
        events.from_stream_image(image)
