"""What every resolver gets: per-request loaders plus the process's long-lived services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import strawberry

from persistence.feed import Feed
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from resolvers.access import ANONYMOUS, Viewer
from resolvers.gamification import GamificationSettings
from resolvers.recording import Recorder

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Built once per process in the app's lifespan."""

    repositories: Repositories
    feed: Feed
    recorder: Recorder
    clock: Clock = utc_now
    gamification: GamificationSettings = field(default_factory=GamificationSettings)

    @property
    def transactions(self) -> TransactionRunner:
        """Runs units of work; the recorder's, so every write shares its retry counters."""
        return self.recorder.runner


@dataclass
class Context:
    services: Services
    loaders: Loaders
    viewer: Viewer = ANONYMOUS

    @property
    def repositories(self) -> Repositories:
        return self.services.repositories

    def now(self) -> datetime:
        return self.services.clock()


def new_context(services: Services, viewer: Viewer = ANONYMOUS) -> Context:
    """A fresh context, and so fresh loaders, for each request or subscription."""
    return Context(services=services, loaders=Loaders(services.repositories), viewer=viewer)


Info = strawberry.Info[Context, None]
