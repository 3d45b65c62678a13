"""Gamification use cases: streaks, points and levels, achievements, and the learner dashboard."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.achievements import (
    DEFAULT_ACHIEVEMENTS,
    AchievementDefinition,
    AchievementProgress,
    Unlock,
    progress_towards,
    validate_definition,
)
from domain.activity import DailyRollup, local_time
from domain.dashboard import ActivitySummary, Recommendation, recommend, summarise_activity
from domain.errors import IdempotencyConflict, InvalidInput, NotFound
from domain.learners import Learner
from domain.levels import DEFAULT_LEVELS, Level, LevelBand, level_for
from domain.points import (
    ManualAward,
    PointsEntry,
    PointsSource,
    award_fingerprint,
    check_manual_award,
)
from domain.progress import ContentProgress, ProgressFilter, ProgressStatus
from domain.streaks import DEFAULT_AT_RISK_HOUR, Streak
from domain.totals import Analytics, LearnerTotals, streak_from
from persistence.feed import Feed, SubscriberLagged
from persistence.loaders import Loaders, ProgressPageKey
from persistence.repositories import Repositories
from persistence.topics import PROGRESS_UPDATES, UNLOCKS_FEED
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from resolvers.access import Access
from resolvers.reading import analytics_of, certification_analytics, check_page_size, days_of

TREND_DAYS = 30
RECENT_ACHIEVEMENTS = 5


@dataclass(frozen=True, slots=True)
class GamificationSettings:
    at_risk_hour: int = DEFAULT_AT_RISK_HOUR
    levels: tuple[LevelBand, ...] = DEFAULT_LEVELS


@dataclass(frozen=True, slots=True)
class AchievementStatus:
    definition: AchievementDefinition
    unlock: Unlock | None
    progress: AchievementProgress


@dataclass(frozen=True, slots=True)
class PointsAward:
    entry: PointsEntry
    total: int  # the learner's points right after the award
    replayed: bool = False  # sent before under the same award id


@dataclass(frozen=True, slots=True)
class Dashboard:
    learner: Learner
    generated_at: datetime
    overall: Analytics
    activity: ActivitySummary
    certifications: list[Analytics]
    trend: list[DailyRollup]
    recent_achievements: list[Unlock]
    level: Level
    recommendations: list[Recommendation] = field(default_factory=list)


async def install_default_achievements(repos: Repositories) -> None:
    """Adds the built-in achievements that are missing; edited ones keep their edits."""
    await repos.achievements.add_missing(DEFAULT_ACHIEVEMENTS)


async def streak_of(
    access: Access,
    loaders: Loaders,
    learner: Learner,
    *,
    now: datetime,
    settings: GamificationSettings,
) -> Streak:
    await access.require_read(learner.id)
    return await _streak(loaders, learner, now=now, settings=settings)


async def _streak(
    loaders: Loaders, learner: Learner, *, now: datetime, settings: GamificationSettings
) -> Streak:
    totals = await loaders.totals.load(learner.id)
    local = local_time(now, learner.time_zone)
    return streak_from(
        totals or LearnerTotals(learner.id),
        today=local.day,
        local_hour=local.hour,
        at_risk_hour=settings.at_risk_hour,
    )


async def level_of(
    access: Access, loaders: Loaders, learner_id: str, settings: GamificationSettings
) -> Level:
    await access.require_read(learner_id)
    totals = await loaders.totals.load(learner_id)
    return level_for(totals.points if totals else 0, settings.levels)


async def achievement_definitions(access: Access, loaders: Loaders) -> list[AchievementDefinition]:
    """Every achievement rule: part of the catalog, readable by any authenticated viewer."""
    access.require_viewer()
    return await loaders.achievements.load("all")


async def achievements_of(
    access: Access, loaders: Loaders, learner_id: str
) -> list[AchievementStatus]:
    """Every achievement: unlocked ones with their unlock, locked ones with their progress."""
    await access.require_read(learner_id)
    definitions = await loaders.achievements.load("all")
    unlocks = {unlock.key: unlock for unlock in await loaders.unlocks.load(learner_id)}
    totals = await loaders.totals.load(learner_id) or LearnerTotals(learner_id)
    return [
        AchievementStatus(d, unlocks.get(d.key), progress_towards(d, totals)) for d in definitions
    ]


async def points_history(
    access: Access, repos: Repositories, learner_id: str, *, first: int
) -> list[PointsEntry]:
    await access.require_read(learner_id)
    return await repos.points.recent(learner_id, check_page_size(first))


async def unlock(access: Access, loaders: Loaders, learner_id: str, seq: int) -> Unlock | None:
    await access.require_read(learner_id)
    return next((u for u in await loaders.unlocks.load(learner_id) if u.seq == seq), None)


async def follow_unlocks(
    access: Access, repos: Repositories, feed: Feed, learner_id: str, *, after: int | None
) -> AsyncGenerator[Unlock, None]:
    """Live unlocks; given the last one a client saw, first what it missed, with no duplicates.

    The access check is made at subscribe time, before anything is sent. The live subscription
    opens before the catch-up read, so an unlock committed in between is seen by one or the
    other, and its position (the seq) makes the subscription skip what was read. Without
    `after`, the subscription starts after the learner's latest unlock at that read.
    """
    await access.require_read(learner_id)
    try:
        async with feed.subscribe(UNLOCKS_FEED, learner_id) as live:
            if after is None:
                live.skip_through(await repos.unlocks.last_seq(learner_id))
            else:
                live.skip_through(after)
                for unlock in await repos.unlocks.after(learner_id, after):
                    yield unlock
                    live.skip_through(unlock.seq)
            async for unlock in live:
                yield unlock
    except SubscriberLagged:
        raise InvalidInput("after", _LAGGED) from None


async def follow_progress(
    access: Access, feed: Feed, learner_id: str
) -> AsyncGenerator[ContentProgress, None]:
    """The learner's progress on an item, each time an event changes it."""
    await access.require_read(learner_id)
    try:
        async with feed.subscribe(PROGRESS_UPDATES, learner_id) as updates:
            async for progress in updates:
                yield progress
    except SubscriberLagged:
        raise InvalidInput("learnerId", _LAGGED) from None


_LAGGED = "the subscriber fell behind: subscribe again (with the last id received, if any)"


async def award_points(
    access: Access,
    runner: TransactionRunner,
    *,
    learner_id: str,
    award_id: str,
    amount: int,
    reason: str,
    now: datetime,
) -> PointsAward:
    """A manual award: one ledger entry and the learner's total, in one atomic unit.

    Admins award anyone, educators the members of the groups they teach; the ledger entry names
    who awarded. `award_id` is the client's idempotency key, as `eventId` is for events: the
    same award sent again returns its first outcome; another under the same id is a conflict.
    """
    await access.require_award(learner_id)
    awarded_by = access.viewer_id
    reason = check_manual_award(amount, reason, award_id)
    fingerprint = award_fingerprint(amount, reason)

    async def work(unit: UnitOfWork) -> PointsAward:
        earlier = await unit.manual_award(learner_id, award_id)
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise IdempotencyConflict("awardId", award_id, what="award id")
            return PointsAward(entry=earlier.entry, total=earlier.total, replayed=True)
        if not await unit.learners([learner_id]):
            raise NotFound("learner", learner_id, field="learnerId")
        totals = (await unit.totals.get_many([learner_id])).get(learner_id)
        totals = totals or LearnerTotals(learner_id)
        updated = replace(totals, points=totals.points + amount)
        entry = PointsEntry(
            learner_id, amount, reason, PointsSource.MANUAL, awarded_by, now, recorded_at=now
        )
        unit.totals.put(updated)
        unit.add_points([entry])
        unit.add_award(ManualAward(learner_id, award_id, fingerprint, entry, updated.points))
        return PointsAward(entry=entry, total=updated.points)

    return await runner.run(work)


async def upsert_achievement(
    access: Access, repos: Repositories, definition: AchievementDefinition
) -> AchievementDefinition:
    """Adds or changes a definition; learners who meet it unlock it with their next event."""
    access.require_admin()
    valid = validate_definition(definition)
    if valid.certification is not None:
        counts = await repos.content.counts()
        if valid.certification not in counts.by_certification:
            raise InvalidInput(
                "input.certification", f"no content item belongs to '{valid.certification}'"
            )
    await repos.achievements.upsert(valid)
    return valid


async def dashboard(
    access: Access,
    loaders: Loaders,
    learner: Learner,
    *,
    now: datetime,
    settings: GamificationSettings,
    trend_detail: bool = True,
) -> Dashboard:
    """What a learner's home screen shows, from a bounded set of derived documents."""
    await access.require_read(learner.id)
    today = local_time(now, learner.time_zone).day
    first = today.fromordinal(today.toordinal() - TREND_DAYS + 1)
    totals = await loaders.totals.load(learner.id)
    trend = await days_of(loaders, learner, first=first, last=today, detail=trend_detail)
    streak = await _streak(loaders, learner, now=now, settings=settings)
    unlocks = await loaders.unlocks.load(learner.id)
    skill_states = await loaders.skill_states.load(learner.id)
    skills = await loaders.skill.load_many([state.skill_id for state in skill_states])
    open_items = await loaders.progress_page.load(
        ProgressPageKey(learner.id, ProgressFilter(status=ProgressStatus.IN_PROGRESS), None, 3)
    )
    items = await loaders.content.load_many([p.content_id for p in open_items])
    recommendations = recommend(
        streak=streak,
        achievements=await loaders.achievements.load("all"),
        unlocked={unlock.key for unlock in unlocks},
        skills=[
            (state, skill.name if skill else state.skill_id)
            for state, skill in zip(skill_states, skills, strict=True)
        ],
        in_progress=[item for item in items if item is not None],
    )
    return Dashboard(
        learner=learner,
        generated_at=now,
        overall=await analytics_of(loaders, learner.id),
        activity=summarise_activity(totals, streak, trend),
        certifications=await certification_analytics(loaders, learner.id),
        trend=trend,
        recent_achievements=unlocks[:RECENT_ACHIEVEMENTS],
        level=level_for(totals.points if totals else 0, settings.levels),
        recommendations=recommendations,
    )
