"""Certification readiness: how ready a learner is, how likely they are to pass, what to do next.

The pass probability is a model, not a heuristic. Per skill, Bayesian Knowledge Tracing gives
p_s, the probability the learner knows it at their next attempt (`domain.mastery`; a skill never
practised is at the prior). The exam has `exam_items` items shared among the domains by weight
(`exam_allocation`); each item of a domain tests one of its skills, drawn at random, and is right
with 1 - slip when that skill is known and with guess when it is not (BKT's own answer model).
So, in a domain of K skills of which k are known, each item is right with
q(k) = k/K (1 - slip) + (1 - k/K) guess. Skills are known independently, so k follows the
Poisson-binomial distribution of the p_s; given k, the domain's score is Binomial(n, q(k)); the
domain scores are independent and the total is their convolution. The pass probability is
P(total >= ceil(pass_mark * exam_items)), computed exactly. It accounts for the uncertainty of
each p_s (a skill at 0.5 is a coin flip, not half a skill) and for the luck of the draw of items.

Skills with parameters of their own (`Skill.bkt`) enter with their own prior; a domain's items
use the mean slip and guess of its skills.

Calibration: `tests/domain/test_readiness_calibration.py` simulates learners whose true knowledge
follows BKT, traces their answers through `domain.mastery`, sits them the exam and compares.

The readiness score is the expected exam score in percent: the weighted mean of each domain's
P(item right). Study hours left scale the certification's typical study hours (the middle of its
range) by the weighted share of its skills not yet known: sum over domains of
weight x (1 - mean p_s). Weak areas are domains whose mean mastery is under 0.6, strong areas
those at 0.8 or more. Confidence says how much evidence there is: `high` once every domain has
5 answers or more and the certification 30 or more, `medium` once there are 10 answers and half
the domains have 5, `low` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.certifications import Certification, ExamDomain, exam_allocation
from domain.mastery import BktParams

WEAK_BELOW = 0.6
STRONG_FROM = 0.8
DOMAIN_EVIDENCE = 5
HIGH_EVIDENCE = 30
MEDIUM_EVIDENCE = 10


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class SkillEvidence:
    """What readiness needs of one skill: the probability it is known, and the answers seen."""

    p_known: float
    answers: int = 0


@dataclass(frozen=True, slots=True)
class DomainStanding:
    domain: ExamDomain
    mastery: float  # mean probability the domain's skills are known
    p_correct: float  # probability an exam item of the domain is answered right
    answers: int


@dataclass(frozen=True, slots=True)
class Readiness:
    certification: Certification
    score: float  # expected exam score, percent
    pass_probability: float  # percent
    study_hours_left: float
    domains: tuple[DomainStanding, ...]
    confidence: Confidence
    assessed_at: datetime

    @property
    def weak_areas(self) -> list[DomainStanding]:
        weak = [d for d in self.domains if d.mastery < WEAK_BELOW]
        return sorted(weak, key=lambda d: (d.mastery, -d.domain.weight))

    @property
    def strong_areas(self) -> list[DomainStanding]:
        strong = [d for d in self.domains if d.mastery >= STRONG_FROM]
        return sorted(strong, key=lambda d: -d.mastery)


def _domain_params(
    domain: ExamDomain, params: BktParams, skill_params: Mapping[str, BktParams]
) -> BktParams:
    """The domain's answer model: the mean slip and guess of its skills."""
    own = [skill_params.get(s, params) for s in domain.skill_ids]
    return BktParams(
        prior=params.prior,
        learn=params.learn,
        guess=sum(p.guess for p in own) / len(own),
        slip=sum(p.slip for p in own) / len(own),
    )


def _evidence(
    domain: ExamDomain,
    skills: Mapping[str, SkillEvidence],
    params: BktParams,
    skill_params: Mapping[str, BktParams],
) -> list[SkillEvidence]:
    """The evidence on each of the domain's skills; a skill never practised is at its prior."""
    return [
        skills.get(s) or SkillEvidence(skill_params.get(s, params).prior) for s in domain.skill_ids
    ]


def assess(
    certification: Certification,
    skills: Mapping[str, SkillEvidence],
    *,
    params: BktParams,
    at: datetime,
    skill_params: Mapping[str, BktParams] | None = None,
) -> Readiness:
    """The learner's readiness for the certification, from the evidence on its skills."""
    own = skill_params or {}
    standings = []
    for domain in certification.domains:
        evidence = _evidence(domain, skills, params, own)
        mastery = sum(e.p_known for e in evidence) / len(evidence)
        answer = _domain_params(domain, params, own)
        standings.append(
            DomainStanding(
                domain=domain,
                mastery=mastery,
                p_correct=mastery * (1 - answer.slip) + (1 - mastery) * answer.guess,
                answers=sum(e.answers for e in evidence),
            )
        )
    unknown = sum(d.domain.weight * (1 - d.mastery) for d in standings)
    return Readiness(
        certification=certification,
        score=100 * sum(d.domain.weight * d.p_correct for d in standings),
        pass_probability=100
        * pass_probability(certification, skills, params=params, skill_params=own),
        study_hours_left=certification.study_hours.typical * unknown,
        domains=tuple(standings),
        confidence=confidence(standings),
        assessed_at=at,
    )


def confidence(standings: Sequence[DomainStanding]) -> Confidence:
    total = sum(d.answers for d in standings)
    covered = sum(1 for d in standings if d.answers >= DOMAIN_EVIDENCE)
    if total >= HIGH_EVIDENCE and covered == len(standings):
        return Confidence.HIGH
    if total >= MEDIUM_EVIDENCE and covered * 2 >= len(standings):
        return Confidence.MEDIUM
    return Confidence.LOW


def pass_probability(
    certification: Certification,
    skills: Mapping[str, SkillEvidence],
    *,
    params: BktParams,
    skill_params: Mapping[str, BktParams] | None = None,
) -> float:
    """P(exam score >= pass mark), exactly, under the model of the module docstring."""
    own = skill_params or {}
    allocation = exam_allocation(certification)
    total = [1.0]
    for domain in certification.domains:
        known = [e.p_known for e in _evidence(domain, skills, params, own)]
        answer = _domain_params(domain, params, own)
        total = convolve(total, domain_scores(known, allocation[domain.id], answer))
    needed = math.ceil(certification.pass_mark * certification.exam_items - 1e-9)
    return min(1.0, max(0.0, sum(total[needed:])))


def domain_scores(p_known: Sequence[float], items: int, params: BktParams) -> list[float]:
    """The distribution of right answers among `items` items of a domain with these skills."""
    skills = len(p_known)
    scores = [0.0] * (items + 1)
    for k, p_k in enumerate(poisson_binomial(p_known)):
        if p_k == 0.0:
            continue
        share = k / skills
        q = share * (1 - params.slip) + (1 - share) * params.guess
        for right, p_right in enumerate(binomial(items, q)):
            scores[right] += p_k * p_right
    return scores


def poisson_binomial(probabilities: Sequence[float]) -> list[float]:
    """P(exactly k of these independent events happen), for k = 0..len."""
    distribution = [1.0]
    for p in probabilities:
        step = [0.0] * (len(distribution) + 1)
        for k, value in enumerate(distribution):
            step[k] += value * (1 - p)
            step[k + 1] += value * p
        distribution = step
    return distribution


def binomial(n: int, p: float) -> list[float]:
    return [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]


def convolve(left: Sequence[float], right: Sequence[float]) -> list[float]:
    out = [0.0] * (len(left) + len(right) - 1)
    for i, a in enumerate(left):
        if a == 0.0:
            continue
        for j, b in enumerate(right):
            out[i + j] += a * b
    return out
