"""What every resolver gets: the process's services, per-request loaders, and the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from resolvers.access import ANONYMOUS, Viewer
from resolvers.services import Services

if TYPE_CHECKING:
    from persistence.loaders import Loaders
    from persistence.repositories import Repositories


@dataclass
class Context:
    services: Services
    loaders: Loaders
    viewer: Viewer = ANONYMOUS
    client: str | None = None  # the network address the request came from

    @property
    def repositories(self) -> Repositories:
        return self.services.repositories

    def now(self) -> datetime:
        return self.services.clock()


def new_context(
    services: Services, viewer: Viewer = ANONYMOUS, *, client: str | None = None
) -> Context:
    """A fresh context, and so fresh loaders, for each request or subscription."""
    return Context(services=services, loaders=services.new_loaders(), viewer=viewer, client=client)


Info = strawberry.Info[Context, None]
