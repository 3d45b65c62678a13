from __future__ import annotations

from datetime import UTC, date, datetime
from functools import reduce

import pytest

from domain.activity import (
    ActivityBucket,
    DailyRollup,
    LocalTime,
    add_to_rollup,
    local_time,
)
from domain.catalog import ContentItem, Difficulty
from domain.events import EventType, LearningEvent
from tests.domain.support import event
from tests.factories import content_item


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rollup_of(*pairs: tuple[LearningEvent, ContentItem], hour: int = 12) -> DailyRollup:
    start = DailyRollup(learner_id="ada", day=date(2026, 3, 10))
    return reduce(lambda r, pair: add_to_rollup(r, pair[0], pair[1], hour), pairs, start)


@pytest.mark.parametrize(
    ("at", "zone", "expected"),
    [
        (utc(2026, 3, 10, 12), "UTC", LocalTime(date(2026, 3, 10), 12)),
        (utc(2026, 3, 10, 12), "Europe/Paris", LocalTime(date(2026, 3, 10), 13)),
        (utc(2026, 3, 10, 23, 30), "Asia/Tokyo", LocalTime(date(2026, 3, 11), 8)),
        (utc(2026, 3, 10, 3), "America/Los_Angeles", LocalTime(date(2026, 3, 9), 20)),
        (utc(2026, 3, 10, 18, 45), "Asia/Kolkata", LocalTime(date(2026, 3, 11), 0)),
        # America/New_York springs forward on 2026-03-08 at 02:00 EST (07:00 UTC).
        (utc(2026, 3, 8, 6, 30), "America/New_York", LocalTime(date(2026, 3, 8), 1)),
        (utc(2026, 3, 8, 7, 30), "America/New_York", LocalTime(date(2026, 3, 8), 3)),
        (utc(2026, 3, 9, 3, 30), "America/New_York", LocalTime(date(2026, 3, 8), 23)),
        (utc(2026, 3, 8, 4, 30), "America/New_York", LocalTime(date(2026, 3, 7), 23)),
        # Europe/London falls back on 2026-10-25 at 02:00 BST (01:00 UTC): 01:xx happens twice.
        (utc(2026, 10, 25, 0, 30), "Europe/London", LocalTime(date(2026, 10, 25), 1)),
        (utc(2026, 10, 25, 1, 30), "Europe/London", LocalTime(date(2026, 10, 25), 1)),
        (utc(2026, 10, 25, 2, 30), "Europe/London", LocalTime(date(2026, 10, 25), 2)),
        (utc(2026, 10, 24, 23, 30), "Europe/London", LocalTime(date(2026, 10, 25), 0)),
        (utc(2026, 10, 25, 23, 30), "Europe/London", LocalTime(date(2026, 10, 25), 23)),
    ],
)
def test_local_time_is_the_learners_calendar_day_and_hour(
    at: datetime, zone: str, expected: LocalTime
) -> None:
    assert local_time(at, zone) == expected


def test_an_event_at_half_past_eleven_utc_lands_on_the_next_day_in_tokyo() -> None:
    assert local_time(utc(2026, 3, 10, 23, 30), "Asia/Tokyo").day == date(2026, 3, 11)
    assert local_time(utc(2026, 3, 10, 23, 30), "UTC").day == date(2026, 3, 10)


def test_an_empty_bucket_has_no_average() -> None:
    assert ActivityBucket().average_score is None


def test_a_bucket_counts_events_time_answers_scores_and_completions() -> None:
    bucket = (
        ActivityBucket()
        .add(event(type=EventType.VIEWED, score=None, time_spent_seconds=30))
        .add(event(type=EventType.ANSWERED, score=0.5, time_spent_seconds=60))
        .add(event(type=EventType.ANSWERED, score=1.0, time_spent_seconds=15))
        .add(event(type=EventType.COMPLETED, score=None, time_spent_seconds=0))
    )
    assert bucket == ActivityBucket(
        events=4, time_spent_seconds=105, answered=2, scored=2, score_sum=1.5, completions=1
    )
    assert bucket.average_score == pytest.approx(0.75)


def test_a_rollup_breaks_activity_down_by_category_difficulty_hour_and_certification() -> None:
    ec2 = content_item()
    s3 = content_item(
        id="saa-s3-1", category="S3", difficulty=Difficulty.BEGINNER, certification="SAA"
    )
    dva = content_item(
        id="dva-1", category="Lambda", difficulty=Difficulty.ADVANCED, certification="DVA"
    )
    rollup = rollup_of(
        (event(score=0.8, time_spent_seconds=60), ec2),
        (event(score=0.4, time_spent_seconds=30, content_id="saa-s3-1"), s3),
        (event(score=None, type=EventType.COMPLETED, content_id="dva-1"), dva),
        hour=9,
    )
    assert rollup.total.events == 3
    assert rollup.total.time_spent_seconds == 150
    assert {key: b.events for key, b in rollup.by_category.items()} == {
        "EC2": 1,
        "S3": 1,
        "Lambda": 1,
    }
    assert {key: b.events for key, b in rollup.by_difficulty.items()} == {
        "intermediate": 1,
        "beginner": 1,
        "advanced": 1,
    }
    assert {key: b.events for key, b in rollup.by_certification.items()} == {"SAA": 2, "DVA": 1}
    assert rollup.by_certification["SAA"].average_score == pytest.approx(0.6)
    assert rollup.by_certification["DVA"].completions == 1
    assert dict(rollup.by_hour) == {9: rollup.total}


def test_events_in_different_hours_go_to_different_hour_buckets() -> None:
    item = content_item()
    rollup = DailyRollup(learner_id="ada", day=date(2026, 3, 10))
    rollup = add_to_rollup(rollup, event(), item, 8)
    rollup = add_to_rollup(rollup, event(), item, 8)
    rollup = add_to_rollup(rollup, event(), item, 21)
    assert {hour: b.events for hour, b in rollup.by_hour.items()} == {8: 2, 21: 1}


def test_an_item_without_category_or_difficulty_is_uncategorised() -> None:
    bare = content_item(category=None, difficulty=None, certification=None)
    rollup = rollup_of((event(), bare))
    assert set(rollup.by_category) == {"uncategorised"}
    assert set(rollup.by_difficulty) == {"uncategorised"}


def test_an_item_without_a_certification_is_left_out_of_the_certification_breakdown() -> None:
    rollup = rollup_of((event(), content_item(certification=None)))
    assert rollup.by_certification == {}
    assert rollup.total.events == 1


def test_adding_to_a_rollup_leaves_the_original_unchanged() -> None:
    item = content_item()
    first = rollup_of((event(), item))
    second = add_to_rollup(first, event(), item, 12)
    assert first.total.events == 1
    assert first.by_category["EC2"].events == 1
    assert second.by_category["EC2"].events == 2
    assert (second.learner_id, second.day) == ("ada", date(2026, 3, 10))
