"""Notifications no event triggers: streaks at risk, weekly summaries, intervention alerts.

A per-process task runs the sweep every `interval`: each part finds who is due, and writes their
notifications (the inbox entry and, per their preferences, the outbox message) in one unit of
work per batch. Every notification's id comes from its user and cause, so a sweep run twice, or
by two processes at once, makes each notification once. Parts that walk everyone (weekly
summaries, interventions) mark their period done and skip it after.

- Streak at risk: a learner whose streak is alive, who has not studied yet today, past the
  at-risk hour of their local day; once per local day.
- Weekly summary (parents): each child's last local week (`domain.family`), once per child and
  week, from Monday 12:00 UTC (when every time zone has started the new week).
- Intervention (educators): each member of a group they teach who is at risk
  (`domain.risk`), with the reasons; once per learner, group and week.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from domain.activity import local_time, week_of
from domain.family import summary_text
from domain.learners import Learner
from domain.notifications import (
    Notice,
    Notification,
    NotificationKind,
    notification_id,
    route,
    weekly_summary_key,
)
from domain.risk import RiskSettings
from domain.totals import LearnerTotals, streak_from
from persistence.feed import Feed
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from persistence.topics import NOTIFICATIONS_FEED
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from resolvers.access import Access
from resolvers.analytics import at_risk
from resolvers.family import week_of_child
from resolvers.gamification import GamificationSettings
from resolvers.webhooks import Outbox

log = logging.getLogger("cairn.sweeps")

BATCH = 500
Clock = Callable[[], datetime]
SUMMARY_FROM = time(12)  # UTC, Mondays: every time zone has begun the new week


@dataclass(frozen=True, slots=True)
class SweepReport:
    streaks_at_risk: int = 0
    weekly_summaries: int = 0
    interventions: int = 0


class NotificationSweep:
    def __init__(
        self,
        repositories: Repositories,
        runner: TransactionRunner,
        feed: Feed,
        *,
        outbox: Outbox,
        gamification: GamificationSettings,
        risk: RiskSettings,
        clock: Clock,
        interval_seconds: float = 300.0,
    ) -> None:
        self._repos = repositories
        self._runner = runner
        self._feed = feed
        self._outbox = outbox
        self._gamification = gamification
        self._risk = risk
        self._clock = clock
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="cairn-notification-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                report = await self.run_once()
                if report != SweepReport():
                    log.info("notification sweep: %s", report)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification sweep failed; trying again at the next interval")
            await asyncio.sleep(self._interval)

    async def run_once(self) -> SweepReport:
        now = self._clock()
        return SweepReport(
            streaks_at_risk=await self.streaks_at_risk(now),
            weekly_summaries=await self.weekly_summaries(now),
            interventions=await self.interventions(now),
        )

    # Streaks at risk ------------------------------------------------------------------------

    async def streaks_at_risk(self, now: datetime) -> int:
        """Learners whose streak ended yesterday or is kept by freezes, by their local day."""
        today = now.date()
        # Local days run from UTC-12 to UTC+14; freezes can keep a streak alive a few days more.
        first, last = today - timedelta(days=2 + 2), today + timedelta(days=1)
        sent, after = 0, None
        while True:
            batch = await self._repos.totals.covered_between(first, last, after=after, limit=BATCH)
            if not batch:
                return sent
            after = batch[-1].learner_id
            learners = await self._repos.learners.find_by_ids(t.learner_id for t in batch)
            notices = [
                notice
                for totals in batch
                if (notice := self._at_risk(totals, learners.get(totals.learner_id), now))
            ]
            sent += await self._deliver(notices, now)

    def _at_risk(
        self, totals: LearnerTotals, learner: Learner | None, now: datetime
    ) -> Notice | None:
        learner = learner or Learner(totals.learner_id)
        local = local_time(now, learner.time_zone)
        streak = streak_from(
            totals,
            today=local.day,
            local_hour=local.hour,
            at_risk_hour=self._gamification.at_risk_hour,
        )
        if not streak.at_risk or streak.current < 1:
            return None
        freezes = f" {streak.freezes_held} streak freeze(s) held." if streak.freezes_held else ""
        return Notice(
            user_id=learner.id,
            key=f"streak-at-risk:{local.day.isoformat()}",
            kind=NotificationKind.STREAK_AT_RISK,
            title=f"Your {streak.current}-day streak is at risk",
            body=f"Study today to keep it going.{freezes}",
            at=now,
            data={"streak": streak.current, "freezesHeld": streak.freezes_held},
        )

    # Weekly summaries for parents ------------------------------------------------------------

    async def weekly_summaries(self, now: datetime) -> int:
        monday = week_of(now.date())
        if now < datetime.combine(monday, SUMMARY_FROM, tzinfo=now.tzinfo):
            return 0
        mark = f"weekly-summary:{monday.isoformat()}"
        if await self._repos.notifications.sweep_done(mark):
            return 0
        access = Access.system(self._repos)
        sent, after = 0, None
        while True:
            pairs = await self._repos.guardianships.page(after=after, limit=BATCH)
            if not pairs:
                break
            after = self._repos.guardianships.pair_key(*pairs[-1])
            loaders = Loaders(self._repos)
            children = await loaders.learner.load_many([child for _, child in pairs])
            notices = []
            for (parent_id, child_id), child in zip(pairs, children, strict=True):
                kid = child or Learner(child_id)
                week = await week_of_child(
                    access,
                    loaders,
                    self._repos,
                    kid,
                    now=now,
                    weeks_ago=1,
                    gamification=self._gamification,
                    risk=self._risk,
                )
                name = kid.display_name or kid.id
                notices.append(
                    Notice(
                        user_id=parent_id,
                        key=weekly_summary_key(kid.id, week.week),
                        kind=NotificationKind.WEEKLY_SUMMARY,
                        title=f"{name}'s week of {week.week.isoformat()}",
                        body=summary_text(name, week),
                        at=now,
                        data={
                            "learnerId": kid.id,
                            "week": week.week.isoformat(),
                            "minutes": round(week.minutes, 1),
                            "itemsFinished": week.items_finished,
                            "activeDays": week.active_days,
                            "goalMet": week.goal.met,
                            "achievements": [u.key for u in week.achievements],
                        },
                    )
                )
            sent += await self._deliver(notices, now)
        await self._repos.notifications.mark_sweep_done(mark, now)
        return sent

    # Intervention alerts for educators ---------------------------------------------------------

    async def interventions(self, now: datetime) -> int:
        today = now.date()
        mark = f"interventions:{today.isoformat()}"
        if await self._repos.notifications.sweep_done(mark):
            return 0
        access = Access.system(self._repos)
        week = week_of(today)
        sent, after = 0, None
        while True:
            groups = await self._repos.groups.page(after=after, limit=BATCH)
            if not groups:
                break
            after = groups[-1].id
            for group in groups:
                if not group.educator_ids:
                    continue
                sent += await self._group_interventions(
                    access, group.id, group.name, group.educator_ids, week, now
                )
        await self._repos.notifications.mark_sweep_done(mark, now)
        return sent

    async def _group_interventions(
        self,
        access: Access,
        group_id: str,
        group_name: str,
        educator_ids: frozenset[str],
        week: date,
        now: datetime,
    ) -> int:
        sent, after = 0, None
        while True:
            members = await self._repos.groups.members_page(group_id, after=after, limit=BATCH)
            if not members:
                return sent
            after = members[-1].learner_id
            loaders = Loaders(self._repos)
            learners = await loaders.learner.load_many([m.learner_id for m in members])
            notices: list[Notice] = []
            for member, found in zip(members, learners, strict=True):
                learner = found or Learner(member.learner_id)
                reasons = await at_risk(
                    access, loaders, self._repos, learner, now=now, settings=self._risk
                )
                if not reasons:
                    continue
                name = learner.display_name or learner.id
                notices.extend(
                    Notice(
                        user_id=educator_id,
                        key=f"intervention:{group_id}:{learner.id}:{week.isoformat()}",
                        kind=NotificationKind.INTERVENTION,
                        title=f"{name} in {group_name} may need help",
                        body="; ".join(reason.message for reason in reasons) + ".",
                        at=now,
                        data={
                            "learnerId": learner.id,
                            "groupId": group_id,
                            "reasons": [reason.kind.value for reason in reasons],
                        },
                    )
                    for educator_id in sorted(educator_ids)
                )
            sent += await self._deliver(notices, now)

    # Delivery ------------------------------------------------------------------------------

    async def _deliver(self, notices: Sequence[Notice], now: datetime) -> int:
        """The notices not made before, as each user's preferences want them, in one unit of
        work; how many were new."""
        made = await self._repos.notifications.existing(
            [notification_id(n.user_id, n.key) for n in notices]
        )
        notices = [n for n in notices if notification_id(n.user_id, n.key) not in made]
        if not notices:
            return 0

        async def work(unit: UnitOfWork) -> list[Notification]:
            preferences = await unit.preferences({n.user_id for n in notices})
            inbox, outbound = route(notices, preferences, now)
            unit.add_notifications(inbox)
            self._outbox.write(unit, outbound)
            return inbox

        inbox = await self._runner.run(work)
        self._outbox.wake()
        for notification in inbox:
            self._feed.publish(NOTIFICATIONS_FEED, notification.user_id, notification)
        return len(notices)
