"""Engagement types: weekly goals, streak freeze grants, and the notification inbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

import strawberry
from strawberry.scalars import JSON

from domain import goals, notifications, streaks

GoalKind = strawberry.enum(
    goals.GoalKind, description="What a weekly goal counts: minutes, or items finished."
)
NotificationKind = strawberry.enum(
    notifications.NotificationKind, description="What a notification tells of."
)
NotificationChannel = strawberry.enum(
    notifications.Channel,
    description="Where a notification goes: the in-app inbox, or the notification service "
    "(a signed webhook).",
)


@strawberry.type(description="A weekly goal setting: it holds from its week until replaced.")
class WeeklyGoal:
    kind: GoalKind  # type: ignore[valid-type]
    target: int = strawberry.field(description="Minutes, or items, per local ISO week.")
    week_starting: date = strawberry.field(description="The Monday of the first week it holds.")
    set_by: str = strawberry.field(description="The learner, or the educator who set it.")
    set_at: datetime
    earns_points: bool = strawberry.field(
        description="Meeting it earns the weekly goal points (a goal too small to count does not)."
    )

    @classmethod
    def from_domain(cls, value: goals.WeeklyGoal) -> Self:
        return cls(
            kind=value.kind,
            target=value.target,
            week_starting=value.week,
            set_by=value.set_by,
            set_at=value.set_at,
            earns_points=value.earns_points,
        )


@strawberry.type(description="One local ISO week against the goal that held for it.")
class GoalWeek:
    week_starting: date
    goal: WeeklyGoal | None = strawberry.field(description="Null: no goal held that week.")
    achieved: float = strawberry.field(description="Minutes, or items finished, that week.")
    met: bool
    percent: float = strawberry.field(description="Of the target, 0-100.")

    @classmethod
    def from_domain(cls, value: goals.GoalWeek) -> Self:
        return cls(
            week_starting=value.week,
            goal=None if value.goal is None else WeeklyGoal.from_domain(value.goal),
            achieved=round(value.achieved, 2),
            met=value.met,
            percent=round(value.percent, 1),
        )


@strawberry.input(description="A weekly goal for a learner, from their current week on.")
class WeeklyGoalInput:
    learner_id: str
    kind: GoalKind  # type: ignore[valid-type]
    target: int = strawberry.field(
        description=f"Minutes (1-{goals.MAX_TARGET[goals.GoalKind.MINUTES]}) or items "
        f"(1-{goals.MAX_TARGET[goals.GoalKind.ITEMS]}) a week; goals of at least "
        f"{goals.MIN_REWARDED[goals.GoalKind.MINUTES]} minutes or "
        f"{goals.MIN_REWARDED[goals.GoalKind.ITEMS]} items earn points when met."
    )


@strawberry.input(description="Streak freezes to give a learner.")
class GrantStreakFreezesInput:
    learner_id: str
    grant_id: str = strawberry.field(
        description="Your idempotency key: the same grant sent again returns its first outcome."
    )
    reason: str
    count: int = strawberry.field(default=1, description=f"1-{streaks.MAX_FREEZES}.")


@strawberry.type(description="What a grant of streak freezes did.")
class GrantStreakFreezesPayload:
    learner_id: str
    granted: int = strawberry.field(
        description=f"Freezes given: fewer than asked when the learner would hold more than "
        f"{streaks.MAX_FREEZES}."
    )
    freezes_held: int = strawberry.field(description="The learner's freezes right after.")
    granted_by: str
    replayed: bool = strawberry.field(description="Sent before under the same grant id.")

    @classmethod
    def from_domain(cls, grant: streaks.FreezeGrant, *, replayed: bool) -> Self:
        return cls(
            learner_id=grant.learner_id,
            granted=grant.granted,
            freezes_held=grant.held,
            granted_by=grant.granted_by,
            replayed=replayed,
        )


@strawberry.type(description="Something a user is told of.")
class Notification:
    id: strawberry.ID = strawberry.field(
        description="Stable for its cause: the same event never makes a second one. Also the "
        "`Cairn-Delivery-Id` of its webhook delivery."
    )
    kind: NotificationKind  # type: ignore[valid-type]
    title: str
    body: str
    data: JSON = strawberry.field(description="The details, by kind (keys are camelCase).")
    occurred_at: datetime = strawberry.field(description="When what it tells of happened.")
    created_at: datetime = strawberry.field(description="When Cairn made it.")
    read_at: datetime | None
    read: bool

    @classmethod
    def from_domain(cls, value: notifications.Notification) -> Self:
        return cls(
            id=strawberry.ID(value.id),
            kind=value.kind,
            title=value.title,
            body=value.body,
            data=JSON(dict(value.data)),
            occurred_at=value.at,
            created_at=value.recorded_at,
            read_at=value.read_at,
            read=value.read,
        )


@strawberry.type(description="A page of the inbox, newest first.")
class NotificationPage:
    nodes: list[Notification]
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page (the last notification's id)."
    )


@strawberry.type(description="Where one kind of notification goes.")
class NotificationPreference:
    kind: NotificationKind  # type: ignore[valid-type]
    channels: list[NotificationChannel]  # type: ignore[valid-type]

    @classmethod
    def all_of(cls, value: notifications.Preferences) -> list[Self]:
        return [
            cls(kind=kind, channels=sorted(value.channels_for(kind)))
            for kind in notifications.NotificationKind
        ]


@strawberry.input(description="The channels one kind of notification should go to.")
class NotificationPreferenceInput:
    kind: NotificationKind  # type: ignore[valid-type]
    channels: list[NotificationChannel] = strawberry.field(  # type: ignore[valid-type]
        description="Empty: this kind is not sent at all."
    )


@strawberry.type(description="What marking notifications read did.")
class MarkNotificationsReadPayload:
    changed: int = strawberry.field(description="Notifications that were unread and now are read.")
    unread_count: int
