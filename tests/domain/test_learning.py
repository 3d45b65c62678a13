from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.catalog import ContentItem
from domain.events import EventType, LearningEvent
from domain.learners import Learner
from domain.learning import DEFAULT_PASS_THRESHOLD, LearnerRecord, Rules
from domain.mastery import DEFAULT_BKT, BktParams, update_knowledge
from domain.progress import ProgressStatus
from domain.totals import LearnerTotals
from tests.domain.support import at, event
from tests.factories import NOW, content_item

# 23:30 UTC on 10 March is 08:30 on 11 March in Tokyo.
LATE_EVENING_UTC = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
RECEIVED = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
ITEM = content_item(skill_ids=("ec2", "vpc"))


def record_for(time_zone: str = "UTC") -> LearnerRecord:
    return LearnerRecord(
        learner=Learner(id="ada", time_zone=time_zone), totals=LearnerTotals(learner_id="ada")
    )


def apply(
    record: LearnerRecord,
    event: LearningEvent,
    item: ContentItem = ITEM,
    skill_params: dict[str, BktParams] | None = None,
    pass_threshold: float = DEFAULT_PASS_THRESHOLD,
) -> None:
    record.record(
        event,
        item,
        rules=Rules(skill_params=skill_params or {}, pass_threshold=pass_threshold),
        recorded_at=NOW,
    )


def late_event(occurred_at: datetime = LATE_EVENING_UTC, **overrides: Any) -> LearningEvent:
    return event(occurred_at=occurred_at, received_at=RECEIVED, **overrides)


def test_one_event_updates_progress_rollup_totals_and_every_skill_of_the_item() -> None:
    record = record_for("Asia/Tokyo")
    answer = late_event(score=0.9, correct=True, time_spent_seconds=60)

    progress = record.record(answer, ITEM, rules=Rules(), recorded_at=NOW).progress

    assert progress.status is ProgressStatus.IN_PROGRESS
    assert progress.best_score == 0.9
    assert record.progress == {"saa-ec2-1": progress}
    assert progress.certification == "SAA"

    tokyo_day = date(2026, 3, 11)
    assert set(record.days) == {tokyo_day}
    rollup = record.days[tokyo_day]
    assert rollup.learner_id == "ada"
    assert rollup.total.events == 1
    assert set(rollup.by_hour) == {8}
    assert set(rollup.by_category) == {"EC2"}

    assert record.totals.overall.events == 1
    assert record.totals.overall.questions_answered == 1
    assert record.totals.tally("SAA").content_viewed == 1

    expected = update_knowledge(DEFAULT_BKT.prior, correct=True, params=DEFAULT_BKT)
    assert set(record.skills) == {"ec2", "vpc"}
    for skill_id, state in record.skills.items():
        assert state.skill_id == skill_id
        assert state.learner_id == "ada"
        assert state.p_known == pytest.approx(expected)
        assert (state.attempts, state.correct, state.scored) == (1, 1, 1)
        assert state.time_spent_seconds == 60
        assert state.last_practised_at == LATE_EVENING_UTC

    assert record.changed_progress == {"saa-ec2-1"}
    assert record.changed_days == {tokyo_day}
    assert record.changed_skills == {"ec2", "vpc"}


@pytest.mark.parametrize(
    ("time_zone", "day", "hour"),
    [
        ("UTC", date(2026, 3, 10), 23),
        ("Asia/Tokyo", date(2026, 3, 11), 8),
        ("America/New_York", date(2026, 3, 10), 19),
    ],
)
def test_the_rollup_day_is_the_learners_local_day(time_zone: str, day: date, hour: int) -> None:
    record = record_for(time_zone)
    late = late_event()
    assert record.local_day(late) == day
    apply(record, late)
    assert set(record.days) == {day}
    assert set(record.days[day].by_hour) == {hour}


def test_events_on_two_local_days_touch_two_rollups() -> None:
    record = record_for("Asia/Tokyo")
    apply(record, late_event(datetime(2026, 3, 10, 14, 0, tzinfo=UTC)))  # 23:00 JST
    apply(record, late_event(datetime(2026, 3, 10, 15, 0, tzinfo=UTC)))  # 00:00 JST
    assert record.changed_days == {date(2026, 3, 10), date(2026, 3, 11)}


def test_loaded_state_is_updated_rather_than_replaced() -> None:
    record = record_for()
    apply(record, event(score=0.5, type=EventType.ANSWERED))
    record.changed_progress.clear()
    record.changed_skills.clear()
    record.changed_days.clear()
    apply(record, event(score=None, type=EventType.COMPLETED))

    progress = record.progress["saa-ec2-1"]
    assert progress.status is ProgressStatus.COMPLETED
    assert progress.events == 2
    assert record.days[NOW.date()].total.events == 2
    assert record.totals.overall.content_viewed == 1
    assert record.totals.overall.items_completed == 1
    assert record.changed_progress == {"saa-ec2-1"}
    assert record.changed_days == {NOW.date()}


def test_a_rollup_already_loaded_for_the_day_is_added_to() -> None:
    record = record_for()
    apply(record, event())
    loaded = record.days[NOW.date()]
    fresh = record_for()
    fresh.days[NOW.date()] = loaded
    apply(fresh, event())
    assert fresh.days[NOW.date()].total.events == 2


@pytest.mark.parametrize(
    "type_", [EventType.VIEWED, EventType.STARTED, EventType.COMPLETED, EventType.MASTERED]
)
def test_an_event_that_is_not_an_answer_adds_time_to_skills_without_changing_mastery(
    type_: EventType,
) -> None:
    record = record_for()
    apply(record, event(type=type_, score=0.95, correct=True, time_spent_seconds=120))
    for state in record.skills.values():
        assert state.p_known == pytest.approx(DEFAULT_BKT.prior, abs=1e-12)
        assert (state.attempts, state.correct, state.scored) == (0, 0, 0)
        assert state.time_spent_seconds == 120
        assert state.last_practised_at == NOW
    assert record.changed_skills == {"ec2", "vpc"}


@pytest.mark.parametrize(
    ("score", "correct"), [(0.7, True), (0.95, True), (0.69, False), (0.0, False)]
)
def test_an_answer_without_a_correct_flag_is_judged_by_the_score_threshold(
    score: float, correct: bool
) -> None:
    record = record_for()
    apply(record, event(type=EventType.ANSWERED, score=score, correct=None))
    expected = update_knowledge(DEFAULT_BKT.prior, correct=correct, params=DEFAULT_BKT)
    for state in record.skills.values():
        assert state.p_known == pytest.approx(expected)
        assert state.correct == (1 if correct else 0)
        assert state.scored == 1
        assert state.score_sum == pytest.approx(score)


def test_a_custom_pass_threshold_is_used_for_answers_without_a_flag() -> None:
    record = record_for()
    apply(record, event(score=0.8, correct=None), pass_threshold=0.9)
    assert all(state.correct == 0 for state in record.skills.values())


def test_the_correct_flag_wins_over_a_low_score() -> None:
    record = record_for()
    apply(record, event(score=0.1, correct=True))
    assert all(state.correct == 1 for state in record.skills.values())


def test_an_answer_with_neither_flag_nor_score_only_adds_time() -> None:
    record = record_for()
    apply(record, event(score=None, correct=None, time_spent_seconds=30))
    for state in record.skills.values():
        assert state.p_known == pytest.approx(DEFAULT_BKT.prior, abs=1e-12)
        assert state.attempts == 0
        assert state.time_spent_seconds == 30
    assert record.progress["saa-ec2-1"].attempts == 1


def test_each_skill_uses_its_own_parameters_or_the_defaults() -> None:
    strict = BktParams(prior=0.3, learn=0.05, guess=0.1, slip=0.05)
    record = record_for()
    apply(record, event(correct=True), skill_params={"vpc": strict})
    assert record.skills["vpc"].p_known == pytest.approx(
        update_knowledge(0.3, correct=True, params=strict)
    )
    assert record.skills["ec2"].p_known == pytest.approx(
        update_knowledge(0.1, correct=True, params=DEFAULT_BKT)
    )


def test_an_item_without_skills_touches_no_skill() -> None:
    record = record_for()
    apply(record, event(), item=content_item(skill_ids=()))
    assert record.skills == {}
    assert record.changed_skills == set()
    assert record.changed_progress == {"saa-ec2-1"}


def test_consecutive_correct_answers_master_the_skills() -> None:
    record = record_for()
    for minutes in (0, 10, 20, 30):  # apart: the reward guard counts one answer per cooldown
        apply(record, event(correct=True, occurred_at=at(minutes)))
    assert all(state.mastered for state in record.skills.values())
    assert record.progress["saa-ec2-1"].attempts == 4


def test_an_answer_schedules_the_items_review_and_other_events_do_not() -> None:
    record = record_for()
    viewed = record.record(
        late_event(type=EventType.VIEWED, score=None), ITEM, rules=Rules(), recorded_at=NOW
    )
    answered = record.record(
        late_event(score=0.2, correct=False), ITEM, rules=Rules(), recorded_at=NOW
    )

    assert viewed.progress.review is None
    card = answered.progress.review
    assert card is not None and card.reviews == 1
    assert card.last_review == LATE_EVENING_UTC
    assert card.due > LATE_EVENING_UTC
