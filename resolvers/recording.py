"""Recording learning events: validate, store once, fold into derived state atomically."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.achievements import Unlock
from domain.catalog import ContentItem
from domain.errors import DomainError, IdempotencyConflict, InvalidInput
from domain.events import MAX_BATCH, EventDraft, LearningEvent, validate_event
from domain.learners import Learner
from domain.learning import DEFAULT_PASS_THRESHOLD, EventOutcome, LearnerRecord, Rules
from domain.mastery import BktParams
from domain.progress import ContentProgress
from domain.totals import LearnerTotals
from persistence.atomic import Session, run_atomically
from persistence.events import event_to_document
from persistence.feed import Feed
from persistence.repositories import Repositories
from persistence.topics import PROGRESS_UPDATES, UNLOCKS_FEED

FieldPrefix = Callable[[int], str]
Indexed = tuple[int, LearningEvent]


@dataclass(frozen=True, slots=True)
class EventResult:
    """What became of one event: recorded now, replayed (recorded before), or failed."""

    index: int
    learner_id: str
    event_id: str
    outcome: EventOutcome | None = None
    replayed: bool = False
    error: DomainError | None = None

    @property
    def progress(self) -> ContentProgress | None:
        return None if self.outcome is None else self.outcome.progress

    @property
    def unlocks(self) -> tuple[Unlock, ...]:
        return () if self.outcome is None else self.outcome.unlocks

    @property
    def recorded(self) -> bool:
        return self.error is None and not self.replayed


@dataclass(frozen=True)
class Recorder:
    repositories: Repositories
    feed: Feed
    pass_threshold: float = DEFAULT_PASS_THRESHOLD

    async def record_one(self, draft: EventDraft, *, received_at: datetime) -> EventResult:
        """Records one event; a failure is raised rather than returned."""
        [result] = await self._record([draft], received_at, prefix=lambda _: "input")
        if result.error is not None:
            raise result.error
        return result

    async def record_many(
        self, drafts: Sequence[EventDraft], *, received_at: datetime
    ) -> list[EventResult]:
        """Records a batch; each event stands or falls alone and its result says which."""
        if len(drafts) > MAX_BATCH:
            raise InvalidInput("inputs", f"must hold at most {MAX_BATCH} events")
        return await self._record(drafts, received_at, prefix=lambda i: f"inputs[{i}]")

    async def _record(
        self, drafts: Sequence[EventDraft], received_at: datetime, *, prefix: FieldPrefix
    ) -> list[EventResult]:
        items = await self.repositories.content.find_by_ids({d.content_id for d in drafts})
        results: dict[int, EventResult] = {}
        valid: list[Indexed] = []
        seen: set[tuple[str, str]] = set()
        for index, draft in enumerate(drafts):
            key = (draft.learner_id, draft.event_id)
            try:
                if key in seen:
                    raise InvalidInput(
                        f"{prefix(index)}.eventId", "must not appear twice in one batch"
                    )
                seen.add(key)
                event = validate_event(
                    draft,
                    field_prefix=prefix(index),
                    received_at=received_at,
                    known_content=draft.content_id in items,
                )
            except DomainError as error:
                results[index] = EventResult(index, draft.learner_id, draft.event_id, error=error)
            else:
                valid.append((index, event))

        if valid:

            async def unit(session: Session) -> list[EventResult]:
                batch = _Batch(self.repositories, items, session, self.pass_threshold)
                return await batch.store(valid, received_at, prefix)

            for result in await run_atomically(self.repositories.database, unit):
                results[result.index] = result
            self._publish(results.values())
        return [results[index] for index in range(len(drafts))]

    def _publish(self, results: Iterable[EventResult]) -> None:
        # One update per item: its final state, the one that counts the most events (a batch is
        # applied in time order, which need not be the order it came in).
        latest: dict[tuple[str, str], ContentProgress] = {}
        for result in results:
            progress = result.progress
            if result.recorded and progress is not None:
                key = (result.learner_id, progress.content_id)
                if key not in latest or progress.events > latest[key].events:
                    latest[key] = progress
        for (learner_id, _), progress in latest.items():
            self.feed.publish(PROGRESS_UPDATES, learner_id, progress)
        for result in results:
            if result.recorded:
                for unlock in result.unlocks:
                    self.feed.publish(UNLOCKS_FEED, unlock.learner_id, unlock)


@dataclass
class _Batch:
    """One attempt at storing a batch inside one atomic unit; discarded if the unit retries."""

    repos: Repositories
    items: dict[str, ContentItem]
    session: Session
    pass_threshold: float
    records: dict[str, LearnerRecord] = field(default_factory=dict)
    totals_versions: dict[str, int] = field(default_factory=dict)
    progress_versions: dict[tuple[str, str], int] = field(default_factory=dict)
    skill_versions: dict[tuple[str, str], int] = field(default_factory=dict)
    day_versions: dict[tuple[str, date], int] = field(default_factory=dict)

    async def store(
        self, valid: list[Indexed], received_at: datetime, prefix: FieldPrefix
    ) -> list[EventResult]:
        stored = await self.repos.events.find_by_keys(
            [(e.learner_id, e.event_id) for _, e in valid], self.session
        )
        results: list[EventResult] = []
        fresh: list[Indexed] = []
        for index, event in valid:
            earlier = stored.get((event.learner_id, event.event_id))
            if earlier is None:
                fresh.append((index, event))
            elif earlier.fingerprint == event.fingerprint:
                results.append(
                    EventResult(
                        index, event.learner_id, event.event_id, earlier.outcome, replayed=True
                    )
                )
            else:
                conflict = IdempotencyConflict(f"{prefix(index)}.eventId", event.event_id)
                results.append(EventResult(index, event.learner_id, event.event_id, error=conflict))
        if not fresh:
            return results

        await self._load([event for _, event in fresh])
        rules = Rules(
            skill_params=await self._skill_params(),
            pass_threshold=self.pass_threshold,
            achievements=await self.repos.achievements.all(self.session),
        )
        # Chronological order: mastery follows the sequence of answers.
        fresh.sort(key=lambda pair: pair[1].occurred_at)
        documents = []
        for index, event in fresh:
            outcome = self.records[event.learner_id].record(
                event, self.items[event.content_id], rules=rules, recorded_at=received_at
            )
            documents.append(event_to_document(event, outcome=outcome, received_at=received_at))
            results.append(EventResult(index, event.learner_id, event.event_id, outcome))

        await self.repos.events.insert_many(documents, self.session)
        await self._save()
        return results

    async def _load(self, events: list[LearningEvent]) -> None:
        repos, session = self.repos, self.session
        learner_ids = {event.learner_id for event in events}
        learners = await repos.learners.find_by_ids(learner_ids, session)
        # Clients that only send events still work: a first event creates its learner.
        missing = [Learner(id=learner_id) for learner_id in learner_ids - learners.keys()]
        await repos.learners.create_missing(missing, session)
        learners.update({learner.id: learner for learner in missing})

        totals = await repos.totals.load_for_update(learner_ids, session)
        unlocked = await repos.unlocks.keys_for(learner_ids, session)
        for learner_id in learner_ids:
            self.records[learner_id] = LearnerRecord(
                learner=learners[learner_id],
                totals=totals[learner_id][0] if learner_id in totals else LearnerTotals(learner_id),
                unlocked=unlocked[learner_id],
            )
            if learner_id in totals:
                self.totals_versions[learner_id] = totals[learner_id][1]

        progress = await repos.progress.load_for_update(
            {(e.learner_id, e.content_id) for e in events}, session
        )
        for (learner_id, content_id), (value, version) in progress.items():
            self.records[learner_id].progress[content_id] = value
            self.progress_versions[(learner_id, content_id)] = version

        skill_keys = {
            (e.learner_id, skill_id)
            for e in events
            for skill_id in self.items[e.content_id].skill_ids
        }
        skills = await repos.skill_states.load_for_update(skill_keys, session)
        for (learner_id, skill_id), (state, version) in skills.items():
            self.records[learner_id].skills[skill_id] = state
            self.skill_versions[(learner_id, skill_id)] = version

        day_keys = {(e.learner_id, self.records[e.learner_id].local_day(e)) for e in events}
        days = await repos.activity.load_for_update(day_keys, session)
        for (learner_id, day), (rollup, version) in days.items():
            self.records[learner_id].days[day] = rollup
            self.day_versions[(learner_id, day)] = version

    async def _skill_params(self) -> dict[str, BktParams]:
        skill_ids = {skill_id for item in self.items.values() for skill_id in item.skill_ids}
        skills = await self.repos.skills.find_by_ids(skill_ids, self.session)
        return {skill.id: skill.bkt for skill in skills.values() if skill.bkt is not None}

    async def _save(self) -> None:
        records = self.records.values()
        await self.repos.progress.save(
            [
                (r.progress[c], self.progress_versions.get((r.learner.id, c)))
                for r in records
                for c in sorted(r.changed_progress)
            ],
            self.session,
        )
        await self.repos.skill_states.save(
            [
                (r.skills[s], self.skill_versions.get((r.learner.id, s)))
                for r in records
                for s in sorted(r.changed_skills)
            ],
            self.session,
        )
        await self.repos.activity.save(
            [
                (r.days[d], self.day_versions.get((r.learner.id, d)))
                for r in records
                for d in sorted(r.changed_days)
            ],
            self.session,
        )
        await self.repos.totals.save(
            [(r.totals, self.totals_versions.get(r.learner.id)) for r in records], self.session
        )
        await self.repos.unlocks.insert_many(
            [unlock for r in records for unlock in r.new_unlocks], self.session
        )
        await self.repos.points.append(
            [entry for r in records for entry in r.new_points], self.session
        )
