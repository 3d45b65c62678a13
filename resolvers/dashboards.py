"""The educator's dashboard of a group and the admin's dashboard of the system.

Both read the aggregates kept on write (`resolvers.aggregation`), after applying what is still
pending, so they reflect every event whose recording committed before the query. A group's
dashboard reads a fixed number of aggregate documents (its totals, its last 8 days, this week,
its items and skills: bounded by the catalog, not by the group), its roster (one document), and
the numbers of only the members it shows; the admin's reads one document per day, week and hour
shown. Neither reads events, or a document per learner of the group or the system.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from domain.access import Forbidden
from domain.activity import local_time, week_of
from domain.aggregates import ITEM, SKILL
from domain.catalog import ContentItem, Skill, check_id
from domain.dashboards import (
    Difficulty,
    GroupOverview,
    MemberStanding,
    RosterEntry,
    SystemMetrics,
    at_risk,
    check_span,
    hardest,
    hours_needed,
    member_standing,
    members_page,
    overview,
    system_days_needed,
    system_metrics,
    system_weeks_needed,
    window_days,
)
from domain.errors import InvalidInput
from domain.groups import Group
from domain.learners import Learner
from domain.risk import RiskReason, RiskSettings, assess_risk
from domain.suggestions import HardConcept, Intervention, LearnerAtRisk, intervene
from domain.totals import LearnerTotals, streak_from
from persistence.loaders import ActivityKey, Loaders
from persistence.projector import Projector
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.reading import check_page_size

T = TypeVar("T")

MAX_LIST = 50  # hardest items and skills, learners at risk, interventions: at most
MAX_SYSTEM_DAYS = 366
RISK_DAYS = 14

MemberCursor = tuple[datetime, str]


def member_cursor(entry: RosterEntry) -> str:
    """The key a member's cursor carries: their place in the attention order."""
    return f"{entry.order[0].isoformat()}|{entry.learner_id}"


def parse_member_cursor(key: str | None) -> MemberCursor | None:
    if key is None:
        return None
    since, _, learner_id = key.partition("|")
    try:
        at = datetime.fromisoformat(since)
    except ValueError:
        raise InvalidInput("after", "is not a cursor returned by this connection") from None
    if not learner_id or at.tzinfo is None:
        raise InvalidInput("after", "is not a cursor returned by this connection")
    return (at, learner_id)


@dataclass
class GroupDashboard:
    """A group's dashboard as asked for: the parts are read when selected, each once."""

    group: Group
    as_of: datetime
    first: int
    after: MemberCursor | None
    risk: RiskSettings
    after_key: str | None = None  # `after` as the client sent it (decoded)
    _parts: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    rows: dict[str, asyncio.Future[MemberRow | None]] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.as_of.astimezone(UTC).date()

    async def once(self, name: str, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`'s result, read once however many fields need it (they run concurrently)."""
        found = self._parts.get(name)
        if found is None:
            found = asyncio.get_running_loop().create_future()
            self._parts[name] = found
            try:
                found.set_result(await read())
            except asyncio.CancelledError:
                found.cancel()
                raise
            except Exception as error:
                found.set_exception(error)
        result: T = await found  # raises what `read` raised
        return result


async def group_dashboard(
    access: Access,
    projector: Projector,
    group_id: str,
    *,
    now: datetime,
    first: int,
    after: str | None,
    risk: RiskSettings,
) -> GroupDashboard | None:
    """A group's dashboard, for its educators, admins and services; None for a group that does
    not exist (to those who may see any group; others are refused either way)."""
    check_id(group_id, "groupId")
    size = check_page_size(first)
    cursor = parse_member_cursor(after)
    group = await access.readable_group(group_id)
    if group is None:
        return None
    await access.require_read_members(group)
    await projector.settle()
    return GroupDashboard(group, now, size, cursor, risk, after)


async def group_overview(
    access: Access, loaders: Loaders, repos: Repositories, dashboard: GroupDashboard
) -> GroupOverview:
    """Members, their activity this week and the last 7 days, completion, scores, risk."""
    await access.require_read_members(dashboard.group)

    async def read() -> GroupOverview:
        summary, roster, counts = await asyncio.gather(
            repos.dashboards.group_summary(
                dashboard.group.id, window_days(dashboard.today), week_of(dashboard.today)
            ),
            _roster(repos, dashboard),
            loaders.catalog_counts.load("catalog"),
        )
        totals, days, this_week = summary
        return overview(
            totals,
            days,
            active_this_week=this_week,
            today=dashboard.today,
            catalog_items=counts.items_in(None),
            at_risk=len(at_risk(roster, dashboard.as_of)),
        )

    return await dashboard.once("overview", read)


@dataclass(frozen=True, slots=True)
class MemberRow:
    learner: Learner
    standing: MemberStanding


async def group_members(
    access: Access, loaders: Loaders, repos: Repositories, dashboard: GroupDashboard
) -> tuple[list[tuple[str, MemberRow]], bool]:
    """A page of members in attention order (`domain.dashboards.members_page`), each with its
    cursor; and whether more follow."""
    await access.require_read_members(dashboard.group)
    roster = await _roster(repos, dashboard)
    page, has_next = members_page(roster, after=dashboard.after, limit=dashboard.first)
    rows = await _rows(access, loaders, dashboard, page)
    return [(member_cursor(entry), row) for entry, row in rows], has_next


@dataclass(frozen=True, slots=True)
class AtRiskMember:
    learner: Learner
    since: datetime
    reasons: tuple[RiskReason, ...]


async def group_at_risk(
    access: Access, loaders: Loaders, repos: Repositories, dashboard: GroupDashboard, first: int
) -> list[AtRiskMember]:
    """The members at risk now, the longest at risk first, with their reasons."""
    await access.require_read_members(dashboard.group)
    return await _at_risk(access, loaders, repos, dashboard, _check_list(first))


async def _at_risk(
    access: Access, loaders: Loaders, repos: Repositories, dashboard: GroupDashboard, limit: int
) -> list[AtRiskMember]:
    roster = await _roster(repos, dashboard)
    found = at_risk(roster, dashboard.as_of)[:limit]
    rows = await _rows(access, loaders, dashboard, [entry for entry, _ in found])
    return [
        AtRiskMember(row.learner, since, row.standing.risk_reasons)
        for _, row in rows
        if (since := row.standing.at_risk_since) is not None
    ]


@dataclass(frozen=True, slots=True)
class ItemDifficulty:
    difficulty: Difficulty
    item: ContentItem | None


@dataclass(frozen=True, slots=True)
class SkillDifficulty:
    difficulty: Difficulty
    skill: Skill | None


async def hardest_items(
    access: Access, loaders: Loaders, repos: Repositories, dashboard: GroupDashboard, first: int
) -> list[ItemDifficulty]:
    """The group's items, hardest first (`domain.dashboards.hardest`)."""
    await access.require_read_members(dashboard.group)
    ranked = hardest(await _difficulties(repos, dashboard, ITEM), _check_list(first))
    items = await loaders.content.load_many([d.key for d in ranked])
    return [ItemDifficulty(d, item) for d, item in zip(ranked, items, strict=True)]


async def hardest_skills(
    access: Access, loaders: Loaders, repos: Repositories, dashboard: GroupDashboard, first: int
) -> list[SkillDifficulty]:
    await access.require_read_members(dashboard.group)
    ranked = hardest(await _difficulties(repos, dashboard, SKILL), _check_list(first))
    skills = await loaders.skill.load_many([d.key for d in ranked])
    return [SkillDifficulty(d, skill) for d, skill in zip(ranked, skills, strict=True)]


async def interventions(
    access: Access, loaders: Loaders, repos: Repositories, dashboard: GroupDashboard, first: int
) -> list[Intervention]:
    """What the educator could do: for the class, then for each member at risk."""
    await access.require_read_members(dashboard.group)
    limit = _check_list(first)
    summary = await group_overview(access, loaders, repos, dashboard)
    items = await hardest_items(access, loaders, repos, dashboard, 1)
    skills = await hardest_skills(access, loaders, repos, dashboard, 1)
    members = await _at_risk(access, loaders, repos, dashboard, limit)
    return intervene(
        members=summary.members,
        active_last_7_days=summary.active_last_7_days,
        hardest_item=_concept(items[0].difficulty, items[0].item) if items else None,
        hardest_skill=_concept(skills[0].difficulty, skills[0].skill) if skills else None,
        at_risk=[
            LearnerAtRisk(
                m.learner.id,
                m.learner.display_name or m.learner.id,
                tuple(reason.message for reason in m.reasons),
            )
            for m in members
        ],
        limit=limit,
    )


async def concept_difficulty(access: Access, dashboard: GroupDashboard) -> GroupDashboard:
    """The group's items and skills, hardest first: for those who may see its members."""
    await access.require_read_members(dashboard.group)
    return dashboard


def _concept(difficulty: Difficulty, known: ContentItem | Skill | None) -> HardConcept | None:
    if difficulty.success_rate is None:
        return None
    name = difficulty.key
    if isinstance(known, ContentItem):
        name = known.title
    elif isinstance(known, Skill):
        name = known.name
    return HardConcept(
        difficulty.key, name, difficulty.success_rate, difficulty.answers, difficulty.learners
    )


async def _roster(repos: Repositories, dashboard: GroupDashboard) -> list[RosterEntry]:
    return await dashboard.once("roster", lambda: repos.dashboards.roster(dashboard.group.id))


async def _difficulties(
    repos: Repositories, dashboard: GroupDashboard, kind: str
) -> list[Difficulty]:
    """The group's items or skills (both are read at once, for whichever is asked first)."""

    async def read() -> dict[str, list[Difficulty]]:
        found: dict[str, list[Difficulty]] = {ITEM: [], SKILL: []}
        for doc in await repos.dashboards.group_documents(dashboard.group.id, [ITEM, SKILL]):
            found[doc["kind"]].append(
                Difficulty(
                    key=doc["key"],
                    learners=doc.get("learners", 0),
                    answered_learners=doc.get("answered", 0),
                    answers=doc.get("answers", 0),
                    correct=doc.get("correct", 0),
                    ms=doc.get("ms", 0),
                )
            )
        return found

    return (await dashboard.once("concepts", read))[kind]


async def _rows(
    access: Access, loaders: Loaders, dashboard: GroupDashboard, entries: list[RosterEntry]
) -> list[tuple[RosterEntry, MemberRow]]:
    """The members' rows, each computed once per dashboard: the page of members and the list
    at risk mostly name the same members (those at risk come first in both)."""
    rows = dashboard.rows
    wanted = [entry for entry in entries if entry.learner_id not in rows]
    if wanted:
        loop = asyncio.get_running_loop()
        for entry in wanted:
            rows[entry.learner_id] = loop.create_future()
        try:
            found = await _read_rows(access, loaders, dashboard, wanted)
        except BaseException as error:
            for entry in wanted:
                waiting = rows[entry.learner_id]
                if isinstance(error, Exception):
                    waiting.set_exception(error)
                    waiting.exception()  # raised once, below: not "never retrieved"
                else:
                    waiting.cancel()
            raise
        for entry in wanted:
            rows[entry.learner_id].set_result(found.get(entry.learner_id))
    out = []
    for entry in entries:
        row = await rows[entry.learner_id]
        if row is not None:
            out.append((entry, row))
    return out


async def _read_rows(
    access: Access, loaders: Loaders, dashboard: GroupDashboard, entries: list[RosterEntry]
) -> dict[str, MemberRow]:
    """The members' rows: each one's totals and last 14 days, read in one batch for all."""
    ids = [entry.learner_id for entry in entries]
    # Members the viewer may read: all of them, unless one left the group a moment ago.
    try:
        await access.require_read_all(ids)
    except Forbidden:
        entries = [entry for entry in entries if await _readable(access, entry.learner_id)]
        ids = [entry.learner_id for entry in entries]
    learners = [
        found or Learner(learner_id)
        for learner_id, found in zip(ids, await loaders.learner.load_many(ids), strict=True)
    ]
    counts = await loaders.catalog_counts.load("catalog")
    todays = [local_time(dashboard.as_of, learner.time_zone).day for learner in learners]
    totals, recents = await asyncio.gather(
        loaders.totals.load_many(ids),
        asyncio.gather(
            *(
                loaders.activity.load(
                    ActivityKey(learner_id, today - timedelta(days=RISK_DAYS - 1), today, False)
                )
                for learner_id, today in zip(ids, todays, strict=True)
            )
        ),
    )
    rows = {}
    for entry, learner, today, total, recent in zip(
        entries, learners, todays, totals, recents, strict=True
    ):
        streak = streak_from(total or LearnerTotals(learner.id), today=today, local_hour=0)
        reasons = assess_risk(today=today, streak=streak, recent=recent, settings=dashboard.risk)
        rows[learner.id] = MemberRow(
            learner,
            member_standing(
                learner.id,
                total,
                recent,
                today=today,
                catalog_items=counts.items_in(None),
                at_risk_since=entry.schedule.at_risk_since(dashboard.as_of),
                risk_reasons=reasons,
            ),
        )
    return rows


async def _readable(access: Access, learner_id: str) -> bool:
    try:
        await access.require_read(learner_id)
    except Forbidden:
        return False
    return True


def _check_list(first: int) -> int:
    if not 0 <= first <= MAX_LIST:
        raise InvalidInput("first", f"must be between 0 and {MAX_LIST}")
    return first


# --- the admin's dashboard -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SystemDashboard:
    metrics: SystemMetrics
    titles: dict[str, str]  # achievement titles by key


async def system_dashboard(
    access: Access, repos: Repositories, projector: Projector, *, now: datetime, days: int
) -> SystemDashboard:
    """Active learners (DAU and MAU), sessions, streak retention, badges awarded and events per
    minute over the last `days` UTC days (at most 366), for admins and services."""
    access.require_system_metrics()
    span = check_span(days, maximum=MAX_SYSTEM_DAYS)
    await projector.settle()
    today = now.astimezone(UTC).date()
    store = repos.dashboards
    found_days, weeks, minutes, definitions = await asyncio.gather(
        store.system_days(system_days_needed(today, span)),
        store.system_weeks(system_weeks_needed(today)),
        store.recorded_per_minute(hours_needed(now)),
        repos.achievements.all(),
    )
    metrics = system_metrics(now=now, span=span, days=found_days, weeks=weeks, minutes=minutes)
    return SystemDashboard(metrics, {d.key: d.title for d in definitions})
