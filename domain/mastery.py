"""Skill mastery by Bayesian Knowledge Tracing (BKT), exact whatever order answers arrive in.

The model. L is the probability the learner knows the skill; it starts at the prior. An answer is
right with P(correct) = L(1-S) + (1-L)G (S slip, G guess); Bayes' rule gives the posterior on
that answer, and the learner may then learn the skill: L' = post + (1 - post) * T. This is
pyBKT's forward pass with the same parameters.

The stable form. In probabilities, about 25 right answers in a row round L to exactly 1.0, and no
number of wrong answers brings it back. So the state holds the log-odds λ = log(L / (1 - L)),
where both steps are additive and lose nothing near certainty:

- evidence: λ_post = λ + log((1-S)/G) for a right answer, λ + log(S/(1-G)) for a wrong one;
- learning: 1 - L' = (1 - post)(1 - T), so the odds become (e^λ_post + T) / (1 - T), that is
  λ' = logaddexp(λ_post, log T) - log1p(-T); with T = 0 this is λ_post exactly.

Degenerate parameters (prior 0 or 1, guess 0, slip 0, learn 1) give λ = ±inf, which is kept as
it is: certainty is a real state and float infinities obey the same formulas. The only NaN the
formulas could produce is an answer that cannot happen (right with G = 0 when surely not known,
wrong with S = 0 when surely known); like dividing by P(answer) = 0, it is no evidence, so λ
stays. The probability L is read back through a sigmoid that never overflows. Parameters are
assumed validated (`BktParams.validate`).

The order. Answers reach us late (offline clients), so each state keeps the most recent answers in
occurredAt order (ties in arrival order), each with its λ after it. An answer in order is one
step from the last λ; a late one is placed where it belongs and only the answers after it are
traced again. Beyond `window` answers the oldest are dropped, their λ kept as `base_log_odds`.
An answer older than the oldest kept one, once some have been dropped, cannot be placed exactly:
it is traced as if it came right before the oldest kept answer, that is from `base_log_odds`.

Mastery. A skill is mastered while L >= MASTERED_AT; `mastered_at` is the time of the answer that
began the current mastered run in occurredAt order, so a late wrong answer can end the run or move
its start. When the run reaches back past the kept answers (the base is mastered too), the previous
`mastered_at` stands if it is no later than the oldest kept answer, else that answer's time.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from domain.errors import InvalidInput

MASTERED_AT = 0.95
DEFAULT_ANSWER_WINDOW = 1000


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


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def logit(p: float) -> float:
    """The log-odds of probability `p` (±inf at 0 and 1)."""
    if p <= 0 or p >= 1:
        return math.inf if p >= 1 else -math.inf
    return math.log(p) - math.log1p(-p)


def _sigmoid(log_odds: float) -> float:
    # exp of a negative number only, so neither branch can overflow.
    if log_odds >= 0:
        return 1 / (1 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1 + odds)


def _log_add_exp(a: float, b: float) -> float:
    high, low = max(a, b), min(a, b)
    if low == -math.inf or high == math.inf:  # else low - high would be inf - inf
        return high
    return high + math.log1p(math.exp(low - high))


class _Rates(NamedTuple):
    """The parameters as log-odds terms, worked out once per update rather than per answer."""

    right: float  # log((1-S)/G): +inf when G = 0
    wrong: float  # log(S/(1-G)): -inf when S = 0
    log_learn: float  # log T
    log_stay: float  # log(1-T): -inf when T = 1


def _rates(params: BktParams) -> _Rates:
    return _Rates(
        right=_log(1 - params.slip) - _log(params.guess),
        wrong=_log(params.slip) - _log(1 - params.guess),
        log_learn=_log(params.learn),
        log_stay=_log(1 - params.learn),
    )


def _step(log_odds: float, correct: bool, rates: _Rates) -> float:
    """One BKT step in log-odds: the evidence of the answer, then the chance to learn."""
    evidence = rates.right if correct else rates.wrong
    posterior = log_odds + evidence
    if math.isnan(posterior):  # ±inf meeting ∓inf: an answer that cannot happen
        posterior = log_odds
    return _log_add_exp(posterior, rates.log_learn) - rates.log_stay


def update_knowledge(p_known: float, *, correct: bool, params: BktParams) -> float:
    """One BKT step: the probability the skill is known after observing an answer."""
    return _sigmoid(_step(logit(p_known), correct, _rates(params)))


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


def _is_mastered_at(log_odds: float) -> bool:
    return is_mastered(_sigmoid(log_odds))


@dataclass(frozen=True, slots=True)
class TracedAnswer:
    """One answer of the trace and the log-odds of knowing the skill right after it."""

    at: datetime
    correct: bool
    log_odds: float


@dataclass(frozen=True, slots=True)
class SkillState:
    """What Cairn knows of one learner's grip on one skill.

    `log_odds` is the log-odds after the last answer in time order (`base_log_odds` when none is
    kept); `answers` the most recent answers, oldest first; `dropped` how many older ones the
    window let go. `mastered_at` is when the current mastered run began, None when not mastered.
    """

    learner_id: str
    skill_id: str
    log_odds: float
    base_log_odds: float
    attempts: int = 0
    correct: int = 0
    scored: int = 0
    score_sum: float = 0.0
    time_spent_seconds: float = 0.0
    last_practised_at: datetime | None = None
    mastered_at: datetime | None = None
    answers: tuple[TracedAnswer, ...] = ()
    dropped: int = 0

    @property
    def p_known(self) -> float:
        return _sigmoid(self.log_odds)

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
    log_odds = logit(params.prior)
    return SkillState(
        learner_id=learner_id, skill_id=skill_id, log_odds=log_odds, base_log_odds=log_odds
    )


def mastery_changed(before: SkillState, after: SkillState) -> int:
    """+1 when `after` gained mastery, -1 when it lost it, 0 otherwise: for a running count."""
    return int(after.mastered) - int(before.mastered)


class _Trace(NamedTuple):
    """The order-dependent part of a SkillState, as one answer leaves it."""

    answers: tuple[TracedAnswer, ...]
    base_log_odds: float
    dropped: int
    mastered_at: datetime | None

    @property
    def log_odds(self) -> float:
        return self.answers[-1].log_odds if self.answers else self.base_log_odds


def practise(
    state: SkillState,
    *,
    at: datetime,
    time_spent_seconds: float,
    correct: bool | None,
    score: float | None,
    params: BktParams,
    window: int = DEFAULT_ANSWER_WINDOW,
) -> SkillState:
    """The state after an answer (`correct` known) or after other practice (`correct` None).

    An answer is placed at `at` among the kept answers, whatever order answers arrive in; at
    most `window` answers are kept.
    """
    if window < 1:
        raise ValueError(f"the answer window must keep at least one answer, not {window}")
    last = state.last_practised_at
    answered = correct is not None
    trace = _Trace(state.answers, state.base_log_odds, state.dropped, state.mastered_at)
    if answered:
        trace = _with_answer(state, at=at, correct=bool(correct), rates=_rates(params))
        trace = _within(trace, window)
    # Built directly rather than with dataclasses.replace: this runs per event and skill.
    return SkillState(
        learner_id=state.learner_id,
        skill_id=state.skill_id,
        log_odds=trace.log_odds,
        base_log_odds=trace.base_log_odds,
        attempts=state.attempts + (1 if answered else 0),
        correct=state.correct + (1 if correct else 0),
        scored=state.scored + (1 if answered and score is not None else 0),
        score_sum=state.score_sum + (score or 0.0 if answered else 0.0),
        time_spent_seconds=state.time_spent_seconds + time_spent_seconds,
        last_practised_at=at if last is None or at > last else last,
        mastered_at=trace.mastered_at,
        answers=trace.answers,
        dropped=trace.dropped,
    )


def _with_answer(state: SkillState, *, at: datetime, correct: bool, rates: _Rates) -> _Trace:
    answers = state.answers
    # After any answer at the same time: equal times keep their order of arrival.
    index = bisect_right(answers, at, key=_time_of)
    if index == len(answers):
        return _appended(state, TracedAnswer(at, correct, _step(state.log_odds, correct, rates)))
    start = answers[index - 1].log_odds if index else state.base_log_odds
    later = [(answer.at, answer.correct) for answer in answers[index:]]
    retraced = answers[:index] + _traced(start, [(at, correct), *later], rates)
    # Before the window trims, so a run that began at an answer about to go is dated exactly.
    mastered_at = _run_start(retraced, state.base_log_odds, previous=state.mastered_at)
    return _Trace(retraced, state.base_log_odds, state.dropped, mastered_at)


def _time_of(answer: TracedAnswer) -> datetime:
    return answer.at


def _appended(state: SkillState, answer: TracedAnswer) -> _Trace:
    # The same as _run_start on the longer trace, without walking back over a long mastered run.
    mastered_at = None
    if _is_mastered_at(answer.log_odds):
        mastered_at = state.mastered_at if state.mastered and state.mastered_at else answer.at
    return _Trace((*state.answers, answer), state.base_log_odds, state.dropped, mastered_at)


def _traced(
    log_odds: float, answers: list[tuple[datetime, bool]], rates: _Rates
) -> tuple[TracedAnswer, ...]:
    traced = []
    for at, correct in answers:
        log_odds = _step(log_odds, correct, rates)
        traced.append(TracedAnswer(at, correct, log_odds))
    return tuple(traced)


def _run_start(
    answers: tuple[TracedAnswer, ...], base_log_odds: float, *, previous: datetime | None
) -> datetime | None:
    """When the mastered run that `answers` end on began; None if they do not end mastered."""
    if not answers or not _is_mastered_at(answers[-1].log_odds):
        return None
    for index in range(len(answers) - 1, 0, -1):
        if not _is_mastered_at(answers[index - 1].log_odds):
            return answers[index].at
    first = answers[0].at
    if not _is_mastered_at(base_log_odds):
        return first
    # The run began before the kept answers: only the previous state can tell when.
    return previous if previous is not None and previous <= first else first


def _within(trace: _Trace, window: int) -> _Trace:
    excess = len(trace.answers) - window
    if excess <= 0:
        return trace
    base_log_odds = trace.answers[excess - 1].log_odds
    return trace._replace(
        answers=trace.answers[excess:], base_log_odds=base_log_odds, dropped=trace.dropped + excess
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
