"""Keeping the dashboards' aggregates with every write (`domain.aggregates`: the definitions).

The recorder stages, for each unit of work, what its events change in the aggregates: the
contribution of the state each learner's events touched, after minus before, to every group in
the learner's standing and to the system, plus the risk schedule of each grouped learner for
their groups' rosters. That change is one new document written in the unit's transaction;
`persistence.projector` applies it once the unit has committed.

Membership is followed the same way: adding a learner to a group adds their whole contribution
to it, removing them subtracts it, in a transaction that also rewrites the learner's standing
and totals. Every unit of work writes its learners' totals too, so a membership change and a
write for the same learner never both commit on the same reads: each change of a group's
aggregates is computed against the membership it is applied under, and a group's numbers are
always its current members' (their history included).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from domain.activity import DailyRollup
from domain.aggregates import (
    AggregateChange,
    LearnerSlice,
    RosterChange,
    Standing,
    add_into,
    all_presence_targets,
    difference,
    group_contribution,
    negated,
    presence_contribution,
    presence_targets,
    recording_counts,
    session_contribution,
    unlock_contribution,
)
from domain.events import LearningEvent
from domain.learners import DEFAULT_TIME_ZONE
from domain.learning import LearnerRecord
from domain.risk import WINDOW_DAYS, RiskSchedule, RiskSettings, risk_schedule
from domain.streaks import add_day
from domain.totals import LearnerTotals
from persistence.projector import Projector
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from persistence.versioned import Session

log = logging.getLogger("cairn.aggregation")

K = TypeVar("K")
V = TypeVar("V")

RISK_DAYS = 2 * WINDOW_DAYS  # the rollups a risk schedule reads, up to the last active day
SYNC_CHUNK = 50  # learners a membership change handles per transaction
DEFAULT_RISK = RiskSettings()


class Aggregation:
    """Stages aggregate changes with writes, follows memberships, builds from scratch."""

    def __init__(
        self,
        repositories: Repositories,
        runner: TransactionRunner,
        *,
        risk: RiskSettings = DEFAULT_RISK,
    ) -> None:
        self.repositories = repositories
        self.runner = runner
        self.risk = risk
        self.projector = Projector(repositories, runner)

    async def begin(self, unit: UnitOfWork, records: Mapping[str, LearnerRecord]) -> Staging:
        """Remembers the learners' state as loaded, before a unit folds its events in."""
        standing = await self.repositories.dashboards.standing_for_update(records, unit.session)
        before = {
            learner_id: LearnerSlice(
                totals=record.totals,
                progress=dict(record.progress),
                skills=dict(record.skills),
                days=dict(record.days),
                weeks=dict(record.weeks),
            )
            for learner_id, record in records.items()
        }
        return Staging(self, unit, records, before, standing)

    # Membership ---------------------------------------------------------------------------------

    async def sync_members(self, group_id: str, learner_ids: Iterable[str]) -> int:
        """Brings the learners' contributions to the group in line with its memberships: adds
        those of new members, subtracts those of former ones. Idempotent; returns how many
        learners changed."""
        ids = sorted(set(learner_ids))
        changed = 0
        for start in range(0, len(ids), SYNC_CHUNK):
            chunk = ids[start : start + SYNC_CHUNK]

            async def work(unit: UnitOfWork, chunk: list[str] = chunk) -> int:
                return await self._sync(unit.session, group_id, chunk)

            changed += await self.runner.run(work)
        if changed:
            self.projector.poke()
        return changed

    async def _sync(self, session: Session, group_id: str, learner_ids: list[str]) -> int:
        store = self.repositories.dashboards
        members = await store.memberships_of(group_id, learner_ids, session)
        standing = await store.standing_for_update(learner_ids, session)
        changing = [
            learner_id
            for learner_id in learner_ids
            if (learner_id in members)
            != (learner_id in standing and group_id in standing[learner_id][0].groups)
        ]
        if not changing:
            return 0
        states = await self.whole_states(session, changing)
        change = AggregateChange()
        writes = []
        for learner_id in changing:
            old, version = standing.get(learner_id, (Standing(learner_id), None))
            joining = learner_id in members
            groups = old.groups | {group_id} if joining else old.groups - {group_id}
            state = states[learner_id]
            contribution = group_contribution(state.slice)
            change.add_group(group_id, contribution if joining else negated(contribution))
            change.roster.append(
                RosterChange(
                    group_id,
                    learner_id,
                    (version or 0) + 1,
                    self._schedule(state) if joining else None,
                )
            )
            writes.append((Standing(learner_id, groups, old.utc_days), version))
        # Rewriting the totals makes a concurrent unit of work for these learners conflict with
        # this change: one of the two runs again, on the other's result.
        totals = await self.repositories.totals.load_for_update(changing, session)
        await self.repositories.totals.save(list(totals.values()), session)
        await store.save_standing(writes, session)
        await store.add_change(change, session, owner=self.projector.owner)
        return len(changing)

    async def reschedule(self, unit: UnitOfWork, totals: LearnerTotals, time_zone: str) -> None:
        """A learner's streak changed without an event of theirs (freezes granted): the rosters
        of their groups get their new risk schedule, written with the unit."""
        learner_id = totals.learner_id
        store = self.repositories.dashboards
        standing = await store.standing_for_update([learner_id], unit.session)
        if learner_id not in standing or not standing[learner_id][0].groups:
            return
        old, version = standing[learner_id]
        days: dict[date, DailyRollup] = {}
        if totals.active_days:
            last = totals.active_days[-1][1]
            stored = await store.days_of(
                [learner_id], unit.session, first=last - timedelta(days=RISK_DAYS - 1), last=last
            )
            days = {rollup.day: rollup for rollup in stored.get(learner_id, ())}
        schedule = schedule_of(totals, days, time_zone, self.risk)
        change = AggregateChange()
        for group_id in sorted(old.groups):
            change.roster.append(RosterChange(group_id, learner_id, version + 1, schedule))
        owner = self.projector.owner

        async def write(session: Session) -> None:
            await store.save_standing([(old, version)], session)  # the roster's version moves on
            await store.add_change(change, session, owner=owner)

        unit.on_flush(write)
        unit.on_commit(self.projector.poke)

    async def forget_group(self, group_id: str) -> int:
        """After a group's deletion: every learner whose contribution went to it leaves it."""
        return await self.sync_members(
            group_id, await self.repositories.dashboards.standing_in(group_id)
        )

    async def reconcile(self) -> int:
        """Syncs every group whose members and standing documents disagree (after a crash
        between a membership change and its sync); returns the learners changed."""
        store = self.repositories.dashboards
        members = await store.all_memberships()
        standing = await store.standing_groups()
        changed = 0
        for group_id in sorted(members.keys() | standing.keys()):
            differ = members.get(group_id, set()) ^ standing.get(group_id, set())
            if differ:
                changed += await self.sync_members(group_id, differ)
        if changed:
            log.info("reconciled %d group memberships with the dashboards' aggregates", changed)
        return changed

    # Building from scratch ----------------------------------------------------------------------

    async def backfill(self, *, now: datetime, pass_threshold: float) -> int:
        """Builds the aggregates from the learners' derived state, for a database written before
        they were kept: each learner with activity and no standing yet gets one, and their whole
        contribution goes to the system and their groups. Runs until it has seen every learner
        once, then marks the database done; idempotent (a learner is done with their standing,
        written in the same transaction as their contribution). Returns the learners built."""
        store = self.repositories.dashboards
        if await store.backfilled():
            return 0
        ids = await self.repositories.activity.learner_ids()
        built = 0
        for start in range(0, len(ids), SYNC_CHUNK):
            chunk = ids[start : start + SYNC_CHUNK]

            async def work(unit: UnitOfWork, chunk: list[str] = chunk) -> int:
                return await self._build(unit.session, chunk, pass_threshold)

            built += await self.runner.run(work)
        await store.mark_backfilled(now)
        if built:
            log.info("built the dashboards' aggregates for %d learners", built)
            self.projector.poke()
        return built

    async def _build(self, session: Session, learner_ids: list[str], pass_threshold: float) -> int:
        store = self.repositories.dashboards
        existing = await store.standing_for_update(learner_ids, session)
        missing = [learner_id for learner_id in learner_ids if learner_id not in existing]
        if not missing:
            return 0
        await store.count_answers(missing, session, pass_threshold=pass_threshold)
        states = await self.whole_states(session, missing, hours=True)
        groups = await store.groups_of(missing, session)
        unlocks = await self.repositories.unlocks.for_learners(missing)
        change = AggregateChange()
        writes = []
        for learner_id in missing:
            state = states[learner_id]
            utc_days = utc_days_of(state.days, state.time_zone)
            days, weeks = all_presence_targets(utc_days)
            add_into(change.system, presence_contribution(utc_days, days=days, weeks=weeks))
            add_into(change.system, session_contribution(state.days))
            add_into(change.system, unlock_contribution(unlocks[learner_id]))
            member_of = frozenset(groups[learner_id])
            contribution = group_contribution(state.slice)
            schedule = self._schedule(state)
            for group_id in sorted(member_of):
                change.add_group(group_id, contribution)
                change.roster.append(RosterChange(group_id, learner_id, 1, schedule))
            writes.append((Standing(learner_id, member_of, utc_days), None))
        await store.save_standing(writes, session)
        await store.add_change(change, session)
        return len(missing)

    # Helpers ------------------------------------------------------------------------------------

    async def whole_states(
        self, session: Session, learner_ids: Sequence[str], *, hours: bool = False
    ) -> dict[str, WholeState]:
        """Everything of each learner's derived state that contributes to an aggregate."""
        store = self.repositories.dashboards
        learners = await self.repositories.learners.find_by_ids(learner_ids, session)
        totals = await self.repositories.totals.load_for_update(learner_ids, session)
        progress = await store.progress_of(learner_ids, session)
        skills = await store.skill_states_of(learner_ids, session)
        days = await store.days_of(learner_ids, session, hours=hours)
        weeks = await store.weeks_of(learner_ids, session)
        states = {}
        for learner_id in learner_ids:
            found = totals.get(learner_id)
            learner = learners.get(learner_id)
            states[learner_id] = WholeState(
                slice=LearnerSlice(
                    totals=found[0] if found else LearnerTotals(learner_id),
                    progress={p.content_id: p for p in progress[learner_id]},
                    skills={s.skill_id: s for s in skills[learner_id]},
                    days={r.day: r for r in days[learner_id]},
                    weeks={r.day: r for r in weeks[learner_id]},
                ),
                time_zone=learner.time_zone if learner else DEFAULT_TIME_ZONE,
                days=days[learner_id],
            )
        return states

    def _schedule(self, state: WholeState) -> RiskSchedule:
        return schedule_of(state.slice.totals, state.slice.days, state.time_zone, self.risk)


@dataclass(frozen=True, slots=True)
class WholeState:
    slice: LearnerSlice
    time_zone: str
    days: list[DailyRollup]


def schedule_of(
    totals: LearnerTotals,
    days: Mapping[date, DailyRollup],
    time_zone: str,
    settings: RiskSettings,
) -> RiskSchedule:
    """The learner's risk schedule, from their totals and their rollups up to their last day."""
    runs = totals.active_days
    recent: list[DailyRollup] = []
    if runs:
        last = runs[-1][1]
        first = last - timedelta(days=RISK_DAYS - 1)
        recent = [days[day] for day in sorted(days) if first <= day <= last]
    return risk_schedule(
        active_days=runs,
        recent=recent,
        time_zone=time_zone,
        settings=settings,
        frozen_days=totals.frozen_days,
        freezes_held=totals.freezes_held,
    )


def utc_days_of(rollups: Iterable[DailyRollup], time_zone: str) -> tuple[tuple[date, date], ...]:
    """The UTC days of a learner's activity, from the local hours of their daily rollups (for
    rollups without hours, their local day)."""
    runs: tuple[tuple[date, date], ...] = ()
    for rollup in rollups:
        if not rollup.total.events:
            continue
        hours = [hour for hour, bucket in rollup.by_hour.items() if bucket.events] or [12]
        for hour in hours:
            at = _local_instant(rollup.day, hour, time_zone)
            runs = add_day(runs, at.date())
    return runs


def _local_instant(day: date, hour: int, time_zone: str) -> datetime:
    local = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(time_zone))
    return local.astimezone(UTC)


class Staging:
    """One unit of work's aggregate change, computed once its events are folded in."""

    def __init__(
        self,
        aggregation: Aggregation,
        unit: UnitOfWork,
        records: Mapping[str, LearnerRecord],
        before: Mapping[str, LearnerSlice],
        standing: Mapping[str, tuple[Standing, int]],
    ) -> None:
        self._aggregation = aggregation
        self._unit = unit
        self._records = records
        self._before = before
        self._standing = standing

    async def finish(self, events: Sequence[tuple[LearningEvent, datetime]]) -> None:
        """Stages the change for the unit's `events` (with when each was received)."""
        change = AggregateChange()
        new_days: dict[str, set[date]] = {}
        for event, _ in events:
            new_days.setdefault(event.learner_id, set()).add(
                event.occurred_at.astimezone(UTC).date()
            )
        add_into(change.system, recording_counts(at for _, at in events))
        writes: list[tuple[Standing, int | None]] = []
        grouped: dict[str, tuple[frozenset[str], int]] = {}
        for learner_id, record in self._records.items():
            old, version = self._standing.get(learner_id, (Standing(learner_id), None))
            new = old.with_days(new_days.get(learner_id, ()))
            before, after = self._slices(learner_id, record)
            days, weeks = presence_targets(old.utc_days, new.utc_days, new_days.get(learner_id, ()))
            add_into(
                change.system,
                difference(
                    presence_contribution(new.utc_days, days=days, weeks=weeks),
                    presence_contribution(old.utc_days, days=days, weeks=weeks),
                ),
            )
            add_into(
                change.system,
                difference(
                    session_contribution(after.days.values()),
                    session_contribution(before.days.values()),
                ),
            )
            add_into(change.system, unlock_contribution(record.new_unlocks))
            if new.groups:
                delta = difference(group_contribution(after), group_contribution(before))
                for group_id in sorted(new.groups):
                    change.add_group(group_id, delta)
                grouped[learner_id] = (new.groups, (version or 0) + 1)
            if new.groups or new != old or version is None:
                writes.append((new, version))
        if grouped:
            await self._schedules(grouped, change)
        store = self._aggregation.repositories.dashboards
        owner = self._aggregation.projector.owner

        async def write(session: Session) -> None:
            await store.save_standing(writes, session)
            await store.add_change(change, session, owner=owner)

        self._unit.on_flush(write)

    def _slices(self, learner_id: str, record: LearnerRecord) -> tuple[LearnerSlice, LearnerSlice]:
        """The parts of the learner's state the unit touched: before, and after."""
        was = self._before[learner_id]
        before = LearnerSlice(
            totals=was.totals,
            progress=_only(was.progress, record.changed_progress),
            skills=_only(was.skills, record.changed_skills),
            days=_only(was.days, record.changed_days),
            weeks=_only(was.weeks, record.changed_weeks),
        )
        after = LearnerSlice(
            totals=record.totals,
            progress=_only(record.progress, record.changed_progress),
            skills=_only(record.skills, record.changed_skills),
            days=_only(record.days, record.changed_days),
            weeks=_only(record.weeks, record.changed_weeks),
        )
        return before, after

    async def _schedules(
        self, grouped: Mapping[str, tuple[frozenset[str], int]], change: AggregateChange
    ) -> None:
        """Each grouped learner's risk schedule, for their groups' rosters: from their totals
        and their rollups of the 14 days up to their last active day (those the unit did not
        load are read, in its transaction)."""
        aggregation = self._aggregation
        lasts = {
            learner_id: self._records[learner_id].totals.active_days[-1][1]
            for learner_id in grouped
            if self._records[learner_id].totals.active_days
        }
        stored: dict[str, list[DailyRollup]] = {}
        if lasts:
            stored = await aggregation.repositories.dashboards.days_of(
                sorted(lasts),
                self._unit.session,
                first=min(lasts.values()) - timedelta(days=RISK_DAYS - 1),
                last=max(lasts.values()),
            )
        for learner_id, (groups, version) in grouped.items():
            record = self._records[learner_id]
            days = {rollup.day: rollup for rollup in stored.get(learner_id, ())}
            days.update(record.days)  # what the unit changed is newer than what is stored
            schedule = schedule_of(record.totals, days, record.learner.time_zone, aggregation.risk)
            for group_id in sorted(groups):
                change.roster.append(RosterChange(group_id, learner_id, version, schedule))


def _only(values: Mapping[K, V], keys: Iterable[K]) -> dict[K, V]:
    return {key: values[key] for key in keys if key in values}
