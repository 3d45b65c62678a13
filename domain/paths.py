"""Learning paths (ordered content with prerequisites) and progress through modules.

A path is an ordered list of steps, each naming a content item. A step may list prerequisites:
items of the path, earlier than it, that must be done first. A sequential path also makes each
step wait for the one before it. An item is done once it is completed or mastered. A step is
locked while a prerequisite is not done; a step already done is never shown locked, so a
prerequisite added or undone later does not take back finished work.

Module progress sums a learner's progress over the items of each catalog module, with a
readiness band read from the learner's recent scores there.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from statistics import fmean, pstdev

from domain.catalog import ContentItem, ContentKind, check_id, check_optional_label, check_text
from domain.errors import InvalidInput
from domain.progress import ContentProgress, ProgressStatus

MAX_STEPS = 500
DEFAULT_MINUTES = 10  # an unfinished item's estimate when neither it nor its kind has one
GENERAL_MODULE = "general"  # where items without a module are counted

# Readiness bands: the mean and population standard deviation of the last scores, in percent.
BAND_WINDOW = 5
ADVANCED_MEAN, ADVANCED_SPREAD = 85.0, 10.0
PROFICIENT_MEAN, PROFICIENT_SPREAD = 70.0, 15.0
DEVELOPING_MEAN = 50.0
# Scores reach here as fractions times 100 (0.57 * 100 = 56.99999999999999): a value within
# this of a boundary counts as on it.
_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class PathStep:
    item_id: str
    # Items that must be done first, beyond the previous step of a sequential path.
    prerequisites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LearningPath:
    id: str
    name: str
    certification: str | None
    steps: tuple[PathStep, ...]
    sequential: bool = True  # each step also requires the previous step


def validate_path(
    path: LearningPath, known_items: Collection[str], prefix: str = "input"
) -> LearningPath:
    """The path with normalised text, or raises InvalidInput naming the field.

    Prerequisites must be items of the path appearing earlier than their step, so a valid path
    has no cycles. A prerequisite listed twice is kept once.
    """
    check_id(path.id, f"{prefix}.id")
    name = check_text(path.name, f"{prefix}.name")
    certification = check_optional_label(path.certification, f"{prefix}.certification")
    if not path.steps:
        raise InvalidInput(f"{prefix}.steps", "must hold at least one step")
    if len(path.steps) > MAX_STEPS:
        raise InvalidInput(f"{prefix}.steps", f"must hold at most {MAX_STEPS} steps")
    position: dict[str, int] = {}
    for i, step in enumerate(path.steps):
        if step.item_id not in known_items:
            raise InvalidInput(
                f"{prefix}.steps[{i}].itemId", f"unknown content item '{step.item_id}'"
            )
        if step.item_id in position:
            raise InvalidInput(
                f"{prefix}.steps[{i}].itemId",
                f"content item '{step.item_id}' is already step {position[step.item_id]}",
            )
        position[step.item_id] = i
    steps = tuple(
        PathStep(step.item_id, _prerequisites(step, i, position, f"{prefix}.steps[{i}]"))
        for i, step in enumerate(path.steps)
    )
    return LearningPath(
        id=path.id,
        name=name,
        certification=certification,
        steps=steps,
        sequential=path.sequential,
    )


def _prerequisites(
    step: PathStep, index: int, position: Mapping[str, int], prefix: str
) -> tuple[str, ...]:
    for j, required in enumerate(step.prerequisites):
        field = f"{prefix}.prerequisites[{j}]"
        where = position.get(required)
        if where is None:
            raise InvalidInput(field, f"content item '{required}' is not a step of the path")
        if where == index:
            raise InvalidInput(field, "must not be the step's own item")
        if where > index:
            raise InvalidInput(
                field,
                f"content item '{required}' is step {where}: it must come before step {index}",
            )
    return tuple(dict.fromkeys(step.prerequisites))


@dataclass(frozen=True, slots=True)
class StepStatus:
    step: PathStep
    status: ProgressStatus
    locked: bool
    # Prerequisites not done yet, in path order (the previous step included on a sequential
    # path). A done step may still list some: they no longer lock it.
    missing: tuple[str, ...]

    @property
    def done(self) -> bool:
        return self.status.is_done


def path_status(
    path: LearningPath, progress: Mapping[str, ContentProgress]
) -> tuple[StepStatus, ...]:
    """Each step's status, whether it is locked, and what it waits for. `progress` is by item id."""
    position = {step.item_id: i for i, step in enumerate(path.steps)}
    statuses = [_status(step.item_id, progress) for step in path.steps]
    result: list[StepStatus] = []
    for i, step in enumerate(path.steps):
        required = list(step.prerequisites)
        if path.sequential and i > 0:
            required.append(path.steps[i - 1].item_id)
        # Items outside the path (only on a path not validated) go last, in their given order.
        ordered = sorted(
            dict.fromkeys(required), key=lambda item: position.get(item, len(position))
        )
        missing = tuple(item for item in ordered if not _status(item, progress).is_done)
        status = statuses[i]
        result.append(
            StepStatus(step, status, locked=bool(missing) and not status.is_done, missing=missing)
        )
    return tuple(result)


def _status(item_id: str, progress: Mapping[str, ContentProgress]) -> ProgressStatus:
    found = progress.get(item_id)
    return found.status if found is not None else ProgressStatus.NOT_STARTED


def next_up(path: LearningPath, progress: Mapping[str, ContentProgress]) -> PathStep | None:
    """The first step that is neither locked nor done; None once every open step is done."""
    return _next_up(path_status(path, progress))


def _next_up(statuses: Sequence[StepStatus]) -> PathStep | None:
    return next((s.step for s in statuses if not s.locked and not s.done), None)


@dataclass(frozen=True, slots=True)
class PathProgress:
    done: int
    total: int
    percent: float  # done steps, 0..100
    next_up: PathStep | None
    remaining_minutes: int  # estimated minutes of the steps not done yet


def path_progress(
    path: LearningPath,
    progress: Mapping[str, ContentProgress],
    items: Mapping[str, ContentItem],
    minutes_by_kind: Mapping[ContentKind, int] | None = None,
) -> PathProgress:
    """How far along the path the learner is and how long the rest should take.

    An unfinished item counts its own estimate, else its kind's in `minutes_by_kind`, else
    DEFAULT_MINUTES (also for an item missing from `items`).
    """
    statuses = path_status(path, progress)
    done = sum(1 for s in statuses if s.done)
    total = len(statuses)
    by_kind = minutes_by_kind or {}
    remaining = sum(_minutes(items.get(s.step.item_id), by_kind) for s in statuses if not s.done)
    return PathProgress(
        done=done,
        total=total,
        percent=100.0 * done / total if total else 0.0,
        next_up=_next_up(statuses),
        remaining_minutes=remaining,
    )


def _minutes(item: ContentItem | None, by_kind: Mapping[ContentKind, int]) -> int:
    if item is None:
        return DEFAULT_MINUTES
    if item.estimated_minutes is not None:
        return item.estimated_minutes
    return by_kind.get(item.kind, DEFAULT_MINUTES)


class ReadinessBand(StrEnum):
    BEGINNER = "beginner"
    DEVELOPING = "developing"
    PROFICIENT = "proficient"
    ADVANCED = "advanced"


def readiness_band(scores: Sequence[float]) -> ReadinessBand:
    """The band of the last BAND_WINDOW scores (percent, 0..100, newest last).

    ADVANCED: mean >= 85 and population standard deviation < 10; PROFICIENT: mean >= 70 and
    deviation < 15; DEVELOPING: mean >= 50; BEGINNER otherwise and with no scores.
    """
    recent = list(scores[-BAND_WINDOW:])
    if not recent:
        return ReadinessBand.BEGINNER
    mean, spread = fmean(recent), pstdev(recent)
    if mean >= ADVANCED_MEAN - _TOLERANCE and spread < ADVANCED_SPREAD - _TOLERANCE:
        return ReadinessBand.ADVANCED
    if mean >= PROFICIENT_MEAN - _TOLERANCE and spread < PROFICIENT_SPREAD - _TOLERANCE:
        return ReadinessBand.PROFICIENT
    if mean >= DEVELOPING_MEAN - _TOLERANCE:
        return ReadinessBand.DEVELOPING
    return ReadinessBand.BEGINNER


@dataclass(frozen=True, slots=True)
class ModuleProgress:
    module: str
    items: int
    completed: int  # items completed or mastered
    completion_percent: float  # 0..100
    average_score: float | None  # percent: mean best score of the scored items; None if none
    time_spent_seconds: float
    sessions: int  # as given by the caller (this module cannot tell days of activity apart)
    band: ReadinessBand  # from the items' last scores, ordered by their last activity


def module_progress(
    items: Sequence[ContentItem],
    progress: Mapping[str, ContentProgress],
    sessions: Mapping[str, int] | None = None,
) -> list[ModuleProgress]:
    """One entry per module, in order of first appearance in `items` ("general" for no module).

    `progress` is by item id; an item without progress is not started. An item listed twice
    counts once.
    """
    grouped: dict[str, list[ContentItem]] = {}
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            continue
        seen.add(item.id)
        grouped.setdefault(item.module or GENERAL_MODULE, []).append(item)
    counts = sessions or {}
    return [
        _module(module, [progress.get(item.id) for item in members], counts.get(module, 0))
        for module, members in grouped.items()
    ]


def _module(module: str, found: Sequence[ContentProgress | None], sessions: int) -> ModuleProgress:
    known = [p for p in found if p is not None]
    completed = sum(1 for p in known if p.status.is_done)
    best = [100.0 * p.best_score for p in known if p.best_score is not None]
    # Stable sort: items with the same last activity (or none, counted oldest) keep their order.
    last = sorted((p for p in known if p.last_score is not None), key=_activity_key)
    return ModuleProgress(
        module=module,
        items=len(found),
        completed=completed,
        completion_percent=100.0 * completed / len(found),
        average_score=fmean(best) if best else None,
        time_spent_seconds=sum(p.time_spent_seconds for p in known),
        sessions=sessions,
        band=readiness_band([100.0 * p.last_score for p in last if p.last_score is not None]),
    )


def _activity_key(progress: ContentProgress) -> tuple[bool, datetime]:
    at = progress.last_activity_at
    return (at is not None, at if at is not None else datetime.min)
