"""The learner aggregate: folds events into every piece of derived state they touch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from domain.activity import DailyRollup, add_to_rollup, local_time
from domain.catalog import ContentItem
from domain.events import EventType, LearningEvent
from domain.learners import Learner
from domain.mastery import DEFAULT_BKT, BktParams, SkillState, judge_answer, new_skill_state
from domain.mastery import practise as practise_skill
from domain.progress import ContentProgress, advance
from domain.totals import LearnerTotals, add_to_totals

DEFAULT_PASS_THRESHOLD = 0.7


@dataclass
class LearnerRecord:
    """One learner's derived state as loaded for a batch; `record` updates it in memory.

    The caller loads the documents the batch touches (progress of its items, state of their
    skills, rollups of its local days) and writes back the keys listed in the `changed_*` sets.
    """

    learner: Learner
    totals: LearnerTotals
    progress: dict[str, ContentProgress] = field(default_factory=dict)
    skills: dict[str, SkillState] = field(default_factory=dict)
    days: dict[date, DailyRollup] = field(default_factory=dict)
    changed_progress: set[str] = field(default_factory=set)
    changed_skills: set[str] = field(default_factory=set)
    changed_days: set[date] = field(default_factory=set)

    def local_day(self, event: LearningEvent) -> date:
        return local_time(event.occurred_at, self.learner.time_zone).day

    def record(
        self,
        event: LearningEvent,
        item: ContentItem,
        *,
        skill_params: Mapping[str, BktParams],
        pass_threshold: float = DEFAULT_PASS_THRESHOLD,
    ) -> ContentProgress:
        """Applies one event and returns the item's progress after it."""
        learner_id = self.learner.id
        before = self.progress.get(event.content_id) or ContentProgress(
            learner_id=learner_id, content_id=item.id, certification=item.certification
        )
        after = advance(before, event)
        self.progress[item.id] = after
        self.changed_progress.add(item.id)

        when = local_time(event.occurred_at, self.learner.time_zone)
        rollup = self.days.get(when.day) or DailyRollup(learner_id=learner_id, day=when.day)
        self.days[when.day] = add_to_rollup(rollup, event, item, when.hour)
        self.changed_days.add(when.day)

        self.totals = add_to_totals(
            self.totals, event, certification=item.certification, before=before, after=after
        )
        self._practise_skills(event, item, skill_params, pass_threshold)
        return after

    def _practise_skills(
        self,
        event: LearningEvent,
        item: ContentItem,
        skill_params: Mapping[str, BktParams],
        pass_threshold: float,
    ) -> None:
        if not item.skill_ids:
            return
        correct = None
        if event.type is EventType.ANSWERED:
            correct = judge_answer(
                correct=event.correct, score=event.score, pass_threshold=pass_threshold
            )
        for skill_id in item.skill_ids:
            params = skill_params.get(skill_id, DEFAULT_BKT)
            state = self.skills.get(skill_id) or new_skill_state(self.learner.id, skill_id, params)
            self.skills[skill_id] = practise_skill(
                state,
                at=event.occurred_at,
                time_spent_seconds=event.time_spent_seconds,
                correct=correct,
                score=event.score if correct is not None else None,
                params=params,
            )
            self.changed_skills.add(skill_id)
