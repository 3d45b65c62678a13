"""The pass probability is calibrated: of learners given 70 %, about 70 % pass.

Simulated learners have a true knowledge state per skill that follows BKT's own story: known at
the start with the prior, each answer right with 1 - slip when known and guess when not, and a
skill not yet known learnt after an answer with the learn rate. Their answers are traced through
Cairn's mastery model (`domain.mastery.practise`) and their predicted pass probability computed
(`domain.readiness.pass_probability`); then they sit a simulated exam drawn from their *true*
knowledge. Binned by prediction, predicted and observed pass rates must agree: expected
calibration error at most 0.05 over 3,000 learners.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from domain.certifications import (
    Certification,
    CertificationLevel,
    ExamDomain,
    StudyHours,
    exam_allocation,
)
from domain.mastery import DEFAULT_BKT, new_skill_state, practise
from domain.readiness import SkillEvidence, pass_probability

LEARNERS = 3_000
BINS = 10
START = datetime(2026, 1, 1, tzinfo=UTC)
SAA_LIKE = Certification(
    id="SIM",
    name="Simulated associate exam",
    level=CertificationLevel.ASSOCIATE,
    domains=(
        ExamDomain("secure", "Secure", 0.30, ("iam", "vpc", "kms")),
        ExamDomain("resilient", "Resilient", 0.26, ("elb", "sqs", "route53", "rds")),
        ExamDomain("performing", "High-performing", 0.24, ("ec2", "s3", "dynamodb")),
        ExamDomain("cost", "Cost-optimized", 0.20, ("pricing", "explorer")),
    ),
    pass_mark=0.72,
    exam_items=65,
    exam_minutes=130,
    study_hours=StudyHours(80, 120),
)


def simulate(seed: int = 2026, learners: int = LEARNERS) -> list[tuple[float, bool]]:
    """(predicted pass probability, passed) for each simulated learner."""
    rng = random.Random(seed)
    params = DEFAULT_BKT
    allocation = exam_allocation(SAA_LIKE)
    needed = round(SAA_LIKE.pass_mark * SAA_LIKE.exam_items + 0.5 - 1e-9)
    outcomes = []
    for learner in range(learners):
        effort = rng.uniform(0, 1)  # how much this learner practises
        known: dict[str, bool] = {}
        evidence: dict[str, SkillEvidence] = {}
        for domain in SAA_LIKE.domains:
            for skill in domain.skill_ids:
                is_known = rng.random() < params.prior
                state = new_skill_state(f"sim-{learner}", skill, params)
                answers = rng.randint(0, round(40 * effort))
                for n in range(answers):
                    right = rng.random() < (1 - params.slip if is_known else params.guess)
                    state = practise(
                        state,
                        at=START + timedelta(minutes=n),
                        time_spent_seconds=60,
                        correct=right,
                        score=1.0 if right else 0.0,
                        params=params,
                    )
                    if not is_known:
                        is_known = rng.random() < params.learn
                known[skill] = is_known
                evidence[skill] = SkillEvidence(state.p_known, answers)
        predicted = pass_probability(SAA_LIKE, evidence, params=params)
        score = 0
        for domain in SAA_LIKE.domains:
            for _ in range(allocation[domain.id]):
                skill = rng.choice(domain.skill_ids)
                chance = 1 - params.slip if known[skill] else params.guess
                score += rng.random() < chance
        outcomes.append((predicted, score >= needed))
    return outcomes


def reliability(outcomes: list[tuple[float, bool]]) -> list[tuple[int, float, float]]:
    """Per bin of prediction: (learners, mean prediction, observed pass rate)."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(BINS)]
    for predicted, passed in outcomes:
        bins[min(BINS - 1, int(predicted * BINS))].append((predicted, passed))
    return [
        (len(b), sum(p for p, _ in b) / len(b), sum(1 for _, ok in b if ok) / len(b))
        for b in bins
        if b
    ]


def test_predicted_pass_probabilities_match_observed_pass_rates() -> None:
    outcomes = simulate()
    table = reliability(outcomes)
    ece = sum(n * abs(mean - observed) for n, mean, observed in table) / len(outcomes)
    brier = sum((p - ok) ** 2 for p, ok in outcomes) / len(outcomes)
    passed = sum(1 for _, ok in outcomes if ok) / len(outcomes)

    print(f"\n{len(outcomes)} learners, {passed:.1%} passed; ECE {ece:.4f}, Brier {brier:.4f}")
    print("bin        learners  predicted  observed")
    for n, mean, observed in table:
        low = int(mean * BINS) / BINS
        print(f"{low:.1f}-{low + 1 / BINS:.1f}  {n:>10}  {mean:9.3f}  {observed:8.3f}")
    assert ece <= 0.05
    # The predictions must also discriminate: a constant guess of the pass rate scores
    # passed * (1 - passed); the model must do clearly better.
    assert brier < 0.6 * passed * (1 - passed)
    # And span the range, so the bins above test something.
    assert len(table) >= 8


def test_the_simulation_is_not_trivial() -> None:
    """Some learners practise little and fail, some much and pass: both outcomes are common."""
    outcomes = simulate(seed=7, learners=500)
    rate = sum(1 for _, ok in outcomes if ok) / len(outcomes)

    assert 0.2 < rate < 0.8
