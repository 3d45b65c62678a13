"""The unit of work: what one atomic write reads, and what it writes back on commit.

A use case reads through the unit's repositories, changes domain values in memory, and hands
back the ones it changed (`put`) or created (`add`). The repositories remember the version of
every document they loaded; `flush` writes only what changed, each replace guarded by the version
read, inside the unit's transaction. The use case never sees a version or a document.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

from domain.achievements import AchievementDefinition, Unlock
from domain.activity import DailyRollup
from domain.events import LearningEvent
from domain.goals import WeeklyGoal
from domain.learners import Learner
from domain.learning import EventOutcome
from domain.mastery import SkillState
from domain.notifications import Notification, Preferences
from domain.points import ManualAward, PointsEntry
from domain.progress import ContentProgress
from domain.streaks import FreezeGrant
from domain.totals import LearnerTotals
from domain.webhooks import OutboxMessage
from persistence.events import StoredEvent
from persistence.repositories import Repositories
from persistence.versioned import Session

log = logging.getLogger("cairn.persistence")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Load = Callable[[Iterable[K], Session], Awaitable[dict[K, tuple[V, int]]]]
Save = Callable[[Sequence[tuple[V, int | None]], Session], Awaitable[None]]


class VersionedRepository(Protocol[K, V]):
    """A repository of versioned documents: what a unit of work can track."""

    async def load_for_update(
        self, keys: Iterable[K], session: Session
    ) -> dict[K, tuple[V, int]]: ...

    async def save(self, changes: Sequence[tuple[V, int | None]], session: Session) -> None: ...


class Tracked(Generic[K, V]):
    """An identity map over one collection of versioned documents."""

    def __init__(
        self, *, load: Load[K, V], save: Save[V], key_of: Callable[[V], K], session: Session
    ) -> None:
        self._load, self._save, self._key_of = load, save, key_of
        self._session = session
        self._versions: dict[K, int] = {}
        self._seen: dict[K, V | None] = {}
        self._dirty: dict[K, V] = {}

    @classmethod
    def over(
        cls, repository: VersionedRepository[K, V], *, key_of: Callable[[V], K], session: Session
    ) -> Tracked[K, V]:
        """Tracks the documents of a repository that loads and saves them with versions."""
        return cls(
            load=repository.load_for_update,
            save=repository.save,
            key_of=key_of,
            session=session,
        )

    async def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The stored values for `keys` (absent keys are left out), each read once per unit."""
        wanted = set(keys)
        missing = wanted - self._seen.keys()
        if missing:
            found = await self._load(missing, self._session)
            for key in missing:
                value, version = found.get(key, (None, None))
                self._seen[key] = value
                if version is not None:
                    self._versions[key] = version
        return {key: value for key in wanted if (value := self._seen[key]) is not None}

    def put(self, value: V) -> None:
        key = self._key_of(value)
        if self._seen.get(key) is not value:
            self._dirty[key] = value

    async def flush(self) -> None:
        changes = [(value, self._versions.get(key)) for key, value in self._dirty.items()]
        await self._save(changes, self._session)
        self._dirty.clear()


class UnitOfWork:
    """One atomic unit over Cairn's collections; built by the transaction runner."""

    def __init__(self, repositories: Repositories, *, session: Session) -> None:
        repos = self._repos = repositories
        self.session = session
        self.totals: Tracked[str, LearnerTotals] = Tracked.over(
            repos.totals, key_of=_learner_key, session=session
        )
        self.progress: Tracked[tuple[str, str], ContentProgress] = Tracked.over(
            repos.progress, key_of=_content_key, session=session
        )
        self.skill_states: Tracked[tuple[str, str], SkillState] = Tracked.over(
            repos.skill_states, key_of=_skill_key, session=session
        )
        self.days: Tracked[tuple[str, date], DailyRollup] = Tracked.over(
            repos.activity, key_of=_day_key, session=session
        )
        self.weeks: Tracked[tuple[str, date], DailyRollup] = Tracked.over(
            repos.weeks, key_of=_day_key, session=session
        )
        self._events: list[tuple[LearningEvent, EventOutcome, datetime]] = []
        self._new_learners: list[Learner] = []
        self._unlocks: list[Unlock] = []
        self._points: list[PointsEntry] = []
        self._awards: list[ManualAward] = []
        self._notifications: list[Notification] = []
        self._grants: list[FreezeGrant] = []
        self._outbox: list[OutboxMessage] = []
        self._last: list[Callable[[Session], Awaitable[None]]] = []
        self._on_commit: list[Callable[[], None]] = []

    # Reads --------------------------------------------------------------------------------

    async def stored_events(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredEvent]:
        return await self._repos.events.find_by_keys(keys, self.session)

    async def learners(self, ids: Iterable[str]) -> dict[str, Learner]:
        return await self._repos.learners.find_by_ids(ids, self.session)

    async def unlocked(self, learner_ids: Iterable[str]) -> dict[str, set[str]]:
        return await self._repos.unlocks.keys_for(learner_ids, self.session)

    async def achievements(self) -> list[AchievementDefinition]:
        return await self._repos.achievements.all(self.session)

    async def freeze_grant(self, learner_id: str, grant_id: str) -> FreezeGrant | None:
        return await self._repos.freeze_grants.find(learner_id, grant_id, self.session)

    async def goals(self, learner_ids: Iterable[str]) -> dict[str, tuple[WeeklyGoal, ...]]:
        return await self._repos.goals.for_learners(learner_ids, self.session)

    async def preferences(self, user_ids: Iterable[str]) -> dict[str, Preferences]:
        return await self._repos.notifications.preferences(user_ids, self.session)

    async def manual_award(self, learner_id: str, award_id: str) -> ManualAward | None:
        return await self._repos.points.find_award(learner_id, award_id, self.session)

    # Writes, applied by `flush` -------------------------------------------------------------

    def add_learners(self, learners: Iterable[Learner]) -> None:
        self._new_learners.extend(learners)

    def add_event(self, event: LearningEvent, outcome: EventOutcome, received_at: datetime) -> None:
        self._events.append((event, outcome, received_at))

    def add_unlocks(self, unlocks: Iterable[Unlock]) -> None:
        self._unlocks.extend(unlocks)

    def add_points(self, entries: Iterable[PointsEntry]) -> None:
        self._points.extend(entries)

    def add_award(self, award: ManualAward) -> None:
        self._awards.append(award)

    def add_freeze_grant(self, grant: FreezeGrant) -> None:
        self._grants.append(grant)

    def add_notifications(self, notifications: Iterable[Notification]) -> None:
        self._notifications.extend(notifications)

    def add_outbox(self, messages: Iterable[OutboxMessage]) -> None:
        """Outbound messages, sent once the unit has committed (and only then)."""
        self._outbox.extend(messages)

    def on_flush(self, write: Callable[[Session], Awaitable[None]]) -> None:
        """A write of the caller's own, for `flush` to run last in the unit's transaction."""
        self._last.append(write)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Runs `callback` once this unit has committed, before anything else runs (a unit
        that fails, or runs again, never runs the callbacks of its failed attempt)."""
        self._on_commit.append(callback)

    def committed(self) -> None:
        """Called by the runner once the unit's writes are committed (or flushed, without
        transactions): runs the `on_commit` callbacks; a failing callback is logged, as what
        it follows is done."""
        callbacks, self._on_commit = self._on_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("an on-commit callback failed")

    async def flush(self) -> None:
        """Writes everything, new events first: a concurrent writer of the same event loses at
        once, before anything else is written."""
        repos, session = self._repos, self.session
        await repos.events.insert_many(self._events, session)
        await repos.points.insert_awards(self._awards, session)
        await repos.freeze_grants.insert_many(self._grants, session)
        await repos.learners.create_missing(self._new_learners, session)
        await self.progress.flush()
        await self.skill_states.flush()
        await self.days.flush()
        await self.weeks.flush()
        await self.totals.flush()
        await repos.unlocks.insert_many(self._unlocks, session)
        await repos.points.append(self._points, session)
        await repos.leaderboards.record(self._points, session)
        await repos.notifications.add(self._notifications, session)
        await repos.outbox.add(self._outbox, session)
        for write in self._last:
            await write(session)
        self._events.clear()
        self._new_learners.clear()
        self._unlocks.clear()
        self._points.clear()
        self._awards.clear()
        self._notifications.clear()
        self._grants.clear()
        self._outbox.clear()
        self._last.clear()


def _learner_key(totals: LearnerTotals) -> str:
    return totals.learner_id


def _content_key(progress: ContentProgress) -> tuple[str, str]:
    return (progress.learner_id, progress.content_id)


def _skill_key(state: SkillState) -> tuple[str, str]:
    return (state.learner_id, state.skill_id)


def _day_key(rollup: DailyRollup) -> tuple[str, date]:
    return (rollup.learner_id, rollup.day)
