"""Achievements: rules over a learner's derived state, each unlocked at most once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.catalog import check_id, check_optional_label, check_text
from domain.errors import InvalidInput
from domain.streaks import longest_chain
from domain.totals import LearnerTotals

# One lucky answer must not make an "excellent student": the average-score rules wait for this
# many scored answers (overall, or within the certification they are scoped to).
MIN_SCORED_FOR_AVERAGE = 10
MAX_POINTS = 100_000


class RuleType(StrEnum):
    STREAK_DAYS = "streak_days"
    AVERAGE_SCORE = "average_score"  # percent
    COMPLETIONS = "completions"
    HOURS = "hours"
    MASTERED_SKILLS = "mastered_skills"
    FIRST_EVENT = "first_event"
    PERFECT_SCORE = "perfect_score"  # number of perfect scores
    MASTERED_IN_A_DAY = "mastered_in_a_day"  # skills mastered on one local day (Quick Learner)
    SUBJECTS_MASTERED = "subjects_mastered"  # subjects or exam domains with every skill mastered
    PERFECT_WEEKS = "perfect_weeks"  # weeks every day of which met its share of the goal
    SUBJECTS_EXPLORED = "subjects_explored"  # catalog categories tried (Explorer)
    PEER_HELP = "peer_help"  # peer-help events (Helper)
    WEEKLY_GOALS = "weekly_goals"  # weeks that met their goal


# Rules measured per certification can be scoped to one; the others are learner-wide.
SCOPABLE = frozenset(
    {
        RuleType.AVERAGE_SCORE,
        RuleType.COMPLETIONS,
        RuleType.HOURS,
        RuleType.FIRST_EVENT,
        RuleType.PERFECT_SCORE,
        RuleType.SUBJECTS_MASTERED,  # scoped: that certification's exam domains
        RuleType.PEER_HELP,
    }
)


@dataclass(frozen=True, slots=True)
class AchievementDefinition:
    key: str
    title: str
    description: str
    icon: str
    points: int
    rule: RuleType
    threshold: float
    certification: str | None = None
    min_scored: int = MIN_SCORED_FOR_AVERAGE


@dataclass(frozen=True, slots=True)
class Unlock:
    learner_id: str
    key: str
    seq: int  # 1, 2, 3... per learner: subscribers resume after the last one they saw
    title: str
    description: str
    icon: str
    points: int
    rule: RuleType
    certification: str | None
    unlocked_at: datetime  # when it was earned: the triggering event's occurred-at
    event_id: str | None
    recorded_at: datetime | None = None  # when Cairn recorded it


@dataclass(frozen=True, slots=True)
class AchievementProgress:
    current: float
    target: float

    @property
    def percent(self) -> float:
        if self.target <= 0:
            return 100.0
        return min(100.0, self.current / self.target * 100)


def measure(definition: AchievementDefinition, totals: LearnerTotals) -> float:
    tally = totals.tally(definition.certification)
    match definition.rule:
        case RuleType.STREAK_DAYS:
            return float(longest_chain(totals.active_days, totals.frozen_days))
        case RuleType.AVERAGE_SCORE:
            if tally.scored < definition.min_scored:
                return 0.0
            return tally.score_sum / tally.scored * 100
        case RuleType.COMPLETIONS:
            return float(tally.items_completed)
        case RuleType.HOURS:
            return tally.time_spent_seconds / 3600
        case RuleType.MASTERED_SKILLS:
            return float(totals.mastered_skills)
        case RuleType.FIRST_EVENT:
            return float(tally.events)
        case RuleType.PERFECT_SCORE:
            return float(tally.perfect_scores)
        case RuleType.MASTERED_IN_A_DAY:
            return float(totals.best_mastery_day)
        case RuleType.SUBJECTS_MASTERED:
            prefix = (
                ""
                if definition.certification is None
                else domain_subject(definition.certification, "")
            )
            return float(sum(1 for key in totals.subjects_mastered if key.startswith(prefix)))
        case RuleType.PERFECT_WEEKS:
            return float(len(totals.perfect_weeks))
        case RuleType.SUBJECTS_EXPLORED:
            return float(len(totals.subjects_tried))
        case RuleType.PEER_HELP:
            return float(tally.helped)
        case RuleType.WEEKLY_GOALS:
            return float(len(totals.goal_weeks))


def category_subject(category: str) -> str:
    return f"category:{category}"


def domain_subject(certification: str, domain: str) -> str:
    return f"domain:{certification}/{domain}"


def progress_towards(
    definition: AchievementDefinition, totals: LearnerTotals
) -> AchievementProgress:
    return AchievementProgress(current=measure(definition, totals), target=definition.threshold)


def is_met(definition: AchievementDefinition, totals: LearnerTotals) -> bool:
    # A small tolerance: 0.9 * 100 is 90.00000000000001 in binary floating point.
    return measure(definition, totals) + 1e-9 >= definition.threshold


def newly_met(
    definitions: Iterable[AchievementDefinition], totals: LearnerTotals, unlocked: set[str]
) -> list[AchievementDefinition]:
    """The definitions not yet unlocked that the totals meet. Each measure is taken once for
    the definitions that share it (a series of thresholds on one rule), since this runs for
    every event."""
    measured: dict[tuple[RuleType, str | None, int], float] = {}
    met = []
    for definition in definitions:
        if definition.key in unlocked:
            continue
        key = (definition.rule, definition.certification, definition.min_scored)
        value = measured.get(key)
        if value is None:
            value = measured[key] = measure(definition, totals)
        if value + 1e-9 >= definition.threshold:  # the tolerance of `is_met`
            met.append(definition)
    return met


def validate_definition(
    definition: AchievementDefinition, field_prefix: str = "input"
) -> AchievementDefinition:
    check_id(definition.key, f"{field_prefix}.key")
    if not 0 <= definition.points <= MAX_POINTS:
        raise InvalidInput(f"{field_prefix}.points", f"must be between 0 and {MAX_POINTS}")
    if not definition.threshold > 0:
        raise InvalidInput(f"{field_prefix}.threshold", "must be greater than 0")
    if definition.rule is RuleType.AVERAGE_SCORE and definition.threshold > 100:
        raise InvalidInput(f"{field_prefix}.threshold", "an average score is at most 100 (%)")
    if definition.certification is not None and definition.rule not in SCOPABLE:
        raise InvalidInput(
            f"{field_prefix}.certification",
            f"a {definition.rule.value} rule is learner-wide and cannot be scoped",
        )
    if definition.min_scored < 1:
        raise InvalidInput(f"{field_prefix}.minScored", "must be at least 1")
    return AchievementDefinition(
        key=definition.key,
        title=check_text(definition.title, f"{field_prefix}.title"),
        description=check_text(
            definition.description, f"{field_prefix}.description", max_length=1000
        ),
        icon=check_text(definition.icon, f"{field_prefix}.icon", max_length=64),
        points=definition.points,
        rule=definition.rule,
        threshold=definition.threshold,
        certification=check_optional_label(
            definition.certification, f"{field_prefix}.certification"
        ),
        min_scored=definition.min_scored,
    )


def _series(
    rule: RuleType,
    rows: Sequence[tuple[float, str, str, int]],
    icon: str,
    key_prefix: str,
) -> list[AchievementDefinition]:
    return [
        AchievementDefinition(
            key=f"{key_prefix}-{threshold:g}",
            title=title,
            description=description,
            icon=icon,
            points=points,
            rule=rule,
            threshold=threshold,
        )
        for threshold, title, description, points in rows
    ]


# The ProCert tables (streak, score, completion and time), plus mastery, first steps and perfection.
DEFAULT_ACHIEVEMENTS: tuple[AchievementDefinition, ...] = (
    *_series(
        RuleType.STREAK_DAYS,
        [
            (days, f"{days}-Day Study Streak", f"Studied for {days} consecutive days", days * 10)
            for days in (3, 7, 14, 30, 60, 100)
        ],
        "🔥",
        "streak",
    ),
    *_series(
        RuleType.AVERAGE_SCORE,
        [
            (70, "Good Student", "Average score of 70% or more", 100),
            (80, "Great Student", "Average score of 80% or more", 200),
            (90, "Excellent Student", "Average score of 90% or more", 500),
            (95, "Master Student", "Average score of 95% or more", 1000),
        ],
        "🎯",
        "score",
    ),
    *_series(
        RuleType.COMPLETIONS,
        [
            (10, "Getting Started", "Completed 10 content items", 50),
            (50, "Dedicated Learner", "Completed 50 content items", 250),
            (100, "Knowledge Seeker", "Completed 100 content items", 500),
            (250, "Learning Champion", "Completed 250 content items", 1250),
        ],
        "📚",
        "completions",
    ),
    *_series(
        RuleType.HOURS,
        [
            (10, "Study Starter", "Studied for 10 hours", 100),
            (50, "Committed Student", "Studied for 50 hours", 500),
            (100, "Study Marathon", "Studied for 100 hours", 1000),
            (200, "Study Legend", "Studied for 200 hours", 2000),
        ],
        "⏱️",
        "hours",
    ),
    *_series(
        RuleType.MASTERED_SKILLS,
        [
            (1, "First Mastery", "Mastered a skill", 50),
            (5, "Skill Collector", "Mastered 5 skills", 250),
            (25, "Polymath", "Mastered 25 skills", 1000),
        ],
        "🧠",
        "mastery",
    ),
    AchievementDefinition(
        key="first-event",
        title="First Steps",
        description="Recorded your first learning activity",
        icon="👣",
        points=10,
        rule=RuleType.FIRST_EVENT,
        threshold=1,
    ),
    AchievementDefinition(
        key="quick-learner",
        title="Quick Learner",
        description="Mastered 5 skills in one day",
        icon="⚡",
        points=100,
        rule=RuleType.MASTERED_IN_A_DAY,
        threshold=5,
    ),
    AchievementDefinition(
        key="subject-master",
        title="Subject Master",
        description="Mastered every skill of a subject or exam domain",
        icon="🏆",
        points=250,
        rule=RuleType.SUBJECTS_MASTERED,
        threshold=1,
    ),
    AchievementDefinition(
        key="perfect-week",
        title="Perfect Week",
        description="Met your daily share of the weekly goal every day of a week",
        icon="🌟",
        points=100,
        rule=RuleType.PERFECT_WEEKS,
        threshold=1,
    ),
    AchievementDefinition(
        key="explorer",
        title="Explorer",
        description="Tried items from 5 different subjects",
        icon="🧭",
        points=50,
        rule=RuleType.SUBJECTS_EXPLORED,
        threshold=5,
    ),
    AchievementDefinition(
        key="helper",
        title="Helper",
        description="Helped another learner",
        icon="🤝",
        points=50,
        rule=RuleType.PEER_HELP,
        threshold=1,
    ),
    AchievementDefinition(
        key="goal-getter",
        title="Goal Getter",
        description="Met your weekly goal",
        icon="🥅",
        points=0,
        rule=RuleType.WEEKLY_GOALS,
        threshold=1,
    ),
    AchievementDefinition(
        key="perfect-score",
        title="Perfectionist",
        description="Scored 100% on an item",
        icon="💯",
        points=50,
        rule=RuleType.PERFECT_SCORE,
        threshold=1,
    ),
)
