"""Notifications: what a user is told, in their inbox and through the notification service.

Each notification has an id derived from its user and what caused it (`notification_id`), so a
retried write or a sweep run twice produces the same one, never a second. A user's preferences
say, per kind, which channels it goes to: the in-app inbox (with its live subscription) and the
outbound webhook of the notification service. Without a preference, a kind goes to both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from domain.errors import InvalidInput
from domain.webhooks import OutboxMessage

MAX_MARK = 500  # notification ids marked read in one request
MAX_PAGE = 100


class NotificationKind(StrEnum):
    ACHIEVEMENT_UNLOCKED = "achievement_unlocked"
    LEVEL_UP = "level_up"
    STREAK_AT_RISK = "streak_at_risk"
    FREEZE_USED = "freeze_used"
    GOAL_MET = "goal_met"
    MILESTONE = "milestone"
    WEEKLY_SUMMARY = "weekly_summary"  # for parents: each child's week
    INTERVENTION = "intervention"  # for educators: a learner of theirs at risk


class Channel(StrEnum):
    IN_APP = "in_app"
    WEBHOOK = "webhook"


ALL_CHANNELS = frozenset(Channel)

# Milestones: points totals and current-streak lengths worth a word (achievements cover the rest).
POINTS_MILESTONES = (1_000, 5_000, 10_000, 25_000, 50_000, 100_000)
STREAK_MILESTONES = (7, 30, 100, 365)


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification about to be made: `key` names its cause, unique for its user."""

    user_id: str
    key: str
    kind: NotificationKind
    title: str
    body: str
    at: datetime  # when what it tells of happened
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    user_id: str
    kind: NotificationKind
    title: str
    body: str
    at: datetime
    recorded_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    read_at: datetime | None = None

    @property
    def read(self) -> bool:
        return self.read_at is not None


def notification_id(user_id: str, key: str) -> str:
    """Stable for a user and cause: the same notice twice is the same notification."""
    return hashlib.sha256(f"{user_id}\x1f{key}".encode()).hexdigest()[:32]


def to_notification(notice: Notice, recorded_at: datetime) -> Notification:
    return Notification(
        id=notification_id(notice.user_id, notice.key),
        user_id=notice.user_id,
        kind=notice.kind,
        title=notice.title,
        body=notice.body,
        at=notice.at,
        recorded_at=recorded_at,
        data=dict(notice.data),
    )


def notification_message(notification: Notification) -> OutboxMessage:
    """The notification as the notification service receives it (its id is the message's, so
    the service can match a delivery to the inbox entry)."""
    return OutboxMessage(
        id=notification.id,
        kind=notification.kind.value,
        user_id=notification.user_id,
        payload={
            "title": notification.title,
            "body": notification.body,
            "at": notification.at.isoformat(),
            "data": dict(notification.data),
        },
        created_at=notification.recorded_at,
    )


def route(
    notices: Iterable[Notice], preferences: Mapping[str, Preferences], recorded_at: datetime
) -> tuple[list[Notification], list[OutboxMessage]]:
    """The notices as their users' preferences want them: into the inbox, and out to the
    notification service."""
    inbox: list[Notification] = []
    outbound: list[OutboxMessage] = []
    for notice in notices:
        channels = preferences[notice.user_id].channels_for(notice.kind)
        if not channels:
            continue
        notification = to_notification(notice, recorded_at)
        if Channel.IN_APP in channels:
            inbox.append(notification)
        if Channel.WEBHOOK in channels:
            outbound.append(notification_message(notification))
    return inbox, outbound


@dataclass(frozen=True, slots=True)
class Preferences:
    """Per kind, the channels a user wants; kinds left out go to every channel."""

    user_id: str
    channels: Mapping[NotificationKind, frozenset[Channel]] = field(default_factory=dict)

    def channels_for(self, kind: NotificationKind) -> frozenset[Channel]:
        return self.channels.get(kind, ALL_CHANNELS)

    def wants(self, kind: NotificationKind, channel: Channel) -> bool:
        return channel in self.channels_for(kind)


def with_channels(
    preferences: Preferences, changes: Iterable[tuple[NotificationKind, Iterable[Channel]]]
) -> Preferences:
    channels = dict(preferences.channels)
    for kind, wanted in changes:
        channels[kind] = frozenset(wanted)
    return Preferences(user_id=preferences.user_id, channels=channels)


def check_ids(ids: list[str], field_name: str = "ids") -> list[str]:
    if len(ids) > MAX_MARK:
        raise InvalidInput(field_name, f"must hold at most {MAX_MARK} ids")
    return list(dict.fromkeys(ids))


def crossed(before: int, after: int, marks: Iterable[int]) -> list[int]:
    """The marks reached going from `before` to `after`."""
    return [mark for mark in marks if before < mark <= after]


def weekly_summary_key(child_id: str, week: date) -> str:
    return f"weekly-summary:{child_id}:{week.isoformat()}"
