"""The reward guard: time caps, repeats within the cooldown, and the rate of rewarded events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.catalog import ContentItem, ContentKind
from domain.errors import InvalidInput
from domain.events import EventType
from domain.guard import (
    DEFAULT_GUARD,
    GuardReason,
    GuardSettings,
    RewardedOnItem,
    Verdict,
    judge,
    remember_on_item,
    remember_reward,
    rewarded_of_type,
)
from tests.domain.support import at, event
from tests.factories import content_item

QUESTION = content_item(estimated_minutes=10)  # credits at most 30 minutes an event
QUIZ = content_item(kind=ContentKind.QUIZ, estimated_minutes=20)
NO_ESTIMATE = content_item(estimated_minutes=None)


def verdict(
    *,
    item: ContentItem = QUESTION,
    last_activity_at: datetime | None = None,
    rewarded_on_item: tuple[datetime, ...] = (),
    day_credited_seconds: float = 0,
    recent_rewards: tuple[datetime, ...] = (),
    earns_points: bool = False,
    settings: GuardSettings = DEFAULT_GUARD,
    **overrides: Any,
) -> Verdict:
    return judge(
        event(**overrides),
        item,
        last_activity_at=last_activity_at,
        rewarded_on_item=rewarded_on_item,
        day_credited_seconds=day_credited_seconds,
        recent_rewards=recent_rewards,
        earns_points=earns_points,
        settings=settings,
    )


def test_an_ordinary_answer_passes_untouched() -> None:
    assert verdict(time_spent_seconds=120) == Verdict(120, True, ())


def test_time_is_capped_at_a_multiple_of_the_items_estimate() -> None:
    result = verdict(time_spent_seconds=24 * 3600)
    assert result == Verdict(30 * 60, True, (GuardReason.TIME_CAPPED,))


def test_items_without_an_estimate_use_the_default_cap() -> None:
    result = verdict(item=NO_ESTIMATE, time_spent_seconds=24 * 3600)
    assert result.credited_seconds == 3 * 60 * 60


def test_two_events_on_one_item_cannot_claim_the_same_minutes() -> None:
    result = verdict(
        type=EventType.VIEWED,
        score=None,
        occurred_at=at(10),
        last_activity_at=at(9),
        time_spent_seconds=1800,
    )
    assert result == Verdict(60, True, (GuardReason.TIME_OVERLAP,))


def test_a_late_event_is_not_cut_by_the_items_later_activity() -> None:
    result = verdict(occurred_at=at(10), last_activity_at=at(50), time_spent_seconds=600)
    assert result.credited_seconds == 600


def test_a_day_never_credits_more_than_24_hours() -> None:
    result = verdict(time_spent_seconds=1200, day_credited_seconds=24 * 3600 - 300)
    assert result == Verdict(300, True, (GuardReason.DAY_FULL,))


def test_an_answer_within_the_cooldown_of_a_counted_one_earns_nothing() -> None:
    result = verdict(occurred_at=at(10), rewarded_on_item=(at(6),))
    assert not result.rewarded
    assert result.reasons == (GuardReason.REPEAT,)


def test_the_cooldown_looks_both_ways_for_late_answers() -> None:
    assert not verdict(occurred_at=at(10), rewarded_on_item=(at(12),)).rewarded
    assert verdict(occurred_at=at(10), rewarded_on_item=(at(16), at(4))).rewarded


def test_quiz_answers_minutes_apart_all_count() -> None:
    assert verdict(item=QUIZ, occurred_at=at(10), rewarded_on_item=(at(9),)).rewarded
    close = at(10) - timedelta(seconds=5)
    assert not verdict(item=QUIZ, occurred_at=at(10), rewarded_on_item=(close,)).rewarded


def test_views_are_not_answers_and_have_no_cooldown() -> None:
    assert verdict(type=EventType.VIEWED, score=None, rewarded_on_item=(at(60),)).rewarded


def test_rewarded_events_beyond_the_rate_are_not_rewarded() -> None:
    settings = GuardSettings(max_rewarded=3, rate_window_minutes=10)
    recent = (at(1), at(2), at(3))
    over = verdict(occurred_at=at(4), recent_rewards=recent, settings=settings)
    later = verdict(occurred_at=at(12), recent_rewards=recent, settings=settings)
    assert over == Verdict(60, False, (GuardReason.RATE,))
    assert later.rewarded


def test_a_point_earning_event_counts_toward_the_rate() -> None:
    settings = GuardSettings(max_rewarded=1)
    result = verdict(
        type=EventType.STARTED,
        score=None,
        earns_points=True,
        occurred_at=at(5),
        recent_rewards=(at(4),),
        settings=settings,
    )
    assert not result.rewarded


def test_a_stopped_event_keeps_only_its_activity() -> None:
    answer = event(score=1.0, correct=True, time_spent_seconds=90)
    seen = Verdict(60, False, (GuardReason.REPEAT,)).applied_to(answer)
    assert (seen.type, seen.score, seen.correct, seen.time_spent_seconds) == (
        EventType.VIEWED,
        None,
        None,
        60,
    )


def test_the_rate_window_keeps_only_the_newest_window() -> None:
    kept = remember_reward((at(0), at(5)), at(20), GuardSettings(rate_window_minutes=10))
    assert kept == (at(20),)
    assert remember_reward((at(15),), at(12)) == (at(12), at(15))


def test_an_item_keeps_its_few_newest_counted_times_of_each_type() -> None:
    kept: RewardedOnItem = ()
    for minutes in range(20):
        kept = remember_on_item(kept, EventType.ANSWERED, at(minutes))
    kept = remember_on_item(kept, EventType.COMPLETED, at(30))
    assert rewarded_of_type(kept, EventType.ANSWERED) == [at(m) for m in range(12, 20)]
    assert rewarded_of_type(kept, EventType.COMPLETED) == [at(30)]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("time_factor", 0.5),
        ("default_max_minutes", 0),
        ("daily_max_hours", 25),
        ("cooldown_seconds", -1),
        ("max_rewarded", 0),
        ("rate_window_minutes", 0),
    ],
)
def test_settings_out_of_range_are_refused_by_name(name: str, value: float) -> None:
    with pytest.raises(InvalidInput) as raised:
        GuardSettings(**{name: value}).validate()  # type: ignore[arg-type]
    assert raised.value.field == f"guard.{name}"
