"""Progress through one content item: not started -> in progress -> completed -> mastered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.events import EventType, LearningEvent
from domain.review import ReviewCard


class ProgressStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    MASTERED = "mastered"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_done(self) -> bool:
        return self in (ProgressStatus.COMPLETED, ProgressStatus.MASTERED)


_RANK = {status: index for index, status in enumerate(ProgressStatus)}

_STATUS_AFTER = {
    EventType.VIEWED: ProgressStatus.IN_PROGRESS,
    EventType.STARTED: ProgressStatus.IN_PROGRESS,
    EventType.ANSWERED: ProgressStatus.IN_PROGRESS,
    EventType.COMPLETED: ProgressStatus.COMPLETED,
    EventType.MASTERED: ProgressStatus.MASTERED,
    EventType.HELPED: ProgressStatus.IN_PROGRESS,
}

# Events that count as an attempt at the item (viewing or opening it does not).
ATTEMPT_TYPES = frozenset({EventType.ANSWERED, EventType.COMPLETED, EventType.MASTERED})


MAX_ITEM_SESSIONS = 50


@dataclass(frozen=True, slots=True)
class ContentProgress:
    learner_id: str
    content_id: str
    certification: str | None = None
    status: ProgressStatus = ProgressStatus.NOT_STARTED
    events: int = 0
    attempts: int = 0
    best_score: float | None = None
    last_score: float | None = None
    time_spent_seconds: float = 0.0
    first_activity_at: datetime | None = None
    last_activity_at: datetime | None = None
    completed_at: datetime | None = None
    last_scored_at: datetime | None = None
    point_awards: frozenset[str] = frozenset()  # event points already earned on this item
    # When its latest counted answers and scored events happened, by event type (reward guard).
    rewarded_at: tuple[tuple[str, datetime], ...] = ()
    review: ReviewCard | None = None  # its spaced-repetition card, once answered
    # The `sessionId`s of its latest events (at most MAX_ITEM_SESSIONS), for module sessions.
    sessions: tuple[str, ...] = ()
    # Answers judged right or wrong, and how many were right (for concept difficulty).
    answers: int = 0
    correct: int = 0


@dataclass(frozen=True, slots=True)
class ProgressFilter:
    """Which of a learner's items a page of progress holds; None matches any."""

    status: ProgressStatus | None = None
    certification: str | None = None


def advance(progress: ContentProgress, event: LearningEvent) -> ContentProgress:
    """The progress after one more event. Status never moves backwards; late events are fine."""
    target = _STATUS_AFTER[event.type]
    status = target if target.rank > progress.status.rank else progress.status
    completed_at = progress.completed_at
    if target.is_done and (completed_at is None or event.occurred_at < completed_at):
        completed_at = event.occurred_at
    best, last, scored_at = progress.best_score, progress.last_score, progress.last_scored_at
    if event.score is not None:
        best = event.score if best is None else max(best, event.score)
        if scored_at is None or event.occurred_at >= scored_at:
            last, scored_at = event.score, event.occurred_at
    # Built directly rather than with dataclasses.replace: this runs once per event.
    return ContentProgress(
        learner_id=progress.learner_id,
        content_id=progress.content_id,
        certification=progress.certification,
        status=status,
        events=progress.events + 1,
        attempts=progress.attempts + (1 if event.type in ATTEMPT_TYPES else 0),
        best_score=best,
        last_score=last,
        time_spent_seconds=progress.time_spent_seconds + event.time_spent_seconds,
        first_activity_at=_earliest(progress.first_activity_at, event.occurred_at),
        last_activity_at=_latest(progress.last_activity_at, event.occurred_at),
        completed_at=completed_at,
        last_scored_at=scored_at,
        point_awards=progress.point_awards,
        rewarded_at=progress.rewarded_at,
        review=progress.review,
        sessions=_with_session(progress.sessions, event.session_id),
        answers=progress.answers,
        correct=progress.correct,
    )


def _with_session(sessions: tuple[str, ...], session_id: str | None) -> tuple[str, ...]:
    if session_id is None or session_id in sessions:
        return sessions
    return (*sessions, session_id)[-MAX_ITEM_SESSIONS:]


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current
