"""The learner aggregate: folds events into every piece of derived state they touch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from domain.achievements import (
    AchievementDefinition,
    Unlock,
    newly_met,
)
from domain.activity import DailyRollup, add_to_rollup, local_time, week_of
from domain.catalog import ContentItem
from domain.events import EventType, LearningEvent
from domain.goals import GOAL_POINTS, WeeklyGoal, goal_for, is_met, is_perfect_week
from domain.guard import (
    DEFAULT_GUARD,
    GuardReason,
    GuardSettings,
    Verdict,
    is_counted,
    judge,
    remember_on_item,
    remember_reward,
    rewarded_of_type,
)
from domain.learners import Learner
from domain.levels import DEFAULT_LEVELS, LevelBand, level_for
from domain.mastery import (
    DEFAULT_ANSWER_WINDOW,
    DEFAULT_BKT,
    BktParams,
    SkillState,
    judge_answer,
    mastery_changed,
    new_skill_state,
)
from domain.mastery import practise as practise_skill
from domain.notifications import (
    POINTS_MILESTONES,
    STREAK_MILESTONES,
    Notice,
    NotificationKind,
    crossed,
)
from domain.points import (
    STREAK_DAY_POINTS,
    STREAK_POINTS_WINDOW,
    PointsEntry,
    PointsSource,
    event_awards,
)
from domain.progress import ContentProgress, advance
from domain.review import review
from domain.streaks import FreezeChange, active_within, add_day, contains, mark_active, merged
from domain.totals import LearnerTotals, add_to_totals

DEFAULT_PASS_THRESHOLD = 0.7


@dataclass(frozen=True, slots=True)
class Rules:
    """What the fold needs beyond the events: tracing parameters, threshold, achievements."""

    skill_params: Mapping[str, BktParams] = field(default_factory=dict)
    pass_threshold: float = DEFAULT_PASS_THRESHOLD
    achievements: Sequence[AchievementDefinition] = ()
    guard: GuardSettings = DEFAULT_GUARD
    answer_window: int = DEFAULT_ANSWER_WINDOW
    levels: Sequence[LevelBand] = DEFAULT_LEVELS
    streak_day_points: int = STREAK_DAY_POINTS  # 0 turns daily streak points off
    # Subjects for Subject Master: each key ("category:…", "domain:CERT/…") and its skills.
    subjects: Mapping[str, frozenset[str]] = field(default_factory=dict)
    subjects_of_skill: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventOutcome:
    progress: ContentProgress
    unlocks: tuple[Unlock, ...] = ()
    points: int = 0  # points this event earned, achievements included
    guarded: tuple[GuardReason, ...] = ()  # why the reward guard held some of it back
    credited_seconds: float | None = None  # the time it credited (None: all it claimed)
    notices: tuple[Notice, ...] = ()  # what the learner is to be told of (not kept on replay)


@dataclass
class LearnerRecord:
    """One learner's derived state as loaded for a batch; `record` updates it in memory.

    The caller loads the documents the batch touches (progress of its items, state of their
    skills, rollups of its local days, the achievements already unlocked) and writes back the keys
    listed in the `changed_*` sets, plus `new_unlocks` and `new_points`.
    """

    learner: Learner
    totals: LearnerTotals
    progress: dict[str, ContentProgress] = field(default_factory=dict)
    skills: dict[str, SkillState] = field(default_factory=dict)
    days: dict[date, DailyRollup] = field(default_factory=dict)
    # The same rollups by local ISO week, keyed by the week's Monday (`week_of`).
    weeks: dict[date, DailyRollup] = field(default_factory=dict)
    unlocked: set[str] = field(default_factory=set)
    goals: tuple[WeeklyGoal, ...] = ()  # the learner's weekly goal settings, by week
    changed_progress: set[str] = field(default_factory=set)
    changed_skills: set[str] = field(default_factory=set)
    changed_days: set[date] = field(default_factory=set)
    changed_weeks: set[date] = field(default_factory=set)
    new_unlocks: list[Unlock] = field(default_factory=list)
    new_points: list[PointsEntry] = field(default_factory=list)
    new_notices: list[Notice] = field(default_factory=list)

    def local_day(self, event: LearningEvent) -> date:
        return local_time(event.occurred_at, self.learner.time_zone).day

    def record(
        self, event: LearningEvent, item: ContentItem, *, rules: Rules, recorded_at: datetime
    ) -> EventOutcome:
        """Applies one event; returns the item's progress after it and what it unlocked."""
        learner_id = self.learner.id
        before = self.progress.get(item.id) or ContentProgress(
            learner_id=learner_id, content_id=item.id, certification=item.certification
        )
        points_before = self.totals.points
        notices_before = len(self.new_notices)
        when = local_time(event.occurred_at, self.learner.time_zone)
        rollup = self.days.get(when.day) or DailyRollup(learner_id=learner_id, day=when.day)
        # What the event would earn: its reward, unless the guard holds it back.
        earnable = event_awards(event, before.point_awards)
        verdict = self._judge(
            event,
            item,
            before=before,
            rollup=rollup,
            earns_points=bool(earnable),
            guard=rules.guard,
        )
        credited = verdict.applied_to(event)
        after = advance(before, credited)
        correct = self._correctness(credited, rules)
        if correct is not None:
            after = replace(
                after,
                review=review(before.review, correct=correct, at=credited.occurred_at),
                answers=after.answers + 1,
                correct=after.correct + (1 if correct else 0),
            )
        if verdict.rewarded and is_counted(event):
            after = replace(
                after,
                rewarded_at=remember_on_item(before.rewarded_at, event.type, event.occurred_at),
            )
        finished = 1 if after.status.is_done and not before.status.is_done else 0
        new_day = not contains(self.totals.active_days, when.day)
        if new_day:
            self._mark_day(event, when.day)
        mastered = self._practise_skills(credited, item, rules, correct)
        newly_mastered = max(0, mastered)

        day = add_to_rollup(
            rollup, credited, item, when.hour, finished=finished, mastered=newly_mastered
        )
        self.days[when.day] = day
        self.changed_days.add(when.day)
        monday = week_of(when.day)
        week = self.weeks.get(monday) or DailyRollup(learner_id=learner_id, day=monday)
        self.weeks[monday] = add_to_rollup(
            week, credited, item, when.hour, finished=finished, mastered=newly_mastered
        )
        self.changed_weeks.add(monday)

        self.totals = add_to_totals(
            self.totals,
            credited,
            certification=item.certification,
            before=before,
            after=after,
            day=when.day,
            mastered_change=mastered,
        )
        self._engage(item, day)

        earned = 0
        awards = earnable if verdict.rewarded else []
        for award in awards:
            earned += self._credit(
                award.amount, award.reason, PointsSource.EVENT, event, recorded_at
            )
        if awards:
            after = replace(
                after, point_awards=before.point_awards | {award.key for award in awards}
            )
        self.progress[item.id] = after
        self.changed_progress.add(item.id)
        if verdict.rewarded and rules.streak_day_points:
            earned += self._streak_points(event, when.day, recorded_at, rules.streak_day_points)
        earned += self._goal(event, monday, recorded_at)

        unlocks = self._unlock(event, rules.achievements, recorded_at)
        earned += sum(unlock.points for unlock in unlocks)
        if self.totals.points != points_before:
            self._points_milestones(event, points_before, rules)
        if new_day:
            self._streak_milestones(event, when.day)
        return EventOutcome(
            progress=after,
            unlocks=unlocks,
            points=earned,
            guarded=verdict.reasons,
            credited_seconds=None
            if verdict.credited_seconds == event.time_spent_seconds
            else verdict.credited_seconds,
            notices=tuple(self.new_notices[notices_before:]),
        )

    # Engagement: freezes, daily streak points, goals, badge measures and notices -------------

    def _mark_day(self, event: LearningEvent, day: date) -> None:
        """Freezes as the day turns active: spent on missed days, earned, or given back."""
        totals = self.totals
        change: FreezeChange = mark_active(
            totals.active_days, totals.frozen_days, totals.freezes_held, day
        )
        self.totals = replace(totals, frozen_days=change.frozen, freezes_held=change.held)
        if change.spent:
            days = ", ".join(d.isoformat() for d in change.spent)
            self._notice(
                f"freeze:{change.spent[0].isoformat()}",
                NotificationKind.FREEZE_USED,
                "Streak freeze used",
                f"A streak freeze covered {days}: your streak lives on.",
                event.occurred_at,
                {"days": [d.isoformat() for d in change.spent], "freezesHeld": change.held},
            )

    def _engage(self, item: ContentItem, day: DailyRollup) -> None:
        """The subjects tried (Explorer) and the most skills mastered in a day (Quick Learner)."""
        totals = self.totals
        category = item.category
        new_subject = bool(category) and category not in totals.subjects_tried
        if new_subject or day.mastered > totals.best_mastery_day:
            self.totals = replace(
                totals,
                subjects_tried=totals.subjects_tried | {category}
                if new_subject and category
                else totals.subjects_tried,
                best_mastery_day=max(totals.best_mastery_day, day.mastered),
            )

    def _streak_points(
        self, event: LearningEvent, day: date, recorded_at: datetime, amount: int
    ) -> int:
        """The day's streak points, the first time it has rewarded activity (recent days only)."""
        if contains(self.totals.streak_point_days, day):
            return 0
        if event.occurred_at < recorded_at - STREAK_POINTS_WINDOW:
            return 0
        self.totals = replace(
            self.totals, streak_point_days=add_day(self.totals.streak_point_days, day)
        )
        return self._credit(
            amount,
            f"daily streak {day.isoformat()}",
            PointsSource.STREAK,
            event,
            recorded_at,
            reference=f"streak:{day.isoformat()}",
        )

    def _goal(self, event: LearningEvent, monday: date, recorded_at: datetime) -> int:
        """Meeting the week's goal: once per week, its points if the goal earns them, and a
        Perfect Week when every day carried its share."""
        goal = goal_for(self.goals, monday)
        if goal is None:
            return 0
        earned = 0
        totals = self.totals
        if monday not in totals.goal_weeks and is_met(goal, self.weeks.get(monday)):
            self.totals = replace(totals, goal_weeks=tuple(sorted({*totals.goal_weeks, monday})))
            if goal.earns_points:
                earned = self._credit(
                    GOAL_POINTS,
                    f"weekly goal met (week of {monday.isoformat()})",
                    PointsSource.GOAL,
                    event,
                    recorded_at,
                    reference=f"goal:{monday.isoformat()}",
                )
            self._notice(
                f"goal:{monday.isoformat()}",
                NotificationKind.GOAL_MET,
                "Weekly goal met",
                f"You met your goal of {goal.target} {goal.kind.value} for the week of "
                f"{monday.isoformat()}.",
                event.occurred_at,
                {"week": monday.isoformat(), "kind": goal.kind.value, "target": goal.target},
            )
        totals = self.totals
        if (
            monday in totals.goal_weeks
            and monday not in totals.perfect_weeks
            and is_perfect_week(goal, self.days, monday)
        ):
            weeks = tuple(sorted({*totals.perfect_weeks, monday}))
            self.totals = replace(totals, perfect_weeks=weeks)
        return earned

    def _points_milestones(self, event: LearningEvent, points_before: int, rules: Rules) -> None:
        """A new level, and round totals of points, reached by this event."""
        points = self.totals.points
        level_before = level_for(points_before, rules.levels)
        level_after = level_for(points, rules.levels)
        if level_after.number > level_before.number:
            self._notice(
                f"level:{level_after.number}",
                NotificationKind.LEVEL_UP,
                f"Level up: {level_after.name}",
                f"You reached level {level_after.number}, {level_after.name}.",
                event.occurred_at,
                {"level": level_after.number, "name": level_after.name, "points": points},
            )
        for mark in crossed(points_before, points, POINTS_MILESTONES):
            self._notice(
                f"points:{mark}",
                NotificationKind.MILESTONE,
                f"{mark:,} points",
                f"You have earned {mark:,} points.",
                event.occurred_at,
                {"milestone": "points", "value": mark},
            )

    def _streak_milestones(self, event: LearningEvent, day: date) -> None:
        """A streak length worth a word, reached by the day this event made active."""
        totals = self.totals
        chains = merged(totals.active_days, totals.frozen_days)
        chain = next((run for run in chains if run[0] <= day <= run[1]), None)
        if chain is None:
            return
        length = active_within(totals.active_days, *chain)
        if length in STREAK_MILESTONES:
            self._notice(
                f"streak:{length}:{chain[0].isoformat()}",
                NotificationKind.MILESTONE,
                f"{length}-day streak",
                f"You have studied {length} days in a row.",
                event.occurred_at,
                {"milestone": "streak", "value": length},
            )

    def _notice(
        self,
        key: str,
        kind: NotificationKind,
        title: str,
        body: str,
        at: datetime,
        data: Mapping[str, object],
    ) -> None:
        self.new_notices.append(
            Notice(
                user_id=self.learner.id,
                key=key,
                kind=kind,
                title=title,
                body=body,
                at=at,
                data=dict(data),
            )
        )

    def _judge(
        self,
        event: LearningEvent,
        item: ContentItem,
        *,
        before: ContentProgress,
        rollup: DailyRollup,
        earns_points: bool,
        guard: GuardSettings,
    ) -> Verdict:
        """The reward guard's verdict; a rewarded event counts toward the learner's rate."""
        verdict = judge(
            event,
            item,
            last_activity_at=before.last_activity_at,
            rewarded_on_item=rewarded_of_type(before.rewarded_at, event.type),
            day_credited_seconds=rollup.total.time_spent_seconds,
            recent_rewards=self.totals.recent_rewards,
            earns_points=earns_points,
            settings=guard,
        )
        if verdict.rewarded and (earns_points or is_counted(event)):
            recent = remember_reward(self.totals.recent_rewards, event.occurred_at, guard)
            self.totals = replace(self.totals, recent_rewards=recent)
        return verdict

    def _credit(
        self,
        amount: int,
        reason: str,
        source: PointsSource,
        event: LearningEvent,
        recorded_at: datetime,
        reference: str | None = None,
    ) -> int:
        self.new_points.append(
            PointsEntry(
                learner_id=self.learner.id,
                amount=amount,
                reason=reason,
                source=source,
                reference=reference or event.event_id,
                at=event.occurred_at,
                recorded_at=recorded_at,
            )
        )
        self.totals = replace(self.totals, points=self.totals.points + amount)
        return amount

    def _unlock(
        self,
        event: LearningEvent,
        achievements: Sequence[AchievementDefinition],
        recorded_at: datetime,
    ) -> tuple[Unlock, ...]:
        unlocks = []
        for definition in newly_met(achievements, self.totals, self.unlocked):
            self.unlocked.add(definition.key)
            self.totals = replace(self.totals, unlocks=self.totals.unlocks + 1)
            unlock = Unlock(
                learner_id=self.learner.id,
                key=definition.key,
                seq=self.totals.unlocks,
                title=definition.title,
                description=definition.description,
                icon=definition.icon,
                points=definition.points,
                rule=definition.rule,
                certification=definition.certification,
                unlocked_at=event.occurred_at,
                event_id=event.event_id,
                recorded_at=recorded_at,
            )
            self._notice(
                f"unlock:{definition.key}",
                NotificationKind.ACHIEVEMENT_UNLOCKED,
                f"Achievement unlocked: {definition.title}",
                definition.description,
                event.occurred_at,
                {"key": definition.key, "points": definition.points, "icon": definition.icon},
            )
            if definition.points:
                self._credit(
                    definition.points,
                    f"achievement: {definition.title}",
                    PointsSource.ACHIEVEMENT,
                    event,
                    recorded_at,
                    reference=definition.key,
                )
            unlocks.append(unlock)
        self.new_unlocks.extend(unlocks)
        return tuple(unlocks)

    @staticmethod
    def _correctness(event: LearningEvent, rules: Rules) -> bool | None:
        """Whether an answer was right (None: not an answer, or no way to tell)."""
        if event.type is not EventType.ANSWERED:
            return None
        return judge_answer(
            correct=event.correct, score=event.score, pass_threshold=rules.pass_threshold
        )

    def _practise_skills(
        self, event: LearningEvent, item: ContentItem, rules: Rules, correct: bool | None
    ) -> int:
        """Updates each skill of the item; returns the change in the number of mastered skills
        (a late wrong answer can take a mastery back)."""
        change = 0
        for skill_id in item.skill_ids:
            params = rules.skill_params.get(skill_id, DEFAULT_BKT)
            state = self.skills.get(skill_id) or new_skill_state(self.learner.id, skill_id, params)
            updated = practise_skill(
                state,
                at=event.occurred_at,
                time_spent_seconds=event.time_spent_seconds,
                correct=correct,
                score=event.score if correct is not None else None,
                params=params,
                window=rules.answer_window,
            )
            change += mastery_changed(state, updated)
            self.skills[skill_id] = updated
            self.changed_skills.add(skill_id)
            self._track_mastery(skill_id, mastered=updated.mastered, rules=rules)
        return change

    def _track_mastery(self, skill_id: str, *, mastered: bool, rules: Rules) -> None:
        """Keeps the mastered skills, and the subjects all of whose skills are mastered (a
        subject once mastered stays counted, like the badge it unlocks)."""
        totals = self.totals
        ids = totals.mastered_ids
        if mastered == (skill_id in ids):
            return
        ids = ids | {skill_id} if mastered else ids - {skill_id}
        subjects = totals.subjects_mastered
        if mastered:
            for subject in rules.subjects_of_skill.get(skill_id, ()):
                if subject not in subjects and rules.subjects[subject] <= ids:
                    subjects = subjects | {subject}
        self.totals = replace(totals, mastered_ids=ids, subjects_mastered=subjects)
