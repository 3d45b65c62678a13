"""Per-request loaders: reads of one kind within a request become one `$in` command.

Build a fresh `Loaders` for every request: each loader caches what it has read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader

from domain.achievements import AchievementDefinition, Unlock
from domain.activity import DailyRollup
from domain.catalog import CatalogCounts, ContentItem, Skill
from domain.certifications import Certification
from domain.goals import WeeklyGoal
from domain.groups import Group
from domain.leaderboards import Board
from domain.learners import Learner
from domain.mastery import SkillState
from domain.paths import LearningPath
from domain.progress import ContentProgress, ProgressFilter, ProgressStatus
from domain.totals import LearnerTotals
from persistence.leaderboards import Placement
from persistence.repositories import Repositories

_CATALOG_CHUNK = 200
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loader(Generic[K, V]):
    """A typed face on aiodataloader's DataLoader."""

    def __init__(self, batch: Callable[[list[K]], Coroutine[Any, Any, list[V]]]) -> None:
        self._loader: Any = DataLoader(batch_load_fn=batch)

    async def load(self, key: K) -> V:
        result: V = await self._loader.load(key)
        return result

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        result: list[V] = await self._loader.load_many(list(keys))
        return result


@dataclass(frozen=True)
class ProgressPageKey:
    learner_id: str
    where: ProgressFilter
    after: str | None
    limit: int


@dataclass(frozen=True)
class ActivityKey:
    learner_id: str
    first: date
    last: date
    detail: bool = True  # with the breakdowns by category, difficulty, hour and certification
    slices: frozenset[str] | None = None  # only these breakdowns, when `detail` (None: all)


class Loaders:
    def __init__(self, repositories: Repositories) -> None:
        self._repos = repositories
        self.learner: Loader[str, Learner | None] = Loader(self._learners)
        self.content: Loader[str, ContentItem | None] = Loader(self._content)
        self.skill: Loader[str, Skill | None] = Loader(self._skills)
        self.totals: Loader[str, LearnerTotals | None] = Loader(self._totals)
        self.skill_states: Loader[str, list[SkillState]] = Loader(self._skill_states)
        self.progress: Loader[tuple[str, str], ContentProgress | None] = Loader(self._progress)
        self.progress_page: Loader[ProgressPageKey, list[ContentProgress]] = Loader(
            self._progress_pages
        )
        self.activity: Loader[ActivityKey, list[DailyRollup]] = Loader(self._activity)
        self.weeks: Loader[ActivityKey, list[DailyRollup]] = Loader(self._weeks)
        self.catalog_counts: Loader[str, CatalogCounts] = Loader(self._catalog_counts)
        self.achievements: Loader[str, list[AchievementDefinition]] = Loader(self._achievements)
        self.certifications: Loader[str, list[Certification]] = Loader(self._certifications)
        self.paths: Loader[str, list[LearningPath]] = Loader(self._paths)
        self.unlocks: Loader[str, list[Unlock]] = Loader(self._unlocks)
        # What the access rules follow: who guards a learner, which groups a learner is in,
        # which groups an educator teaches.
        self.guardians: Loader[str, frozenset[str]] = Loader(self._guardians)
        self.children: Loader[str, frozenset[str]] = Loader(self._children)
        self.memberships: Loader[str, frozenset[str]] = Loader(self._memberships)
        self.taught: Loader[str, frozenset[str]] = Loader(self._taught)
        self.group: Loader[str, Group | None] = Loader(self._groups)
        self.member_count: Loader[str, int] = Loader(self._member_counts)
        self.goals: Loader[str, tuple[WeeklyGoal, ...]] = Loader(self._goals)
        # A learner's place on a board: one read of the board's counts for all learners asked.
        self.placement: Loader[tuple[Board, str], Placement | None] = Loader(self._placements)

    async def _learners(self, ids: list[str]) -> list[Learner | None]:
        found = await self._repos.learners.find_by_ids(ids)
        return [found.get(i) for i in ids]

    async def _content(self, ids: list[str]) -> list[ContentItem | None]:
        found = await self._repos.content.find_by_ids(ids)
        return [found.get(i) for i in ids]

    async def _skills(self, ids: list[str]) -> list[Skill | None]:
        found = await self._repos.skills.find_by_ids(ids)
        return [found.get(i) for i in ids]

    async def _totals(self, ids: list[str]) -> list[LearnerTotals | None]:
        found = await self._repos.totals.find_by_ids(ids)
        return [found.get(i) for i in ids]

    async def _skill_states(self, ids: list[str]) -> list[list[SkillState]]:
        found = await self._repos.skill_states.for_learners(ids)
        return [found[i] for i in ids]

    async def _progress(self, keys: list[tuple[str, str]]) -> list[ContentProgress | None]:
        found = await self._repos.progress.find_many(keys)
        return [found.get(key) for key in keys]

    async def _progress_pages(self, keys: list[ProgressPageKey]) -> list[list[ContentProgress]]:
        # Same filter, cursor and size: one command for all learners that asked for it.
        groups: dict[tuple[ProgressFilter, str | None, int], list[str]] = defaultdict(list)
        for key in keys:
            groups[(key.where, key.after, key.limit)].append(key.learner_id)
        pages: dict[ProgressPageKey, list[ContentProgress]] = {}
        for (where, after, limit), learner_ids in groups.items():
            if where.status is ProgressStatus.NOT_STARTED:
                found = await self._not_started(learner_ids, where, after, limit)
            else:
                found = await self._repos.progress.pages(
                    learner_ids, where=where, after=after, limit=limit
                )
            for learner_id, items in found.items():
                pages[ProgressPageKey(learner_id, where, after, limit)] = items
        return [pages[key] for key in keys]

    async def _not_started(
        self, learner_ids: list[str], where: ProgressFilter, after: str | None, limit: int
    ) -> dict[str, list[ContentProgress]]:
        """Catalog items each learner has no progress on, by content id: the catalog is walked
        in chunks, two commands a chunk for all the learners, until every page is full."""
        pages: dict[str, list[ContentProgress]] = {learner_id: [] for learner_id in learner_ids}
        wanting = set(learner_ids)
        cursor = after
        while wanting:
            chunk = await self._repos.content.page(
                certification=where.certification, after=cursor, limit=_CATALOG_CHUNK
            )
            if not chunk:
                break
            started = await self._repos.progress.started(wanting, [item.id for item in chunk])
            for learner_id in sorted(wanting):
                page = pages[learner_id]
                for item in chunk:
                    if len(page) < limit and (learner_id, item.id) not in started:
                        page.append(
                            ContentProgress(learner_id, item.id, certification=item.certification)
                        )
            wanting = {learner_id for learner_id in wanting if len(pages[learner_id]) < limit}
            cursor = chunk[-1].id
        return pages

    async def _activity(self, keys: list[ActivityKey]) -> list[list[DailyRollup]]:
        # One command per level of detail, over the union of the ranges asked for.
        found: dict[tuple[bool, frozenset[str] | None], dict[str, list[DailyRollup]]] = {}
        for level in {(key.detail, key.slices) for key in keys}:
            group = [key for key in keys if (key.detail, key.slices) == level]
            found[level] = await self._repos.activity.between(
                sorted({key.learner_id for key in group}),
                min(key.first for key in group),
                max(key.last for key in group),
                detail=level[0],
                slices=level[1],
            )
        return [
            [
                r
                for r in found[(key.detail, key.slices)][key.learner_id]
                if key.first <= r.day <= key.last
            ]
            for key in keys
        ]

    async def _weeks(self, keys: list[ActivityKey]) -> list[list[DailyRollup]]:
        # Weekly rollups, keyed by their Monday: as `_activity`, one command per level of detail.
        found: dict[tuple[bool, frozenset[str] | None], dict[str, list[DailyRollup]]] = {}
        for level in {(key.detail, key.slices) for key in keys}:
            group = [key for key in keys if (key.detail, key.slices) == level]
            found[level] = await self._repos.weeks.between(
                sorted({key.learner_id for key in group}),
                min(key.first for key in group),
                max(key.last for key in group),
                detail=level[0],
                slices=level[1],
            )
        return [
            [
                r
                for r in found[(key.detail, key.slices)][key.learner_id]
                if key.first <= r.day <= key.last
            ]
            for key in keys
        ]

    async def _catalog_counts(self, keys: list[str]) -> list[CatalogCounts]:
        counts = await self._repos.content.counts()
        return [counts for _ in keys]

    async def _achievements(self, keys: list[str]) -> list[list[AchievementDefinition]]:
        definitions = await self._repos.achievements.all()
        return [definitions for _ in keys]

    async def _certifications(self, keys: list[str]) -> list[list[Certification]]:
        everything = await self._repos.certifications.all()
        return [everything for _ in keys]

    async def _paths(self, keys: list[str]) -> list[list[LearningPath]]:
        everything = await self._repos.paths.all()
        return [everything for _ in keys]

    async def _unlocks(self, ids: list[str]) -> list[list[Unlock]]:
        found = await self._repos.unlocks.for_learners(ids)
        return [found[i] for i in ids]

    async def _guardians(self, ids: list[str]) -> list[frozenset[str]]:
        found = await self._repos.guardianships.guardians_of(ids)
        return [frozenset(found[i]) for i in ids]

    async def _children(self, ids: list[str]) -> list[frozenset[str]]:
        found = await self._repos.guardianships.children_of(ids)
        return [frozenset(found[i]) for i in ids]

    async def _memberships(self, ids: list[str]) -> list[frozenset[str]]:
        found = await self._repos.groups.groups_of(ids)
        return [frozenset(found[i]) for i in ids]

    async def _taught(self, ids: list[str]) -> list[frozenset[str]]:
        found = await self._repos.groups.taught_by(ids)
        return [frozenset(found[i]) for i in ids]

    async def _groups(self, ids: list[str]) -> list[Group | None]:
        found = await self._repos.groups.find_by_ids(ids)
        return [found.get(i) for i in ids]

    async def _goals(self, ids: list[str]) -> list[tuple[WeeklyGoal, ...]]:
        found = await self._repos.goals.for_learners(ids)
        return [found.get(learner_id, ()) for learner_id in ids]

    async def _member_counts(self, ids: list[str]) -> list[int]:
        found = await self._repos.groups.member_counts(ids)
        return [found[i] for i in ids]

    async def _placements(self, keys: list[tuple[Board, str]]) -> list[Placement | None]:
        by_board: dict[Board, list[str]] = defaultdict(list)
        for board, learner_id in keys:
            by_board[board].append(learner_id)
        found: dict[tuple[Board, str], Placement] = {}
        for board, learner_ids in by_board.items():
            placed = await self._repos.leaderboards.placements(board, learner_ids)
            found |= {(board, learner_id): p for learner_id, p in placed.items()}
        return [found.get(key) for key in keys]
