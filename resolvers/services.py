"""The process's long-lived services: what every entry point (GraphQL, CLI, a worker) runs on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.events import to_milliseconds
from domain.risk import RiskSettings
from persistence.feed import Feed
from persistence.loaders import Loaders
from persistence.projector import Projector
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from resolvers.aggregation import Aggregation
from resolvers.gamification import GamificationSettings
from resolvers.leaderboards import LeaderboardSettings
from resolvers.recording import Recorder
from resolvers.webhooks import Outbox

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The time, to the millisecond (as it is stored)."""
    return to_milliseconds(datetime.now(UTC))


@dataclass(frozen=True)
class Services:
    """Built once per process, by the composition root (`main.build_services`)."""

    repositories: Repositories
    feed: Feed
    recorder: Recorder
    clock: Clock = utc_now
    gamification: GamificationSettings = field(default_factory=GamificationSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    # The outbound channel: producers write through it in their unit of work (nothing is written
    # when it is off) and wake it after commit.
    outbox: Outbox = field(default_factory=Outbox)
    leaderboards: LeaderboardSettings = field(default_factory=LeaderboardSettings)

    @property
    def aggregation(self) -> Aggregation:
        """Keeps the dashboards' aggregates (the recorder's, so writes and membership changes
        share one projector)."""
        return self.recorder.aggregation

    @property
    def projector(self) -> Projector:
        return self.recorder.aggregation.projector

    @property
    def transactions(self) -> TransactionRunner:
        """Runs units of work; the recorder's, so every write shares its retry counters."""
        return self.recorder.runner

    def new_loaders(self) -> Loaders:
        """Batching, caching readers for one request: never share them between requests."""
        return Loaders(self.repositories)
