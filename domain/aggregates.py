"""Group and system aggregates, as sums of what each learner's state contributes to them.

Every aggregate Cairn keeps for a group or for the whole system is a set of integer counters,
and each counter is a sum over learners of a *contribution*: a function of that learner's derived
state alone (their progress per item, skill states, daily and weekly rollups, totals, the UTC days
they were active). A write takes a learner from state S to S'; the aggregates then change by
contribution(S') - contribution(S). The changes telescope, so:

- the aggregates always equal the sum of the contributions of the current states, whatever order
  the changes are applied in, and however many writes a learner made;
- joining a group adds the learner's whole contribution, leaving subtracts it: a group's numbers
  are its current members' numbers, their history included;
- building the aggregates from scratch (an older database) is adding everyone's contribution.

Counters are integers (time in milliseconds, score sums in millionths), so sums are exact in any
order. A write computes its change from the parts of the state it touched (`LearnerSlice`), before
and after: the contribution of everything else is the same on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from domain.achievements import Unlock
from domain.activity import DailyRollup, week_of
from domain.guard import GuardReason
from domain.mastery import SkillState, judge_answer
from domain.progress import ContentProgress
from domain.risk import RiskSchedule
from domain.streaks import DayRun, add_day
from domain.totals import LearnerTotals
from domain.trends import sessions_in

Target = tuple[str, str]  # (kind, key): which aggregate document
Fields = dict[str, int]
Counters = dict[Target, Fields]

# Kinds of group aggregates: per catalog item, per skill, per local day and ISO week of the
# members, and the group's totals (key "").
ITEM = "item"
SKILL = "skill"
DAY = "day"
WEEK = "week"
TOTAL = "total"
# Kinds of system aggregates: per day, per ISO week (UTC), and per hour of recording time (its
# minutes as fields).
HOUR = "hour"

BADGES = "badges"  # a day's unlocks per achievement key: fields "badges.<key>"
MINUTES = "m"  # an hour's recorded events per minute: fields "m.00" .. "m.59"


@dataclass(frozen=True, slots=True)
class Standing:
    """What the aggregates need to know of a learner beyond their derived state: the groups
    their contribution goes to, and the UTC days they were active (system day counts are by UTC
    day, rollups by local day)."""

    learner_id: str
    groups: frozenset[str] = frozenset()
    utc_days: tuple[DayRun, ...] = ()

    def with_days(self, days: Iterable[date]) -> Standing:
        runs = self.utc_days
        for day in days:
            runs = add_day(runs, day)
        return Standing(self.learner_id, self.groups, runs)


@dataclass(frozen=True, slots=True)
class RosterChange:
    """A member's place in a group's roster: their risk schedule as of the standing `version`
    it was computed at (None: they left). Later versions win, whatever order changes arrive in."""

    group_id: str
    learner_id: str
    version: int
    schedule: RiskSchedule | None


@dataclass
class AggregateChange:
    """What one write changes in the aggregates: counters to add, per group and for the system,
    and roster places to set."""

    groups: dict[str, Counters] = field(default_factory=dict)
    system: Counters = field(default_factory=dict)
    roster: list[RosterChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.groups or self.system or self.roster)

    def add_group(self, group_id: str, counters: Counters) -> None:
        if counters:
            add_into(self.groups.setdefault(group_id, {}), counters)
            if not self.groups[group_id]:
                del self.groups[group_id]

    def merge(self, other: AggregateChange) -> None:
        """Adds `other` in: counters add up, the latest roster place of each member wins."""
        for group_id, counters in other.groups.items():
            self.add_group(group_id, counters)
        add_into(self.system, other.system)
        latest = {(c.group_id, c.learner_id): c for c in self.roster}
        for change in other.roster:
            key = (change.group_id, change.learner_id)
            if key not in latest or latest[key].version < change.version:
                latest[key] = change
        self.roster = list(latest.values())


# Guard verdicts that hold an answer back: it then counts as a view, not an answer.
HELD_BACK = frozenset({GuardReason.REPEAT, GuardReason.RATE})


def counted_answer(
    *,
    correct: bool | None,
    score: float | None,
    guarded: Iterable[GuardReason],
    pass_threshold: float,
) -> bool | None:
    """Whether a stored answer counted as right (None: it did not count as an answer), as the
    fold judged it (for progress written before it kept its answer counts)."""
    if HELD_BACK & set(guarded):
        return None
    return judge_answer(correct=correct, score=score, pass_threshold=pass_threshold)


def millis(seconds: float) -> int:
    return round(seconds * 1000)


def micros(value: float) -> int:
    return round(value * 1_000_000)


def field_key(key: str) -> str:
    """A key usable inside a field path: ids hold '.', which paths split on ('%' is not allowed
    in ids, so the encoding is unambiguous)."""
    return key.replace(".", "%2E")


def key_of_field(name: str) -> str:
    return name.replace("%2E", ".")


@dataclass(frozen=True, slots=True)
class LearnerSlice:
    """Parts of one learner's derived state: all of it, or what one write touched."""

    totals: LearnerTotals
    progress: Mapping[str, ContentProgress] = field(default_factory=dict)
    skills: Mapping[str, SkillState] = field(default_factory=dict)
    days: Mapping[date, DailyRollup] = field(default_factory=dict)
    weeks: Mapping[date, DailyRollup] = field(default_factory=dict)


def group_contribution(part: LearnerSlice) -> Counters:
    """What these parts of a member's state add to each of their group's aggregates.

    - per item: `learners` who touched it, `answered` (learners with a judged answer), `answers`,
      `correct` answers, `ms` spent on it;
    - per skill: the same from the skill state (`learners`: who practised it);
    - per local day: `events`, `ms`, `active` (1 for a day with activity), and `lastActive` on
      the member's last active day (so the members active in a window is a sum over its days);
    - per local ISO week: `active`;
    - the totals: `members` (1), `events`, `ms`, `scored`, `scoreMicros`, `completed` items,
      `mastered` skills.
    """
    out: Counters = {}
    for content_id, progress in part.progress.items():
        _add(
            out,
            (ITEM, content_id),
            {
                "learners": 1 if progress.events else 0,
                "answered": 1 if progress.answers else 0,
                "answers": progress.answers,
                "correct": progress.correct,
                "ms": millis(progress.time_spent_seconds),
            },
        )
    for skill_id, state in part.skills.items():
        _add(
            out,
            (SKILL, skill_id),
            {
                "learners": 1,
                "answered": 1 if state.attempts else 0,
                "answers": state.attempts,
                "correct": state.correct,
                "ms": millis(state.time_spent_seconds),
            },
        )
    for day, rollup in part.days.items():
        bucket = rollup.total
        _add(
            out,
            (DAY, day.isoformat()),
            {
                "events": bucket.events,
                "ms": millis(bucket.time_spent_seconds),
                "active": 1 if bucket.events else 0,
            },
        )
    for monday, rollup in part.weeks.items():
        _add(out, (WEEK, monday.isoformat()), {"active": 1 if rollup.total.events else 0})
    totals = part.totals
    overall = totals.overall
    _add(
        out,
        (TOTAL, ""),
        {
            "members": 1,
            "events": overall.events,
            "ms": millis(overall.time_spent_seconds),
            "scored": overall.scored,
            "scoreMicros": micros(overall.score_sum),
            "completed": overall.items_completed,
            "mastered": totals.mastered_skills,
        },
    )
    if totals.active_days:
        _add(out, (DAY, totals.active_days[-1][1].isoformat()), {"lastActive": 1})
    return out


def presence_contribution(
    utc_days: Sequence[DayRun], *, days: Iterable[date], weeks: Iterable[date]
) -> Counters:
    """What a learner's UTC days of activity add to the system's day and week aggregates, for
    the `days` and ISO `weeks` (Mondays) named:

    - per UTC day: `active` (1 when active that day: the DAU), and `lastActive` on their last
      active day (the learners active in the last 30 days, the MAU, is a sum over 30 days);
    - per UTC ISO week: `active`, and `retained` when also active the week before.
    """
    out: Counters = {}
    last = utc_days[-1][1] if utc_days else None
    for day in days:
        if _in_runs(utc_days, day):
            _add(out, (DAY, day.isoformat()), {"active": 1})
        if day == last:
            _add(out, (DAY, day.isoformat()), {"lastActive": 1})
    for monday in weeks:
        if _week_active(utc_days, monday):
            retained = 1 if _week_active(utc_days, monday - timedelta(days=7)) else 0
            _add(out, (WEEK, monday.isoformat()), {"active": 1, "retained": retained})
    return out


def presence_targets(
    before: Sequence[DayRun], after: Sequence[DayRun], new_days: Iterable[date]
) -> tuple[set[date], set[date]]:
    """The days and weeks whose presence counters new active days can change: those days, the
    last active day before and after, their weeks and the weeks after them."""
    days = set(new_days)
    days |= {runs[-1][1] for runs in (before, after) if runs}
    weeks = {week_of(day) for day in days}
    weeks |= {monday + timedelta(days=7) for monday in weeks}
    return days, weeks


def all_presence_targets(utc_days: Sequence[DayRun]) -> tuple[set[date], set[date]]:
    """Every day and week a learner's presence contributes to (for building from scratch)."""
    days = {
        first + timedelta(days=n)
        for first, last in utc_days
        for n in range((last - first).days + 1)
    }
    return presence_targets((), utc_days, days)


def session_contribution(rollups: Iterable[DailyRollup]) -> Counters:
    """Per local day of the learner, the study sessions it held (`domain.trends.sessions_in`)
    and the time they credited: `sessions`, `sessionMs`."""
    out: Counters = {}
    for rollup in rollups:
        _add(
            out,
            (DAY, rollup.day.isoformat()),
            {
                "sessions": sessions_in(rollup),
                "sessionMs": millis(rollup.total.time_spent_seconds),
            },
        )
    return out


def unlock_contribution(unlocks: Iterable[Unlock]) -> Counters:
    """Achievements unlocked per UTC day (of the event that earned them) and key."""
    out: Counters = {}
    for unlock in unlocks:
        day = unlock.unlocked_at.astimezone(UTC).date().isoformat()
        _add(out, (DAY, day), {f"{BADGES}.{field_key(unlock.key)}": 1})
    return out


def recording_counts(recorded_at: Iterable[datetime]) -> Counters:
    """Events recorded per minute (of the time Cairn received them), one document an hour."""
    out: Counters = {}
    for at in recorded_at:
        utc = at.astimezone(UTC)
        _add(out, (HOUR, utc.strftime("%Y-%m-%dT%H")), {f"{MINUTES}.{utc:%M}": 1})
    return out


def difference(after: Counters, before: Counters) -> Counters:
    """after - before, without the counters that did not change."""
    out: Counters = {}
    for target in after.keys() | before.keys():
        now, then = after.get(target, {}), before.get(target, {})
        changed = {
            name: now.get(name, 0) - then.get(name, 0)
            for name in now.keys() | then.keys()
            if now.get(name, 0) != then.get(name, 0)
        }
        if changed:
            out[target] = changed
    return out


def negated(counters: Counters) -> Counters:
    return {target: {name: -n for name, n in fields.items()} for target, fields in counters.items()}


def add_into(total: Counters, more: Counters) -> Counters:
    """Adds `more` into `total` (changed in place and returned); zero sums are dropped."""
    for target, fields in more.items():
        into = total.setdefault(target, {})
        for name, n in fields.items():
            value = into.get(name, 0) + n
            if value:
                into[name] = value
            else:
                into.pop(name, None)
        if not into:
            del total[target]
    return total


def _add(out: Counters, target: Target, fields: Mapping[str, int]) -> None:
    into = out.setdefault(target, {})
    for name, n in fields.items():
        if n:
            into[name] = into.get(name, 0) + n
    if not into:
        del out[target]


def _in_runs(runs: Sequence[DayRun], day: date) -> bool:
    return any(first <= day <= last for first, last in runs)


def _week_active(runs: Sequence[DayRun], monday: date) -> bool:
    sunday = monday + timedelta(days=6)
    return any(first <= sunday and last >= monday for first, last in runs)
