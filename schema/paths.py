"""Learning paths and module progress."""

from __future__ import annotations

from typing import Self

import strawberry

from domain import paths
from resolvers import paths as use_cases
from schema.catalog import ContentItem
from schema.progress import ProgressStatus

ReadinessBand = strawberry.enum(
    paths.ReadinessBand, description="A module's band from the last five scores (design seed)."
)


@strawberry.type(description="A step of a learning path.")
class PathStep:
    item_id: str
    prerequisites: list[str] = strawberry.field(
        description="Items to finish first (and, on a sequential path, the previous step)."
    )


@strawberry.type(description="Ordered content with prerequisites.")
class LearningPath:
    path_id: str
    name: str
    certification: str | None
    sequential: bool
    steps: list[PathStep]

    @classmethod
    def from_domain(cls, value: paths.LearningPath) -> Self:
        return cls(
            path_id=value.id,
            name=value.name,
            certification=value.certification,
            sequential=value.sequential,
            steps=[
                PathStep(item_id=s.item_id, prerequisites=list(s.prerequisites))
                for s in value.steps
            ],
        )


@strawberry.type(description="Where a learner is on one step of a path.")
class PathStepStatus:
    item_id: str
    content: ContentItem | None
    status: ProgressStatus  # type: ignore[valid-type]
    locked: bool = strawberry.field(description="A prerequisite is not finished yet.")
    missing: list[str] = strawberry.field(description="The unfinished prerequisites.")


@strawberry.type(description="A learner's way through a learning path.")
class PathProgress:
    path: LearningPath
    done: int
    total: int
    percent: float
    next_up: ContentItem | None = strawberry.field(
        description="The first unlocked, unfinished item."
    )
    remaining_minutes: int
    steps: list[PathStepStatus]

    @classmethod
    def from_domain(cls, value: use_cases.LearnerPath) -> Self:
        def item(item_id: str) -> ContentItem | None:
            found = value.items.get(item_id)
            return ContentItem.from_domain(found) if found else None

        progress = value.progress
        return cls(
            path=LearningPath.from_domain(value.path),
            done=progress.done,
            total=progress.total,
            percent=round(progress.percent, 2),
            next_up=item(progress.next_up.item_id) if progress.next_up else None,
            remaining_minutes=progress.remaining_minutes,
            steps=[
                PathStepStatus(
                    item_id=s.step.item_id,
                    content=item(s.step.item_id),
                    status=s.status,
                    locked=s.locked,
                    missing=list(s.missing),
                )
                for s in value.steps
            ],
        )


@strawberry.type(description="A learner's progress through one module.")
class ModuleProgress:
    module: str
    items: int
    completed: int
    completion_percent: float
    average_score: float | None = strawberry.field(description="Percent, best scores.")
    time_spent_seconds: float
    sessions: int = strawberry.field(
        description="Study sessions on its items: distinct sessionIds of their latest events."
    )
    band: ReadinessBand  # type: ignore[valid-type]

    @classmethod
    def from_domain(cls, value: paths.ModuleProgress) -> Self:
        return cls(
            module=value.module,
            items=value.items,
            completed=value.completed,
            completion_percent=round(value.completion_percent, 2),
            average_score=None if value.average_score is None else round(value.average_score, 2),
            time_spent_seconds=value.time_spent_seconds,
            sessions=value.sessions,
            band=value.band,
        )


@strawberry.input(description="A step: an item, and items to finish before it.")
class PathStepInput:
    item_id: str
    prerequisites: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="A learning path to create or replace (admins).")
class LearningPathInput:
    id: str
    name: str
    certification: str | None = None
    sequential: bool = True
    steps: list[PathStepInput]

    def to_domain(self) -> paths.LearningPath:
        return paths.LearningPath(
            id=self.id,
            name=self.name,
            certification=self.certification,
            sequential=self.sequential,
            steps=tuple(paths.PathStep(s.item_id, tuple(s.prerequisites)) for s in self.steps),
        )
