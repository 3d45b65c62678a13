from __future__ import annotations

from datetime import date

import pytest

from domain.events import EventType, LearningEvent
from domain.progress import ContentProgress, advance
from domain.totals import Analytics, LearnerTotals, Tally, add_to_totals, analytics
from tests.domain.support import event


class Learner:
    """Folds events into progress and totals the way the learner aggregate does."""

    def __init__(self) -> None:
        self.progress: dict[str, ContentProgress] = {}
        self.totals = LearnerTotals(learner_id="ada")

    def record(self, event: LearningEvent, certification: str | None = "SAA") -> None:
        before = self.progress.get(event.content_id) or ContentProgress(
            learner_id="ada", content_id=event.content_id, certification=certification
        )
        after = advance(before, event)
        self.progress[event.content_id] = after
        self.totals = add_to_totals(
            self.totals,
            event,
            certification=certification,
            before=before,
            after=after,
            day=event.occurred_at.date(),
        )


def test_new_totals_are_empty() -> None:
    totals = LearnerTotals(learner_id="ada")
    assert totals.overall == Tally()
    assert totals.tally("SAA") == Tally()
    assert totals.tally(None) is totals.overall


def test_content_viewed_counts_each_item_once_on_its_first_event() -> None:
    learner = Learner()
    learner.record(event(type=EventType.VIEWED, content_id="a", score=None))
    learner.record(event(type=EventType.VIEWED, content_id="a", score=None))
    learner.record(event(type=EventType.ANSWERED, content_id="a"))
    learner.record(event(type=EventType.ANSWERED, content_id="b"))
    learner.record(event(type=EventType.COMPLETED, content_id="c", score=None))
    assert learner.totals.overall.content_viewed == 3
    assert learner.totals.overall.events == 5


def test_items_completed_counts_the_move_into_done_only_once() -> None:
    learner = Learner()
    learner.record(event(type=EventType.VIEWED, content_id="a", score=None))
    learner.record(event(type=EventType.COMPLETED, content_id="a", score=None))
    learner.record(event(type=EventType.COMPLETED, content_id="a", score=None))
    learner.record(event(type=EventType.MASTERED, content_id="a", score=None))
    learner.record(event(type=EventType.MASTERED, content_id="b", score=None))
    learner.record(event(type=EventType.ANSWERED, content_id="c"))
    assert learner.totals.overall.items_completed == 2


def test_questions_answered_scores_and_time_add_up() -> None:
    learner = Learner()
    learner.record(event(type=EventType.ANSWERED, score=0.5, time_spent_seconds=40))
    learner.record(event(type=EventType.ANSWERED, score=None, time_spent_seconds=20))
    learner.record(event(type=EventType.COMPLETED, score=1.0, time_spent_seconds=0))
    tally = learner.totals.overall
    assert tally.questions_answered == 2
    assert tally.scored == 2
    assert tally.score_sum == pytest.approx(1.5)
    assert tally.time_spent_seconds == 60


def test_each_certification_has_its_own_tally_and_overall_sums_them() -> None:
    learner = Learner()
    learner.record(event(content_id="saa-1", score=0.5), certification="SAA")
    learner.record(event(content_id="saa-2", score=1.0), certification="SAA")
    learner.record(event(content_id="dva-1", type=EventType.COMPLETED), certification="DVA")
    learner.record(event(content_id="free-1"), certification=None)
    totals = learner.totals
    assert totals.tally("SAA").events == 2
    assert totals.tally("SAA").content_viewed == 2
    assert totals.tally("DVA").items_completed == 1
    assert totals.tally("SAA").items_completed == 0
    assert set(totals.by_certification) == {"SAA", "DVA"}
    assert totals.overall.events == 4
    assert totals.overall.content_viewed == 4
    assert totals.tally("CLF") == Tally()


def test_adding_to_totals_leaves_the_original_unchanged() -> None:
    learner = Learner()
    learner.record(event(content_id="a"))
    first = learner.totals
    learner.record(event(content_id="b"))
    assert first.overall.events == 1
    assert first.tally("SAA").events == 1
    assert learner.totals.tally("SAA").events == 2


def test_analytics_turn_a_tally_into_percentages() -> None:
    tally = Tally(
        events=10,
        content_viewed=6,
        questions_answered=5,
        items_completed=3,
        scored=4,
        score_sum=3.0,
        time_spent_seconds=5400,
    )
    result = analytics(tally, certification="SAA", catalog_items=12)
    assert result == Analytics(
        certification="SAA",
        content_viewed=6,
        questions_answered=5,
        items_completed=3,
        average_score=75.0,
        time_spent_seconds=5400,
        completion_rate=25.0,
        total_events=10,
    )
    assert result.time_spent_hours == 1.5


def test_analytics_have_no_average_score_before_any_scored_event() -> None:
    assert analytics(Tally(), certification=None, catalog_items=5).average_score is None


@pytest.mark.parametrize(
    ("completed", "catalog_items", "rate"),
    [(0, 10, 0.0), (1, 3, 100 / 3), (10, 10, 100.0), (12, 10, 100.0), (5, 0, 0.0), (0, 0, 0.0)],
)
def test_completion_rate_is_against_the_catalog_and_capped_at_a_hundred(
    completed: int, catalog_items: int, rate: float
) -> None:
    result = analytics(
        Tally(items_completed=completed), certification=None, catalog_items=catalog_items
    )
    assert result.completion_rate == pytest.approx(rate)


def test_totals_mark_the_event_day_active_and_count_mastery_changes() -> None:
    totals = LearnerTotals(learner_id="ada")
    answer = event()
    progress = ContentProgress(learner_id="ada", content_id=answer.content_id)

    after = add_to_totals(
        totals,
        answer,
        certification=None,
        before=progress,
        after=advance(progress, answer),
        day=date(2026, 3, 10),
        mastered_change=2,
    )

    assert after.active_days == ((date(2026, 3, 10), date(2026, 3, 10)),)
    assert after.mastered_skills == 2
