"""Recording learning events: validate, store once, fold into derived state atomically."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.achievements import Unlock
from domain.activity import week_of
from domain.catalog import ContentItem
from domain.errors import DomainError, IdempotencyConflict, InvalidInput
from domain.events import MAX_BATCH, EventDraft, LearningEvent, to_milliseconds, validate_event
from domain.guard import DEFAULT_GUARD, GuardSettings
from domain.learners import Learner
from domain.learning import DEFAULT_PASS_THRESHOLD, EventOutcome, LearnerRecord, Rules
from domain.levels import DEFAULT_LEVELS, LevelBand
from domain.mastery import DEFAULT_ANSWER_WINDOW
from domain.notifications import Notification, Preferences, route
from domain.points import STREAK_DAY_POINTS
from domain.progress import ContentProgress
from domain.totals import LearnerTotals
from persistence import metrics
from persistence.feed import Feed, Topic
from persistence.repositories import Repositories
from persistence.topics import NOTIFICATIONS_FEED, PROGRESS_UPDATES, UNLOCKS_FEED
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from resolvers.access import Access
from resolvers.aggregation import Aggregation
from resolvers.group_commit import GroupCommit
from resolvers.subjects import SubjectIndex
from resolvers.webhooks import Outbox

FieldPrefix = Callable[[int], str]
Check = Callable[[EventDraft], Awaitable[None]]


async def record_event(
    access: Access, recorder: Recorder, draft: EventDraft, *, received_at: datetime
) -> EventResult:
    """Records one event for a learner the viewer may record for (themselves, or any as a
    service or admin); a failure is raised."""
    await access.require_record(draft.learner_id)
    return await recorder.record_one(draft, received_at=received_at)


async def record_events(
    access: Access, recorder: Recorder, drafts: Sequence[EventDraft], *, received_at: datetime
) -> list[EventResult]:
    """Records a batch: an event for a learner the viewer may not record for fails alone,
    `FORBIDDEN`, like any other invalid event."""
    access.require_viewer()

    async def check(draft: EventDraft) -> None:
        await access.require_record(draft.learner_id)

    return await recorder.record_many(drafts, received_at=received_at, check=check)


@dataclass(frozen=True, slots=True)
class EventResult:
    """What became of one event: recorded now, replayed (recorded before), or failed."""

    index: int
    learner_id: str
    event_id: str
    outcome: EventOutcome | None = None
    replayed: bool = False
    error: DomainError | None = None
    notifications: tuple[Notification, ...] = ()  # put in an inbox by this event

    @property
    def progress(self) -> ContentProgress | None:
        return None if self.outcome is None else self.outcome.progress

    @property
    def unlocks(self) -> tuple[Unlock, ...]:
        return () if self.outcome is None else self.outcome.unlocks

    @property
    def recorded(self) -> bool:
        return self.error is None and not self.replayed


@dataclass(frozen=True, slots=True)
class _Pending:
    """A valid event waiting for its unit of work."""

    index: int  # its position in the request
    field: str  # the input field it came from, for errors
    event: LearningEvent
    item: ContentItem
    received_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.event.learner_id, self.event.event_id)


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    pass_threshold: float = DEFAULT_PASS_THRESHOLD
    guard: GuardSettings = DEFAULT_GUARD
    answer_window: int = DEFAULT_ANSWER_WINDOW
    levels: tuple[LevelBand, ...] = DEFAULT_LEVELS
    streak_day_points: int = STREAK_DAY_POINTS


class Recorder:
    """Records events: each stored once under its key, folded into derived state atomically.

    Concurrent requests for the same learners are grouped into shared units of work (see
    `resolvers.group_commit`), so they never conflict with each other inside one process.
    """

    def __init__(
        self,
        repositories: Repositories,
        feed: Feed,
        settings: RecordingSettings = RecordingSettings(),
        *,
        runner: TransactionRunner | None = None,
        outbox: Outbox | None = None,
        aggregation: Aggregation | None = None,
    ) -> None:
        self.repositories = repositories
        self.feed = feed
        self.settings = settings
        self.runner = runner or TransactionRunner(repositories)
        self.outbox = outbox or Outbox()
        # The dashboards' aggregates: staged with each unit, applied after it commits.
        self.aggregation = aggregation or Aggregation(repositories, self.runner)
        self.group_commit: GroupCommit[_Pending, EventResult] = GroupCommit(self._write)
        self.subjects = SubjectIndex(repositories)

    def without_outbound(self) -> Recorder:
        """A recorder that tells the notification service nothing (loading demo data)."""
        return Recorder(
            self.repositories,
            self.feed,
            self.settings,
            runner=self.runner,
            aggregation=self.aggregation,
        )

    async def record_one(self, draft: EventDraft, *, received_at: datetime) -> EventResult:
        """Records one event; a failure is raised rather than returned."""
        [result] = await self._record([draft], received_at, prefix=lambda _: "input")
        if result.error is not None:
            raise result.error
        return result

    async def record_many(
        self,
        drafts: Sequence[EventDraft],
        *,
        received_at: datetime,
        check: Check | None = None,
    ) -> list[EventResult]:
        """Records a batch; each event stands or falls alone and its result says which. An
        event `check` raises for fails with that error."""
        if len(drafts) > MAX_BATCH:
            raise InvalidInput("inputs", f"must hold at most {MAX_BATCH} events")
        return await self._record(drafts, received_at, prefix=lambda i: f"inputs[{i}]", check=check)

    async def _record(
        self,
        drafts: Sequence[EventDraft],
        received_at: datetime,
        *,
        prefix: FieldPrefix,
        check: Check | None = None,
    ) -> list[EventResult]:
        received_at = to_milliseconds(received_at)  # as it is stored
        items = await self.repositories.content.find_by_ids({d.content_id for d in drafts})
        results: dict[int, EventResult] = {}
        valid: list[_Pending] = []
        for index, draft in enumerate(drafts):
            try:
                if check is not None:
                    await check(draft)
                event = validate_event(
                    draft,
                    field_prefix=prefix(index),
                    received_at=received_at,
                    known_content=draft.content_id in items,
                )
            except DomainError as error:
                results[index] = EventResult(index, draft.learner_id, draft.event_id, error=error)
            else:
                item = items[event.content_id]
                valid.append(_Pending(index, prefix(index), event, item, received_at))
        if valid:
            learners = frozenset(p.event.learner_id for p in valid)
            for result in await self.group_commit.submit(learners, valid):
                results[result.index] = result
            await self.feed.yield_to_subscribers()
        _count(results.values())
        return [results[index] for index in range(len(drafts))]

    async def _write(self, pending: Sequence[_Pending]) -> list[EventResult]:
        results = await self.runner.run(lambda unit: self._store(unit, pending))
        if any(result.notifications for result in results):
            self.outbox.wake()
        self.aggregation.projector.poke()
        return results

    async def _store(self, unit: UnitOfWork, pending: Sequence[_Pending]) -> list[EventResult]:
        """Stores what is new, replays what was stored before; one result per pending event."""
        stored = await unit.stored_events(p.key for p in pending)
        results: dict[int, EventResult] = {}
        first: dict[tuple[str, str], tuple[int, _Pending]] = {}
        repeats: list[tuple[int, _Pending]] = []
        for position, p in enumerate(pending):
            earlier = stored.get(p.key)
            if earlier is not None:
                results[position] = _again(p, earlier.fingerprint, earlier.outcome)
            elif p.key in first:
                repeats.append((position, p))  # the same event twice in this unit
            else:
                first[p.key] = (position, p)
        fresh = sorted(first.values(), key=lambda pair: pair[1].event.occurred_at)
        if fresh:
            records = await self._records(unit, [p for _, p in fresh])
            staging = await self.aggregation.begin(unit, records)
            rules = await self._rules(unit, [p.item for _, p in fresh])
            outcomes = []
            for position, p in fresh:
                outcome = records[p.event.learner_id].record(
                    p.event, p.item, rules=rules, recorded_at=p.received_at
                )
                unit.add_event(p.event, outcome, p.received_at)
                outcomes.append((position, p, outcome))
            _stage(unit, records.values())
            preferences = await _preferences(unit, records.values())
            for position, p, outcome in outcomes:
                inbox, outbound = route(outcome.notices, preferences, p.received_at)
                notifications = tuple(inbox)
                unit.add_notifications(notifications)
                self.outbox.write(unit, outbound)
                results[position] = EventResult(
                    p.index,
                    p.event.learner_id,
                    p.event.event_id,
                    outcome,
                    notifications=notifications,
                )
            await staging.finish([(p.event, p.received_at) for _, p in fresh])
        for position, p in repeats:
            original_position, original = first[p.key]
            recorded = results[original_position].outcome
            assert recorded is not None  # a first occurrence is always recorded
            results[position] = _again(p, original.event.fingerprint, recorded)
        ordered = [results[position] for position in range(len(pending))]
        # Live updates are rendered now, while nobody waits for them, and sent the moment the
        # commit is confirmed, before the unit's memory is let go and the callers are woken (a
        # failed commit's are never sent).
        updates = list(_updates(ordered))
        for topic, key, value in updates:
            self.feed.prepare(topic, key, value)
        unit.on_commit(lambda: self._publish(updates))
        return ordered

    async def _records(
        self, unit: UnitOfWork, pending: Sequence[_Pending]
    ) -> dict[str, LearnerRecord]:
        """Each learner's derived state that the events touch, read through the unit."""
        events = [p.event for p in pending]
        learner_ids = {event.learner_id for event in events}
        learners = await unit.learners(learner_ids)
        # Clients that only send events still work: a first event creates its learner.
        missing = [Learner(id=learner_id) for learner_id in learner_ids - learners.keys()]
        unit.add_learners(missing)
        learners.update({learner.id: learner for learner in missing})
        totals = await unit.totals.get_many(learner_ids)
        unlocked = await unit.unlocked(learner_ids)
        goals = await unit.goals(learner_ids)
        records = {
            learner_id: LearnerRecord(
                learner=learners[learner_id],
                totals=totals.get(learner_id) or LearnerTotals(learner_id),
                unlocked=unlocked[learner_id],
                goals=goals.get(learner_id, ()),
            )
            for learner_id in learner_ids
        }
        progress = await unit.progress.get_many({(e.learner_id, e.content_id) for e in events})
        for (learner_id, content_id), value in progress.items():
            records[learner_id].progress[content_id] = value
        skills = await unit.skill_states.get_many(
            {(p.event.learner_id, skill) for p in pending for skill in p.item.skill_ids}
        )
        for (learner_id, skill_id), state in skills.items():
            records[learner_id].skills[skill_id] = state
        day_keys = {(e.learner_id, records[e.learner_id].local_day(e)) for e in events}
        # A learner with a goal needs the whole week for the Perfect Week rule.
        day_keys |= {
            (learner_id, week_of(day) + timedelta(days=n))
            for learner_id, day in list(day_keys)
            if records[learner_id].goals
            for n in range(7)
        }
        days = await unit.days.get_many(day_keys)
        for (learner_id, day), rollup in days.items():
            records[learner_id].days[day] = rollup
        weeks = await unit.weeks.get_many(
            {(e.learner_id, week_of(records[e.learner_id].local_day(e))) for e in events}
        )
        for (learner_id, monday), rollup in weeks.items():
            records[learner_id].weeks[monday] = rollup
        return records

    async def _rules(self, unit: UnitOfWork, items: Iterable[ContentItem]) -> Rules:
        skill_ids = {skill_id for item in items for skill_id in item.skill_ids}
        skills = await self.repositories.skills.find_by_ids(skill_ids, unit.session)
        settings = self.settings
        subjects = await self.subjects.get()
        return Rules(
            skill_params={skill.id: skill.bkt for skill in skills.values() if skill.bkt},
            pass_threshold=settings.pass_threshold,
            achievements=await unit.achievements(),
            guard=settings.guard,
            answer_window=settings.answer_window,
            levels=settings.levels,
            streak_day_points=settings.streak_day_points,
            subjects=subjects.skills,
            subjects_of_skill=subjects.of_skill,
        )

    def _publish(self, updates: Iterable[tuple[Topic[Any], str, object]]) -> None:
        """After the commit: the live updates of what was recorded."""
        for topic, key, value in updates:
            self.feed.publish(topic, key, value)


def _updates(results: Iterable[EventResult]) -> Iterator[tuple[Topic[Any], str, object]]:
    """The live updates of what was recorded: one per item for progress, its final state, the
    one that counts the most events (a batch is applied in time order, which need not be the
    order it came in); every unlock and every notification."""
    latest: dict[tuple[str, str], ContentProgress] = {}
    recorded = [result for result in results if result.recorded]
    for result in recorded:
        progress = result.progress
        if progress is not None:
            key = (result.learner_id, progress.content_id)
            if key not in latest or progress.events > latest[key].events:
                latest[key] = progress
    for (learner_id, _), progress in latest.items():
        yield PROGRESS_UPDATES, learner_id, progress
    for result in recorded:
        for unlock in result.unlocks:
            yield UNLOCKS_FEED, unlock.learner_id, unlock
        for notification in result.notifications:
            yield NOTIFICATIONS_FEED, notification.user_id, notification


def _again(p: _Pending, fingerprint: str, outcome: EventOutcome) -> EventResult:
    """An event seen before: its first outcome if it is the same event, else a conflict."""
    event = p.event
    if fingerprint == event.fingerprint:
        return EventResult(p.index, event.learner_id, event.event_id, outcome, replayed=True)
    conflict = IdempotencyConflict(f"{p.field}.eventId", event.event_id)
    return EventResult(p.index, event.learner_id, event.event_id, error=conflict)


async def _preferences(
    unit: UnitOfWork, records: Iterable[LearnerRecord]
) -> dict[str, Preferences]:
    """The notification preferences of the learners the fold has something to tell."""
    users = {notice.user_id for record in records for notice in record.new_notices}
    return await unit.preferences(users) if users else {}


def _count(results: Iterable[EventResult]) -> None:
    """The events' outcomes, and why the guard held back what it did, for the metrics."""
    for result in results:
        if result.error is not None:
            metrics.count_event("failed")
        elif result.replayed:
            metrics.count_event("replayed")
        else:
            guarded = () if result.outcome is None else result.outcome.guarded
            metrics.count_event("recorded", guarded)


def _stage(unit: UnitOfWork, records: Iterable[LearnerRecord]) -> None:
    """Hands what the fold changed back to the unit of work, which writes it on commit."""
    for record in records:
        for content_id in record.changed_progress:
            unit.progress.put(record.progress[content_id])
        for skill_id in record.changed_skills:
            unit.skill_states.put(record.skills[skill_id])
        for day in record.changed_days:
            unit.days.put(record.days[day])
        for monday in record.changed_weeks:
            unit.weeks.put(record.weeks[monday])
        unit.totals.put(record.totals)
        unit.add_unlocks(record.new_unlocks)
        unit.add_points(record.new_points)
