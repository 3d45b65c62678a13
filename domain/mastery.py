"""Skill mastery by Bayesian Knowledge Tracing: an O(1) update per answer.

P(correct) = L(1-S) + (1-L)G; the posterior P(L | answer) follows from Bayes' rule; the learner may
then learn the skill by the transition T: L' = post + (1 - post) * T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import InvalidInput

MASTERED_AT = 0.95


@dataclass(frozen=True, slots=True)
class BktParams:
    prior: float = 0.1
    learn: float = 0.1
    guess: float = 0.2
    slip: float = 0.1

    def validate(self, field_prefix: str) -> BktParams:
        for name in ("prior", "learn", "guess", "slip"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInput(f"{field_prefix}.{name}", "must be between 0 and 1")
        if self.guess + self.slip >= 1.0:
            # Otherwise a correct answer would be evidence *against* knowing the skill.
            raise InvalidInput(f"{field_prefix}.guess", "guess + slip must be below 1")
        return self


DEFAULT_BKT = BktParams()


class MasteryLevel(StrEnum):
    NOVICE = "novice"
    DEVELOPING = "developing"
    PROFICIENT = "proficient"
    MASTERED = "mastered"


def update_knowledge(p_known: float, *, correct: bool, params: BktParams) -> float:
    """One BKT step: the probability the skill is known after observing an answer."""
    slip, guess = params.slip, params.guess
    if correct:
        evidence = p_known * (1 - slip)
        total = evidence + (1 - p_known) * guess
    else:
        evidence = p_known * slip
        total = evidence + (1 - p_known) * (1 - guess)
    posterior = evidence / total if total > 0 else p_known
    return posterior + (1 - posterior) * params.learn


def predict_correct(p_known: float, params: BktParams) -> float:
    return p_known * (1 - params.slip) + (1 - p_known) * params.guess


def mastery_level(p_known: float) -> MasteryLevel:
    if p_known >= MASTERED_AT:
        return MasteryLevel.MASTERED
    if p_known >= 0.7:
        return MasteryLevel.PROFICIENT
    if p_known >= 0.4:
        return MasteryLevel.DEVELOPING
    return MasteryLevel.NOVICE


def is_mastered(p_known: float) -> bool:
    return p_known >= MASTERED_AT


@dataclass(frozen=True, slots=True)
class SkillState:
    """What Cairn knows of one learner's grip on one skill."""

    learner_id: str
    skill_id: str
    p_known: float
    attempts: int = 0
    correct: int = 0
    scored: int = 0
    score_sum: float = 0.0
    time_spent_seconds: float = 0.0
    last_practised_at: datetime | None = None
    mastered_at: datetime | None = None  # first time mastery reached the threshold

    @property
    def average_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None

    @property
    def level(self) -> MasteryLevel:
        return mastery_level(self.p_known)

    @property
    def mastered(self) -> bool:
        return is_mastered(self.p_known)


def new_skill_state(learner_id: str, skill_id: str, params: BktParams) -> SkillState:
    return SkillState(learner_id=learner_id, skill_id=skill_id, p_known=params.prior)


def practise(
    state: SkillState,
    *,
    at: datetime,
    time_spent_seconds: float,
    correct: bool | None,
    score: float | None,
    params: BktParams,
) -> SkillState:
    """The state after an answer (`correct` known) or after other practice (`correct` None)."""
    # Built directly rather than with dataclasses.replace: this runs per event and skill.
    last = state.last_practised_at
    p_known, mastered_at = state.p_known, state.mastered_at
    answered = correct is not None
    if answered:
        p_known = update_knowledge(p_known, correct=bool(correct), params=params)
        if mastered_at is None and is_mastered(p_known):
            mastered_at = at
    return SkillState(
        learner_id=state.learner_id,
        skill_id=state.skill_id,
        p_known=p_known,
        attempts=state.attempts + (1 if answered else 0),
        correct=state.correct + (1 if correct else 0),
        scored=state.scored + (1 if answered and score is not None else 0),
        score_sum=state.score_sum + (score or 0.0 if answered else 0.0),
        time_spent_seconds=state.time_spent_seconds + time_spent_seconds,
        last_practised_at=at if last is None or at > last else last,
        mastered_at=mastered_at,
    )


def judge_answer(
    *, correct: bool | None, score: float | None, pass_threshold: float
) -> bool | None:
    """An answer is correct by its flag or, without one, when its score reaches the threshold."""
    if correct is not None:
        return correct
    if score is not None:
        return score >= pass_threshold
    return None
