from __future__ import annotations

from functools import reduce

import pytest

from domain.events import EventType, LearningEvent
from domain.progress import ATTEMPT_TYPES, ContentProgress, ProgressStatus, advance
from tests.domain.support import at, event


def fresh() -> ContentProgress:
    return ContentProgress(learner_id="ada", content_id="saa-ec2-1", certification="SAA")


def replay(*events: LearningEvent) -> ContentProgress:
    return reduce(advance, events, fresh())


@pytest.mark.parametrize(
    ("type_", "status"),
    [
        (EventType.VIEWED, ProgressStatus.IN_PROGRESS),
        (EventType.STARTED, ProgressStatus.IN_PROGRESS),
        (EventType.ANSWERED, ProgressStatus.IN_PROGRESS),
        (EventType.COMPLETED, ProgressStatus.COMPLETED),
        (EventType.MASTERED, ProgressStatus.MASTERED),
    ],
)
def test_a_first_event_sets_the_status_for_its_type(
    type_: EventType, status: ProgressStatus
) -> None:
    assert replay(event(type=type_)).status is status


@pytest.mark.parametrize(
    "later",
    [EventType.VIEWED, EventType.STARTED, EventType.ANSWERED],
)
def test_status_never_moves_back_from_completed(later: EventType) -> None:
    progress = replay(event(type=EventType.COMPLETED, occurred_at=at(0)), event(type=later))
    assert progress.status is ProgressStatus.COMPLETED


@pytest.mark.parametrize(
    "later",
    [EventType.VIEWED, EventType.STARTED, EventType.ANSWERED, EventType.COMPLETED],
)
def test_status_never_moves_back_from_mastered(later: EventType) -> None:
    progress = replay(event(type=EventType.MASTERED), event(type=later))
    assert progress.status is ProgressStatus.MASTERED


def test_mastered_beats_completed_in_either_order() -> None:
    completed = event(type=EventType.COMPLETED, occurred_at=at(0))
    mastered = event(type=EventType.MASTERED, occurred_at=at(-10))
    assert replay(completed, mastered).status is ProgressStatus.MASTERED
    assert replay(mastered, completed).status is ProgressStatus.MASTERED


def test_status_ranks_follow_the_lifecycle() -> None:
    lifecycle = [
        ProgressStatus.NOT_STARTED,
        ProgressStatus.IN_PROGRESS,
        ProgressStatus.COMPLETED,
        ProgressStatus.MASTERED,
    ]
    assert sorted(ProgressStatus, key=lambda status: status.rank) == lifecycle
    assert [status for status in lifecycle if status.is_done] == lifecycle[2:]


@pytest.mark.parametrize("type_", list(EventType))
def test_only_answers_completions_and_masteries_count_as_attempts(type_: EventType) -> None:
    progress = replay(event(type=type_, score=None))
    assert progress.attempts == (1 if type_ in ATTEMPT_TYPES else 0)
    assert progress.events == 1


def test_attempts_are_answered_completed_and_mastered() -> None:
    counted = {type_ for type_ in EventType if replay(event(type=type_, score=None)).attempts}
    assert counted == {EventType.ANSWERED, EventType.COMPLETED, EventType.MASTERED}


def test_every_event_adds_its_time_spent() -> None:
    progress = replay(
        event(type=EventType.VIEWED, time_spent_seconds=30),
        event(type=EventType.ANSWERED, time_spent_seconds=45.5),
        event(type=EventType.COMPLETED, time_spent_seconds=0),
    )
    assert progress.time_spent_seconds == 75.5
    assert progress.events == 3
    assert progress.attempts == 2


def test_best_and_last_score_follow_events_in_order() -> None:
    progress = replay(
        event(score=0.6, occurred_at=at(0)),
        event(score=0.9, occurred_at=at(1)),
        event(score=0.7, occurred_at=at(2)),
    )
    assert progress.best_score == 0.9
    assert progress.last_score == 0.7


def test_a_late_event_can_be_the_best_but_not_the_last_score() -> None:
    progress = replay(
        event(score=0.6, occurred_at=at(10)),
        event(score=0.95, occurred_at=at(0)),
    )
    assert progress.best_score == 0.95
    assert progress.last_score == 0.6


def test_an_unscored_event_leaves_scores_alone() -> None:
    progress = replay(event(score=0.6, occurred_at=at(0)), event(score=None, occurred_at=at(5)))
    assert progress.best_score == 0.6
    assert progress.last_score == 0.6


def test_the_last_score_is_the_newest_scored_event_even_past_a_later_unscored_one() -> None:
    progress = replay(
        event(score=0.8, occurred_at=at(0)),
        event(type=EventType.VIEWED, score=None, occurred_at=at(20)),
        event(score=0.5, occurred_at=at(10)),  # arrives late, yet is the newest score
    )
    assert progress.last_score == 0.5


def test_completed_at_is_the_first_completion() -> None:
    progress = replay(event(type=EventType.COMPLETED, occurred_at=at(0)))
    progress = advance(progress, event(type=EventType.COMPLETED, occurred_at=at(30)))
    assert progress.completed_at == at(0)


def test_a_late_earlier_completion_moves_completed_at_back() -> None:
    progress = replay(
        event(type=EventType.COMPLETED, occurred_at=at(30)),
        event(type=EventType.COMPLETED, occurred_at=at(5)),
    )
    assert progress.completed_at == at(5)


def test_mastering_counts_as_completing() -> None:
    assert replay(event(type=EventType.MASTERED, occurred_at=at(7))).completed_at == at(7)


@pytest.mark.parametrize("type_", [EventType.VIEWED, EventType.STARTED, EventType.ANSWERED])
def test_events_that_do_not_finish_the_item_leave_completed_at_empty(type_: EventType) -> None:
    assert replay(event(type=type_)).completed_at is None


def test_first_and_last_activity_span_all_events_whatever_their_order() -> None:
    progress = replay(
        event(occurred_at=at(10)),
        event(occurred_at=at(-20)),
        event(occurred_at=at(40)),
        event(occurred_at=at(0)),
    )
    assert progress.first_activity_at == at(-20)
    assert progress.last_activity_at == at(40)


def test_advance_keeps_identity_fields_and_does_not_mutate() -> None:
    before = fresh()
    after = advance(before, event())
    assert before.events == 0
    assert (after.learner_id, after.content_id, after.certification) == (
        "ada",
        "saa-ec2-1",
        "SAA",
    )


def test_an_item_remembers_the_sessions_of_its_latest_events() -> None:
    from domain.progress import MAX_ITEM_SESSIONS, ContentProgress, advance
    from tests.domain.support import event

    progress = ContentProgress("ada", "saa-ec2-1")
    for n in range(MAX_ITEM_SESSIONS + 5):
        progress = advance(progress, event(session_id=f"s{n}"))
    progress = advance(progress, event(session_id=f"s{MAX_ITEM_SESSIONS + 4}"))
    progress = advance(progress, event(session_id=None))

    assert len(progress.sessions) == MAX_ITEM_SESSIONS
    assert progress.sessions[0] == "s5" and progress.sessions[-1] == f"s{MAX_ITEM_SESSIONS + 4}"
