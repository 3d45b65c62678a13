"""Read use cases: a learner's progress, skills, activity and analytics, from derived state.

Every read goes through the request's loaders, so the same question asked for many learners
costs the same number of database commands as for one. Every read first checks that the viewer
may read the learner (`resolvers.access`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar

from domain.activity import DailyRollup, local_time
from domain.catalog import Skill
from domain.errors import InvalidInput
from domain.learners import Learner
from domain.mastery import SkillState
from domain.progress import ContentProgress, ProgressFilter
from domain.totals import Analytics, Tally, analytics
from persistence.loaders import ActivityKey, Loaders, ProgressPageKey
from resolvers.access import Access

MAX_PAGE = 100
MAX_LEARNERS = 200
DEFAULT_PAGE = 20
MAX_ACTIVITY_DAYS = 366
DEFAULT_ACTIVITY_DAYS = 30


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Up to a page of items in key order, and whether more follow."""

    items: list[T]
    has_next: bool

    @classmethod
    def of(cls, rows: Sequence[T], size: int) -> Page[T]:
        """A page from `size + 1` rows read: the extra row only tells that more follow."""
        return cls(items=list(rows[:size]), has_next=len(rows) > size)


@dataclass(frozen=True, slots=True)
class SkillView:
    state: SkillState
    skill: Skill | None


def check_page_size(first: int) -> int:
    if not 0 <= first <= MAX_PAGE:
        raise InvalidInput("first", f"must be between 0 and {MAX_PAGE}")
    return first


async def learner(access: Access, loaders: Loaders, learner_id: str) -> Learner | None:
    """The learner, or None if unknown to a viewer who may read any learner."""
    await access.require_read(learner_id)
    return await loaders.learner.load(learner_id)


async def learners(
    access: Access, loaders: Loaders, learner_ids: Sequence[str]
) -> list[Learner | None]:
    """Learners by id, in order; the viewer must be allowed to read every one of them."""
    if len(learner_ids) > MAX_LEARNERS:
        raise InvalidInput("ids", f"must hold at most {MAX_LEARNERS} ids")
    await access.require_read_all(learner_ids)
    return await loaders.learner.load_many(learner_ids)


async def analytics_for(
    access: Access, loaders: Loaders, learner_id: str, certification: str | None = None
) -> Analytics:
    await access.require_read(learner_id)
    return await analytics_of(loaders, learner_id, certification)


async def analytics_of(
    loaders: Loaders, learner_id: str, certification: str | None = None
) -> Analytics:
    """`analytics_for` without the access check, for use cases that made it already."""
    totals = await loaders.totals.load(learner_id)
    counts = await loaders.catalog_counts.load("catalog")
    tally = totals.tally(certification) if totals else Tally()
    return analytics(
        tally, certification=certification, catalog_items=counts.items_in(certification)
    )


async def analytics_by_certification(
    access: Access, loaders: Loaders, learner_id: str
) -> list[Analytics]:
    await access.require_read(learner_id)
    return await certification_analytics(loaders, learner_id)


async def certification_analytics(loaders: Loaders, learner_id: str) -> list[Analytics]:
    """One entry per certification of the catalog or of the learner's history (unchecked)."""
    totals = await loaders.totals.load(learner_id)
    counts = await loaders.catalog_counts.load("catalog")
    names = set(counts.by_certification) | set(totals.by_certification if totals else ())
    return [
        analytics(
            totals.tally(name) if totals else Tally(),
            certification=name,
            catalog_items=counts.items_in(name),
        )
        for name in sorted(names)
    ]


async def progress_page(
    access: Access,
    loaders: Loaders,
    learner_id: str,
    *,
    where: ProgressFilter,
    first: int | None,
    after: str | None,
) -> Page[ContentProgress]:
    """The learner's progress by content id, after the content id `after`."""
    await access.require_read(learner_id)
    size = check_page_size(DEFAULT_PAGE if first is None else first)
    rows = await loaders.progress_page.load(ProgressPageKey(learner_id, where, after, size + 1))
    return Page.of(rows, size)


async def progress_on(
    access: Access, loaders: Loaders, learner_id: str, content_id: str
) -> ContentProgress | None:
    """The learner's progress on one item, or None before any activity on it."""
    await access.require_read(learner_id)
    return await loaders.progress.load((learner_id, content_id))


async def skills_of(access: Access, loaders: Loaders, learner_id: str) -> list[SkillView]:
    await access.require_read(learner_id)
    states = await loaders.skill_states.load(learner_id)
    skills = await loaders.skill.load_many([state.skill_id for state in states])
    return [SkillView(state, skill) for state, skill in zip(states, skills, strict=True)]


def activity_window(
    learner: Learner, *, now: datetime, first: date | None, last: date | None
) -> tuple[date, date]:
    """The days asked for, by default the last 30 local days up to today."""
    today = local_time(now, learner.time_zone).day
    last = last or today
    first = first or last - timedelta(days=DEFAULT_ACTIVITY_DAYS - 1)
    if first > last:
        raise InvalidInput("from", "must not be after 'to'")
    if (last - first).days + 1 > MAX_ACTIVITY_DAYS:
        raise InvalidInput("to", f"the range must span at most {MAX_ACTIVITY_DAYS} days")
    return first, last


async def daily_activity(
    access: Access,
    loaders: Loaders,
    learner: Learner,
    *,
    first: date,
    last: date,
    detail: bool = True,
) -> list[DailyRollup]:
    await access.require_read(learner.id)
    return await days_of(loaders, learner, first=first, last=last, detail=detail)


async def days_of(
    loaders: Loaders, learner: Learner, *, first: date, last: date, detail: bool = True
) -> list[DailyRollup]:
    """Every day of the range, days without activity included (empty), oldest first
    (unchecked). Without `detail` the days come without their breakdowns: cheaper to read."""
    rollups = await loaders.activity.load(ActivityKey(learner.id, first, last, detail))
    by_day = {rollup.day: rollup for rollup in rollups}
    days = (last - first).days + 1
    return [
        by_day.get(day) or DailyRollup(learner_id=learner.id, day=day)
        for day in (first + timedelta(days=n) for n in range(days))
    ]
