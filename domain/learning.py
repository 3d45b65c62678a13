"""The learner aggregate: folds events into every piece of derived state they touch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from domain.achievements import AchievementDefinition, Unlock, newly_met
from domain.activity import DailyRollup, add_to_rollup, local_time, week_of
from domain.catalog import ContentItem
from domain.events import EventType, LearningEvent
from domain.guard import (
    DEFAULT_GUARD,
    GuardReason,
    GuardSettings,
    Verdict,
    is_evidence,
    judge,
    remember_on_item,
    remember_reward,
    rewarded_of_type,
)
from domain.learners import Learner
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
from domain.points import PointsEntry, PointsSource, event_awards
from domain.progress import ContentProgress, advance
from domain.review import review
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


@dataclass(frozen=True, slots=True)
class EventOutcome:
    progress: ContentProgress
    unlocks: tuple[Unlock, ...] = ()
    points: int = 0  # points this event earned, achievements included
    guarded: tuple[GuardReason, ...] = ()  # why the reward guard held some of it back
    credited_seconds: float | None = None  # the time it credited (None: all it claimed)


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
    changed_progress: set[str] = field(default_factory=set)
    changed_skills: set[str] = field(default_factory=set)
    changed_days: set[date] = field(default_factory=set)
    changed_weeks: set[date] = field(default_factory=set)
    new_unlocks: list[Unlock] = field(default_factory=list)
    new_points: list[PointsEntry] = field(default_factory=list)

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
        if verdict.rewarded and is_evidence(event):
            after = replace(
                after,
                rewarded_at=remember_on_item(before.rewarded_at, event.type, event.occurred_at),
            )

        self.days[when.day] = add_to_rollup(rollup, credited, item, when.hour)
        self.changed_days.add(when.day)
        monday = week_of(when.day)
        week = self.weeks.get(monday) or DailyRollup(learner_id=learner_id, day=monday)
        self.weeks[monday] = add_to_rollup(week, credited, item, when.hour)
        self.changed_weeks.add(monday)

        self.totals = add_to_totals(
            self.totals,
            credited,
            certification=item.certification,
            before=before,
            after=after,
            day=when.day,
            mastered_change=self._practise_skills(credited, item, rules, correct),
        )

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

        unlocks = self._unlock(event, rules.achievements, recorded_at)
        earned += sum(unlock.points for unlock in unlocks)
        return EventOutcome(
            progress=after,
            unlocks=unlocks,
            points=earned,
            guarded=verdict.reasons,
            credited_seconds=None
            if verdict.credited_seconds == event.time_spent_seconds
            else verdict.credited_seconds,
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
        if verdict.rewarded and (earns_points or is_evidence(event)):
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
        return change
