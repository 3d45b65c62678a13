"""The four demo learners: who they are and how they study."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.goals import GoalKind
from domain.leaderboards import Privacy
from domain.learners import Learner
from resolvers.demo.catalog import CCP_PATH, SAA_PATH


@dataclass(frozen=True)
class StudyHabit:
    """How a learner studies on one kind of day (weekday or weekend)."""

    chance: float  # of studying at all that day
    new_items: tuple[int, int]  # how many items further down the path (inclusive range)
    reviews: tuple[int, int]  # how many items already met to practise again


@dataclass(frozen=True)
class DemoLearner:
    """Who a demo learner is and how they study."""

    learner: Learner
    path: tuple[str, ...]  # content ids in the order this learner takes them
    weekday: StudyHabit
    weekend: StudyHabit
    first_hour: tuple[int, int]  # local hour range in which the day's study starts
    ability: float  # chance of answering a medium question right on day one
    growth: float  # how much that chance has risen by the last day of the window
    weak_skills: dict[str, float] = field(default_factory=dict)  # skill -> lower chance
    joined_days_ago: int | None = None  # None: active from the window's first day
    missed_days_ago: frozenset[int] = frozenset()


PROFILES: tuple[DemoLearner, ...] = (
    # Steady: a little every morning before work; one missed day early on, so a long streak.
    DemoLearner(
        learner=Learner("demo-ada", "Ada Lovelace", "Europe/London"),
        path=SAA_PATH,
        weekday=StudyHabit(1.0, (1, 1), (3, 5)),
        weekend=StudyHabit(1.0, (1, 2), (3, 5)),
        first_hour=(7, 8),
        ability=0.68,
        growth=0.2,
        missed_days_ago=frozenset({37}),
    ),
    # Crammer: long weekend sessions, the odd question on a weekday lunch break.
    DemoLearner(
        learner=Learner("demo-grace", "Grace Hopper", "America/New_York"),
        path=SAA_PATH,
        weekday=StudyHabit(0.2, (0, 1), (1, 2)),
        weekend=StudyHabit(0.95, (3, 5), (12, 18)),
        first_hour=(10, 13),
        ability=0.62,
        growth=0.15,
    ),
    # Beginner: joined a month ago, Cloud Practitioner first, evenings; networking and IAM hurt.
    # Shy: shown as "Learner N" on leaderboards, even on his class's, which shows names.
    DemoLearner(
        learner=Learner("demo-alan", "Alan Turing", "Asia/Tokyo", Privacy.ANONYMOUS),
        path=CCP_PATH + SAA_PATH,
        weekday=StudyHabit(0.6, (1, 2), (1, 3)),
        weekend=StudyHabit(0.5, (1, 2), (2, 4)),
        first_hour=(19, 20),
        ability=0.5,
        growth=0.2,
        weak_skills={"vpc": 0.3, "iam": 0.25},
        joined_days_ago=30,
    ),
    # Near the finish: fast through the SAA track; its last four items are still to do.
    DemoLearner(
        learner=Learner("demo-katherine", "Katherine Johnson", "Australia/Sydney"),
        path=SAA_PATH[:-4],
        weekday=StudyHabit(0.85, (1, 3), (3, 5)),
        weekend=StudyHabit(0.7, (1, 2), (4, 6)),
        first_hour=(6, 7),
        ability=0.76,
        growth=0.12,
    ),
)


# People around the learners, for the access rules: a parent of two of them, the educator
# teaching all four, and an administrator. Tokens for them are printed by `make run`.
PARENT = "demo-parent"
EDUCATOR = "demo-educator"
ADMIN = "demo-admin"
CLASS = "demo-class"
CLASS_NAME = "Cloud certifications, evening class"
CLASS_LEADERBOARD = Privacy.FULL_NAME  # classmates know each other; the overall board is anonymous
CHILDREN = ("demo-ada", "demo-grace")
# Weekly goals, set by the demo educator when the history starts: (kind, target).
GOALS = {
    "demo-ada": (GoalKind.MINUTES, 150),
    "demo-grace": (GoalKind.ITEMS, 6),
    "demo-alan": (GoalKind.MINUTES, 240),
    "demo-katherine": (GoalKind.ITEMS, 10),
}
