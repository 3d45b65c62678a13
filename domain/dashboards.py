"""The educator's and the admin's dashboards, read from the aggregates (`domain.aggregates`).

Definitions (README, "Dashboards"):

- A group's numbers are its current members' numbers, their history included.
- Its "last 7 days" are the members' local dates from six days before today (UTC) to tomorrow
  (members east of UTC are a day ahead); "this week" is the local ISO week of today (UTC).
- Concept difficulty, per item and per skill: `answers` are answers judged right or wrong,
  `success_rate` the share right (percent), `average_attempts` the answers per member who
  answered, `average_minutes` the minutes per member who worked on it. Hardest first: the lowest
  success rate, then the most attempts per learner; those without answers last.
- System days are UTC days: daily active learners (DAU) are those with an event that day, the
  monthly active (MAU) those with one in the last 30 days (a distinct count, not a sum of DAUs).
  Sessions are counted on the learners' local days (`domain.trends.sessions_in`).
- Streak retention: of the learners active in one ISO week (UTC), the share active again the
  week after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from domain.activity import DailyRollup, week_of
from domain.errors import InvalidInput
from domain.risk import RiskReason, RiskSchedule
from domain.totals import LearnerTotals, streak_from

LAST_DAYS = 7
MONTH_DAYS = 30
RETENTION_WEEKS = 8
MINUTE = timedelta(minutes=1)


# --- groups ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """A group's totals document: sums over its members."""

    members: int = 0
    events: int = 0
    ms: int = 0
    scored: int = 0
    score_micros: int = 0
    completed: int = 0
    mastered: int = 0


@dataclass(frozen=True, slots=True)
class GroupDay:
    """One local date of a group's members: activity, and members whose last active day it is."""

    day: date
    events: int = 0
    ms: int = 0
    active: int = 0
    last_active: int = 0


@dataclass(frozen=True, slots=True)
class GroupOverview:
    members: int
    active_this_week: int
    active_last_7_days: int
    minutes_last_7_days: float
    events_last_7_days: int
    average_minutes_per_active_member: float | None
    completion_rate: float  # percent of the catalog's items, over all members
    average_score: float | None  # percent
    mastered_skills: int
    at_risk: int


def window_days(today: date) -> list[date]:
    """The dates of a group's last 7 days (`today`: UTC)."""
    return [today + timedelta(days=n) for n in range(-(LAST_DAYS - 1), 2)]


def overview(
    totals: GroupTotals,
    days: Iterable[GroupDay],
    *,
    active_this_week: int,
    today: date,
    catalog_items: int,
    at_risk: int,
) -> GroupOverview:
    window = set(window_days(today))
    recent = [day for day in days if day.day in window]
    minutes = sum(day.ms for day in recent) / 60_000
    active = sum(day.last_active for day in recent)
    possible = totals.members * catalog_items
    return GroupOverview(
        members=totals.members,
        active_this_week=active_this_week,
        active_last_7_days=active,
        minutes_last_7_days=minutes,
        events_last_7_days=sum(day.events for day in recent),
        average_minutes_per_active_member=minutes / active if active else None,
        completion_rate=min(100.0, totals.completed / possible * 100) if possible else 0.0,
        average_score=totals.score_micros / 1e6 / totals.scored * 100 if totals.scored else None,
        mastered_skills=totals.mastered,
        at_risk=at_risk,
    )


@dataclass(frozen=True, slots=True)
class Difficulty:
    """How hard the members find one item or skill."""

    key: str  # the item's or skill's id
    learners: int = 0
    answered_learners: int = 0
    answers: int = 0
    correct: int = 0
    ms: int = 0

    @property
    def success_rate(self) -> float | None:
        return self.correct / self.answers * 100 if self.answers else None

    @property
    def average_attempts(self) -> float | None:
        return self.answers / self.answered_learners if self.answered_learners else None

    @property
    def average_minutes(self) -> float | None:
        return self.ms / 60_000 / self.learners if self.learners else None


def hardest(entries: Iterable[Difficulty], limit: int) -> list[Difficulty]:
    """The hardest first: lowest success rate, then most attempts per learner, then most
    answers; entries without answers last (by id)."""

    def key(entry: Difficulty) -> tuple[bool, float, float, int, str]:
        rate = entry.success_rate
        attempts = entry.average_attempts or 0.0
        return (rate is None, rate or 0.0, -attempts, -entry.answers, entry.key)

    return sorted((e for e in entries if e.learners > 0), key=key)[:limit]


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A member in the group's roster: their risk schedule, as of their last write."""

    learner_id: str
    schedule: RiskSchedule

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.schedule.since, self.learner_id)


def members_page(
    roster: Iterable[RosterEntry], *, after: tuple[datetime, str] | None, limit: int
) -> tuple[list[RosterEntry], bool]:
    """Members in attention order: those at risk for good first, the longest so first, then
    those who will be soonest without more activity; ties by learner id. Returns the page and
    whether more follow."""
    ordered = sorted(roster, key=lambda entry: entry.order)
    if after is not None:
        ordered = [entry for entry in ordered if entry.order > after]
    return ordered[:limit], len(ordered) > limit


def at_risk(roster: Iterable[RosterEntry], now: datetime) -> list[tuple[RosterEntry, datetime]]:
    """The members at risk `now`, with when their spell began, the longest first."""
    found = []
    for entry in roster:
        since = entry.schedule.at_risk_since(now)
        if since is not None:
            found.append((entry, since))
    return sorted(found, key=lambda pair: (pair[1], pair[0].learner_id))


@dataclass(frozen=True, slots=True)
class MemberStanding:
    """One member's row: progress, engagement over their last 7 local days, and risk."""

    learner_id: str
    items_completed: int
    completion_rate: float  # percent of the catalog's items
    average_score: float | None  # percent
    mastered_skills: int
    points: int
    minutes_last_7_days: float
    events_last_7_days: int
    active_days_last_7_days: int
    current_streak: int
    last_active: date | None
    at_risk_since: datetime | None
    risk_reasons: tuple[RiskReason, ...]


def member_standing(
    learner_id: str,
    totals: LearnerTotals | None,
    recent: Iterable[DailyRollup],
    *,
    today: date,
    catalog_items: int,
    at_risk_since: datetime | None,
    risk_reasons: Iterable[RiskReason],
) -> MemberStanding:
    """A member's row from their totals and rollups (`today`: their local day)."""
    first = today - timedelta(days=LAST_DAYS - 1)
    week = [r.total for r in recent if first <= r.day <= today]
    overall = totals.overall if totals else None
    streak = streak_from(totals or LearnerTotals(learner_id), today=today, local_hour=0)
    completed = overall.items_completed if overall else 0
    scored = overall.scored if overall else 0
    return MemberStanding(
        learner_id=learner_id,
        items_completed=completed,
        completion_rate=min(100.0, completed / catalog_items * 100) if catalog_items else 0.0,
        average_score=overall.score_sum / scored * 100 if overall and scored else None,
        mastered_skills=totals.mastered_skills if totals else 0,
        points=totals.points if totals else 0,
        minutes_last_7_days=sum(b.time_spent_seconds for b in week) / 60,
        events_last_7_days=sum(b.events for b in week),
        active_days_last_7_days=sum(1 for b in week if b.events),
        current_streak=streak.current,
        last_active=streak.last_active,
        at_risk_since=at_risk_since,
        risk_reasons=tuple(risk_reasons),
    )


# --- the system ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SystemDay:
    day: date
    active: int = 0  # learners with an event this UTC day
    last_active: int = 0  # learners whose last active UTC day this is
    sessions: int = 0  # study sessions of the learners' local day of this date
    session_ms: int = 0
    badges: Mapping[str, int] = field(default_factory=dict)  # unlocks per achievement key


@dataclass(frozen=True, slots=True)
class SystemWeek:
    monday: date
    active: int = 0
    retained: int = 0  # active this week and the week before


@dataclass(frozen=True, slots=True)
class DailyActive:
    day: date
    learners: int


@dataclass(frozen=True, slots=True)
class WeeklyRetention:
    monday: date
    active: int
    retained: int  # also active the week before
    rate: float | None  # percent of the week before's active learners


@dataclass(frozen=True, slots=True)
class BadgeAwards:
    key: str
    awards: int
    per_day: float


@dataclass(frozen=True, slots=True)
class EventsPerMinute:
    current_minute: int  # so far in the current minute
    last_hour_average: float  # over the 60 whole minutes before it


@dataclass(frozen=True, slots=True)
class SystemMetrics:
    as_of: datetime
    days: int
    daily_active: list[DailyActive]
    dau: int
    mau: int
    stickiness: float | None  # the average DAU of the last 30 days over the MAU, percent
    sessions: int
    average_session_minutes: float | None
    streak_retention: float | None  # the last whole week's `rate`
    weekly_retention: list[WeeklyRetention]
    badge_awards: list[BadgeAwards]
    events_per_minute: EventsPerMinute


def system_days_needed(today: date, span: int) -> list[date]:
    """The UTC days a system dashboard of `span` days reads (at least the MAU's 30)."""
    return [today - timedelta(days=n) for n in range(max(span, MONTH_DAYS))]


def system_weeks_needed(today: date) -> list[date]:
    this_week = week_of(today)
    return [this_week - timedelta(days=7 * n) for n in range(RETENTION_WEEKS + 1)]


def system_metrics(
    *,
    now: datetime,
    span: int,
    days: Mapping[date, SystemDay],
    weeks: Mapping[date, SystemWeek],
    minutes: Mapping[datetime, int],
) -> SystemMetrics:
    """The admin dashboard's numbers over the last `span` UTC days (today included)."""
    today = now.astimezone(UTC).date()

    def day(d: date) -> SystemDay:
        return days.get(d) or SystemDay(d)

    in_span = [today - timedelta(days=n) for n in range(span - 1, -1, -1)]
    month = [today - timedelta(days=n) for n in range(MONTH_DAYS)]
    mau = sum(day(d).last_active for d in month)
    average_dau = sum(day(d).active for d in month) / MONTH_DAYS
    sessions = sum(day(d).sessions for d in in_span)
    session_ms = sum(day(d).session_ms for d in in_span)
    badges: dict[str, int] = {}
    for d in in_span:
        for key, n in day(d).badges.items():
            badges[key] = badges.get(key, 0) + n
    this_week = week_of(today)
    retention = []
    for n in range(RETENTION_WEEKS - 1, -1, -1):
        monday = this_week - timedelta(days=7 * n)
        week = weeks.get(monday) or SystemWeek(monday)
        before = weeks.get(monday - timedelta(days=7)) or SystemWeek(monday)
        rate = week.retained / before.active * 100 if before.active else None
        retention.append(WeeklyRetention(monday, week.active, week.retained, rate))
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    last_hour = sum(minutes.get(minute - MINUTE * n, 0) for n in range(1, 61))
    return SystemMetrics(
        as_of=now,
        days=span,
        daily_active=[DailyActive(d, day(d).active) for d in in_span],
        dau=day(today).active,
        mau=mau,
        stickiness=average_dau / mau * 100 if mau else None,
        sessions=sessions,
        average_session_minutes=session_ms / 60_000 / sessions if sessions else None,
        streak_retention=retention[-2].rate if len(retention) > 1 else None,
        weekly_retention=retention,
        badge_awards=sorted(
            (BadgeAwards(key, n, n / span) for key, n in badges.items()),
            key=lambda b: (-b.awards, b.key),
        ),
        events_per_minute=EventsPerMinute(
            current_minute=minutes.get(minute, 0), last_hour_average=last_hour / 60
        ),
    )


def hours_needed(now: datetime) -> list[datetime]:
    """The hours whose per-minute counts the events-per-minute figures read."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [hour - timedelta(hours=1), hour]


def check_span(days: int, *, maximum: int) -> int:
    if not 1 <= days <= maximum:
        raise InvalidInput("days", f"must be between 1 and {maximum}")
    return days
