"""What every resolver gets: the process's services, per-request loaders, and the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from resolvers.access import ANONYMOUS, Access, Viewer
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
    # Why the request's credential was refused, when it presented one that did not verify.
    credential_error: str | None = None
    # A WebSocket's `connection_init` payload (set by strawberry's protocol handler).
    connection_params: dict[str, object] | None = None

    @property
    def access(self) -> Access:
        """The viewer bound to this request's loaders: what every use case checks."""
        if self._access is None or self._access.viewer is not self.viewer:
            self._access = Access(self.viewer, self.loaders)
        return self._access

    _access: Access | None = None

    @property
    def repositories(self) -> Repositories:
        return self.services.repositories

    def now(self) -> datetime:
        return self.services.clock()


def new_context(
    services: Services,
    viewer: Viewer = ANONYMOUS,
    *,
    client: str | None = None,
    credential_error: str | None = None,
) -> Context:
    """A fresh context, and so fresh loaders, for each request or subscription."""
    return Context(
        services=services,
        loaders=services.new_loaders(),
        viewer=viewer,
        client=client,
        credential_error=credential_error,
    )


Info = strawberry.Info[Context, None]
