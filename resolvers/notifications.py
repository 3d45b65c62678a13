"""Notification use cases: a viewer's own inbox, its preferences, and its live feed.

An inbox is personal: every use case here works on the viewer's own notifications only (the
viewer's id from their token), so there is nothing to ask for that is someone else's.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidInput
from domain.notifications import (
    MAX_PAGE,
    Channel,
    Notification,
    NotificationKind,
    Preferences,
    check_ids,
)
from persistence.feed import Feed, SubscriberLagged
from persistence.repositories import Repositories
from persistence.topics import NOTIFICATIONS_FEED
from resolvers.access import Access

Cursor = tuple[datetime, str]
_LAGGED = "the subscriber fell behind: subscribe again with the last id received"
CATCH_UP_LIMIT = 500  # notifications replayed to a resuming subscriber, at most


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: list[Notification]
    has_next: bool


async def inbox(
    access: Access,
    repos: Repositories,
    *,
    first: int,
    after: str | None,
    unread_only: bool,
) -> InboxPage:
    """The viewer's notifications, newest first; `after` is a notification id from a page."""
    user_id = _viewer(access)
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput("first", f"must be between 1 and {MAX_PAGE}")
    cursor = await _cursor(repos, user_id, after, "after")
    found = await repos.notifications.page(
        user_id, first=first + 1, after=cursor, unread_only=unread_only
    )
    return InboxPage(items=found[:first], has_next=len(found) > first)


async def unread_count(access: Access, repos: Repositories) -> int:
    return await repos.notifications.unread_count(_viewer(access))


async def mark_read(
    access: Access,
    repos: Repositories,
    *,
    ids: Sequence[str] | None,
    everything: bool,
    now: datetime,
) -> int:
    """Marks some (`ids`) or all of the viewer's notifications read; how many changed. Marking
    one already read, or not the viewer's, changes nothing: a retry is safe."""
    user_id = _viewer(access)
    if everything == (ids is not None):
        raise InvalidInput("ids", "give the ids to mark read, or all: true, not both")
    wanted = None if ids is None else check_ids(list(ids))
    return await repos.notifications.mark_read(user_id, wanted, now)


async def preferences(access: Access, repos: Repositories) -> Preferences:
    user_id = _viewer(access)
    return (await repos.notifications.preferences([user_id]))[user_id]


async def set_preferences(
    access: Access,
    repos: Repositories,
    changes: Sequence[tuple[NotificationKind, Sequence[Channel]]],
) -> Preferences:
    """Sets the channels of the kinds given; the kinds left out keep theirs."""
    user_id = _viewer(access)
    kinds = [kind for kind, _ in changes]
    if len(kinds) != len(set(kinds)):
        raise InvalidInput("input", "each kind at most once")
    return await repos.notifications.set_channels(
        user_id, [(kind, frozenset(channels)) for kind, channels in changes]
    )


async def follow(
    access: Access, repos: Repositories, feed: Feed, *, after: str | None
) -> AsyncGenerator[Notification, None]:
    """The viewer's notifications as they arrive; given the id of the last one a client saw,
    first those it missed (at most CATCH_UP_LIMIT).

    The live subscription opens before the catch-up read, so one made in between is not lost:
    it can come twice, once from each (with the same id, for the client to drop). Live values
    are passed on unchanged: the WebSocket transport may deliver them itself (`persistence.feed`,
    "Handover")."""
    user_id = _viewer(access)
    last = await _cursor(repos, user_id, after, "after")
    try:
        async with feed.subscribe(NOTIFICATIONS_FEED, user_id) as live:
            if last is not None:
                for notification in await repos.notifications.newer_than(
                    user_id, last, CATCH_UP_LIMIT
                ):
                    yield notification
            async for notification in live:
                yield notification
    except SubscriberLagged:
        raise InvalidInput("after", _LAGGED) from None


@dataclass(frozen=True, slots=True)
class KindEngagement:
    kind: NotificationKind
    sent: int
    read: int

    @property
    def read_rate(self) -> float | None:
        return self.read / self.sent * 100 if self.sent else None


async def engagement(
    access: Access, repos: Repositories, *, now: datetime, days: int
) -> list[KindEngagement]:
    """Notification engagement across all users over the last `days` days (admins, services):
    per kind, how many were made and how many of those were read."""
    access.require_system_metrics()
    counts = await repos.notifications.counts_by_kind(now - timedelta(days=days))
    rows = [
        KindEngagement(NotificationKind(kind), sent, read)
        for kind, (sent, read) in counts.items()
        if kind in NotificationKind.__members__.values()
    ]
    return sorted(rows, key=lambda row: (-row.sent, row.kind.value))


def _viewer(access: Access) -> str:
    access.require_viewer()
    return access.viewer_id


async def _cursor(
    repos: Repositories, user_id: str, notification_id: str | None, field_name: str
) -> Cursor | None:
    if notification_id is None:
        return None
    found = await repos.notifications.find(user_id, notification_id)
    if found is None:
        raise InvalidInput(field_name, "is not one of your notifications")
    return (found.recorded_at, found.id)
