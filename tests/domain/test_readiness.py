"""Readiness: the exact pass probability and its parts, the readiness score, study hours left,
weak and strong areas, and how confident the assessment is."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from domain.certifications import (
    Certification,
    CertificationLevel,
    ExamDomain,
    StudyHours,
    validate_certification,
)
from domain.mastery import DEFAULT_BKT, BktParams
from domain.readiness import (
    Confidence,
    DomainStanding,
    Readiness,
    SkillEvidence,
    assess,
    binomial,
    convolve,
    domain_scores,
    pass_probability,
    poisson_binomial,
)

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SAA = validate_certification(
    Certification(
        id="SAA",
        name="AWS Certified Solutions Architect - Associate",
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
)
SAA_SKILLS = [skill for domain in SAA.domains for skill in domain.skill_ids]
# By hand: exact shares 19.5, 16.9, 15.6, 13.0; the 2 items left go to remainders .9 and .6.
SAA_ALLOCATION = {"secure": 19, "resilient": 17, "performing": 16, "cost": 13}
SAA_NEEDED = 47  # ceil(0.72 x 65 = 46.8)
FORTY_TO_SIXTY = StudyHours(40, 60)  # typical: 50 hours


def certification(
    weights: Sequence[float],
    *,
    skills_per_domain: int = 1,
    exam_items: int = 20,
    pass_mark: float = 0.7,
    hours: StudyHours = FORTY_TO_SIXTY,
) -> Certification:
    """Domains "a", "b", ... with these weights and skills "a1", "a2", ... (exam of 20 items)."""
    names = "abcdefghijkl"
    return validate_certification(
        Certification(
            id="TEST",
            name="Test certification",
            level=CertificationLevel.FOUNDATIONAL,
            domains=tuple(
                ExamDomain(
                    names[i],
                    f"Domain {names[i]}",
                    weight,
                    tuple(f"{names[i]}{j + 1}" for j in range(skills_per_domain)),
                )
                for i, weight in enumerate(weights)
            ),
            pass_mark=pass_mark,
            exam_items=exam_items,
            exam_minutes=60,
            study_hours=hours,
        )
    )


def known(p_known: Mapping[str, float], answers: int = 0) -> dict[str, SkillEvidence]:
    return {skill: SkillEvidence(p, answers) for skill, p in p_known.items()}


def tail(n: int, p: Fraction, needed: int) -> float:
    """P(Binomial(n, p) >= needed), in exact arithmetic."""
    return float(sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(needed, n + 1)))


def brute_force_count(probabilities: Sequence[float]) -> list[float]:
    """P(exactly k events happen), by enumerating every outcome."""
    distribution = [0.0] * (len(probabilities) + 1)
    for outcome in itertools.product((False, True), repeat=len(probabilities)):
        chance = math.prod(
            p if happened else 1 - p for p, happened in zip(probabilities, outcome, strict=True)
        )
        distribution[sum(outcome)] += chance
    return distribution


def random_probabilities(rng: random.Random, size: int) -> list[float]:
    """Random probabilities, now and then exactly 0 or 1."""
    return [rng.choice([0.0, 1.0, rng.random(), rng.random(), rng.random()]) for _ in range(size)]


# --- poisson_binomial, binomial, convolve ---------------------------------------------------


def test_poisson_binomial_matches_enumerating_every_outcome() -> None:
    rng = random.Random(1)
    for _ in range(200):
        probabilities = random_probabilities(rng, rng.randint(0, 8))

        distribution = poisson_binomial(probabilities)

        assert len(distribution) == len(probabilities) + 1
        assert distribution == pytest.approx(brute_force_count(probabilities), abs=1e-12)
        assert math.fsum(distribution) == pytest.approx(1.0, abs=1e-12)


def test_poisson_binomial_of_no_events_is_certainly_zero() -> None:
    assert poisson_binomial([]) == [1.0]


def test_poisson_binomial_of_equal_probabilities_is_binomial() -> None:
    assert poisson_binomial([0.3] * 12) == pytest.approx(binomial(12, 0.3), abs=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 30, 65, 200])
@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9, 1.0, 0.123])
def test_binomial_is_a_distribution_with_the_binomial_formula(n: int, p: float) -> None:
    distribution = binomial(n, p)

    assert len(distribution) == n + 1
    assert math.fsum(distribution) == pytest.approx(1.0, abs=1e-12)
    exact = Fraction(p)
    expected = [float(math.comb(n, k) * exact**k * (1 - exact) ** (n - k)) for k in range(n + 1)]
    assert distribution == pytest.approx(expected, rel=1e-9, abs=1e-300)
    mean = math.fsum(k * q for k, q in enumerate(distribution))
    variance = math.fsum((k - n * p) ** 2 * q for k, q in enumerate(distribution))
    assert mean == pytest.approx(n * p, abs=1e-9)
    assert variance == pytest.approx(n * p * (1 - p), abs=1e-9)


def test_binomial_matches_enumerating_every_outcome() -> None:
    for n in range(8):
        assert binomial(n, 0.35) == pytest.approx(brute_force_count([0.35] * n), abs=1e-12)


def test_convolve_is_the_distribution_of_the_sum() -> None:
    rng = random.Random(2)
    for _ in range(200):
        left = [rng.random() for _ in range(rng.randint(1, 9))]
        right = [rng.random() for _ in range(rng.randint(1, 9))]
        left = [x / sum(left) for x in left]
        right = [x / sum(right) for x in right]
        if rng.random() < 0.3:  # some impossible values, which convolve skips
            left[rng.randrange(len(left))] = 0.0

        total = convolve(left, right)

        expected = [0.0] * (len(left) + len(right) - 1)
        for (i, a), (j, b) in itertools.product(enumerate(left), enumerate(right)):
            expected[i + j] += a * b
        assert total == pytest.approx(expected, abs=1e-12)
        assert math.fsum(total) == pytest.approx(math.fsum(left) * math.fsum(right), abs=1e-12)


def test_convolve_sums_to_one_and_adds_binomials() -> None:
    total = convolve(binomial(19, 0.4), binomial(13, 0.4))

    assert math.fsum(total) == pytest.approx(1.0, abs=1e-12)
    assert total == pytest.approx(binomial(32, 0.4), abs=1e-12)
    assert convolve([1.0], binomial(5, 0.3)) == pytest.approx(binomial(5, 0.3), abs=1e-15)


# --- domain_scores --------------------------------------------------------------------------


def test_a_domain_fully_known_scores_binomial_with_one_minus_slip() -> None:
    scores = domain_scores([1.0, 1.0, 1.0], 19, DEFAULT_BKT)

    assert scores == pytest.approx(binomial(19, 1 - DEFAULT_BKT.slip), abs=1e-12)


def test_a_domain_not_known_at_all_scores_binomial_with_guess() -> None:
    scores = domain_scores([0.0, 0.0], 13, DEFAULT_BKT)

    assert scores == pytest.approx(binomial(13, DEFAULT_BKT.guess), abs=1e-12)


def test_a_skill_half_known_is_a_mixture_not_half_a_skill() -> None:
    params = BktParams(prior=0.1, learn=0.1, guess=0.25, slip=0.05)

    scores = domain_scores([0.5], 10, params)

    expected = [
        0.5 * a + 0.5 * b for a, b in zip(binomial(10, 0.95), binomial(10, 0.25), strict=True)
    ]
    assert scores == pytest.approx(expected, abs=1e-12)
    assert scores != pytest.approx(binomial(10, 0.5 * 0.95 + 0.5 * 0.25), abs=1e-3)


def test_domain_scores_follow_the_number_of_skills_known() -> None:
    """k of K skills known: each item right with k/K (1 - slip) + (1 - k/K) guess."""
    rng = random.Random(3)
    params = DEFAULT_BKT
    for _ in range(50):
        p_known = random_probabilities(rng, rng.randint(1, 5))
        items = rng.randint(0, 20)

        scores = domain_scores(p_known, items, params)

        expected = [0.0] * (items + 1)
        for outcome in itertools.product((False, True), repeat=len(p_known)):
            chance = math.prod(p if k else 1 - p for p, k in zip(p_known, outcome, strict=True))
            share = sum(outcome) / len(p_known)
            q = share * (1 - params.slip) + (1 - share) * params.guess
            for right, p_right in enumerate(binomial(items, q)):
                expected[right] += chance * p_right
        assert len(scores) == items + 1
        assert scores == pytest.approx(expected, abs=1e-12)
        assert math.fsum(scores) == pytest.approx(1.0, abs=1e-12)


# --- pass_probability -----------------------------------------------------------------------


def test_knowing_everything_passes_with_the_chance_of_binomial_65_0_9_reaching_47() -> None:
    everything = known(dict.fromkeys(SAA_SKILLS, 1.0))
    expected = tail(65, Fraction(9, 10), SAA_NEEDED)

    assert pass_probability(SAA, everything, params=DEFAULT_BKT) == pytest.approx(
        expected, abs=1e-12
    )
    assert 0.99 < expected < 1.0


def test_knowing_nothing_almost_never_passes() -> None:
    nothing = known(dict.fromkeys(SAA_SKILLS, 0.0))

    probability = pass_probability(SAA, nothing, params=DEFAULT_BKT)

    assert probability == pytest.approx(tail(65, Fraction(1, 5), SAA_NEEDED), rel=1e-6)
    assert 0.0 <= probability < 1e-12


@pytest.mark.parametrize(
    ("pass_mark", "items", "needed"),
    [(0.7, 10, 7), (0.29, 100, 29), (0.57, 100, 57), (0.72, 65, 47), (0.35, 20, 7), (1.0, 5, 5)],
)
def test_the_pass_mark_is_reached_at_the_smallest_whole_score_at_or_above_it(
    pass_mark: float, items: int, needed: int
) -> None:
    """pass_mark x items is rounded up, without float noise: 0.29 x 100 needs 29, not 30."""
    single = certification([1.0], exam_items=items, pass_mark=pass_mark)

    probability = pass_probability(single, known({"a1": 1.0}), params=DEFAULT_BKT)

    assert probability == pytest.approx(tail(items, Fraction(9, 10), needed), abs=1e-12)


def test_raising_one_skills_mastery_never_lowers_the_pass_probability() -> None:
    rng = random.Random(4)
    for _ in range(100):
        evidence = known({s: rng.random() for s in SAA_SKILLS})
        before = pass_probability(SAA, evidence, params=DEFAULT_BKT)
        skill = rng.choice(SAA_SKILLS)
        raised = rng.uniform(evidence[skill].p_known, 1.0)

        after = pass_probability(
            SAA, {**evidence, skill: SkillEvidence(raised)}, params=DEFAULT_BKT
        )

        assert after >= before - 1e-12


def test_a_higher_pass_mark_never_raises_the_pass_probability() -> None:
    rng = random.Random(5)
    for _ in range(20):
        evidence = known({s: rng.random() for s in SAA_SKILLS})
        marks = [*sorted(rng.uniform(0.01, 1.0) for _ in range(10)), 1.0]
        chances = [
            pass_probability(replace(SAA, pass_mark=m), evidence, params=DEFAULT_BKT) for m in marks
        ]

        assert all(later <= earlier + 1e-12 for earlier, later in itertools.pairwise(chances))


@pytest.mark.parametrize("params", [DEFAULT_BKT, BktParams(prior=0.35, guess=0.25, slip=0.05)])
def test_a_skill_without_evidence_counts_at_the_prior(params: BktParams) -> None:
    evidence = known({s: 0.8 for s in SAA_SKILLS if s not in ("kms", "rds", "pricing")})
    at_prior = {**evidence, **known(dict.fromkeys(("kms", "rds", "pricing"), params.prior))}

    assert pass_probability(SAA, evidence, params=params) == pass_probability(
        SAA, at_prior, params=params
    )
    assert pass_probability(SAA, {}, params=params) == pass_probability(
        SAA, known(dict.fromkeys(SAA_SKILLS, params.prior)), params=params
    )


def test_evidence_on_skills_outside_the_certification_is_ignored() -> None:
    evidence = known(dict.fromkeys(SAA_SKILLS, 0.7))

    assert pass_probability(
        SAA, {**evidence, **known({"lambda": 1.0})}, params=DEFAULT_BKT
    ) == pass_probability(SAA, evidence, params=DEFAULT_BKT)


def test_the_pass_probability_agrees_with_simulated_exams() -> None:
    """Simulate the model of the module docstring, item by item, and compare."""
    p_known = {
        "iam": 0.95,
        "vpc": 0.8,
        "kms": 0.5,
        "elb": 0.9,
        "sqs": 0.7,
        "route53": 0.95,
        "rds": 0.4,
        "ec2": 0.85,
        "s3": 0.9,
        "dynamodb": 0.6,
        "pricing": 0.75,
        # "explorer": never practised, at the prior
    }
    params = DEFAULT_BKT
    rng = random.Random(2026)
    draw = rng.random
    exams = 200_000
    passed = 0
    for _ in range(exams):
        score = 0
        for domain in SAA.domains:
            # Each skill is known, independently, with its probability...
            chances = [
                1 - params.slip if draw() < p_known.get(skill, params.prior) else params.guess
                for skill in domain.skill_ids
            ]
            # ...and each item tests one of the domain's skills drawn at random.
            items = rng.choices(chances, k=SAA_ALLOCATION[domain.id])
            score += sum([draw() < chance for chance in items])
        passed += score >= SAA_NEEDED

    predicted = pass_probability(SAA, known(p_known), params=params)

    assert 0.2 < predicted < 0.8  # a case where the result is not a foregone conclusion
    assert passed / exams == pytest.approx(predicted, abs=0.01)


# --- assess ---------------------------------------------------------------------------------


def test_the_score_is_the_weighted_mean_chance_of_answering_an_item_right() -> None:
    two = certification([0.75, 0.25], skills_per_domain=2)
    evidence = known({"a1": 0.8, "a2": 0.4, "b1": 0.3, "b2": 0.1})

    readiness = assess(two, evidence, params=DEFAULT_BKT, at=AT)

    # a: mastery 0.6, P(right) = 0.6 x 0.9 + 0.4 x 0.2 = 0.62
    # b: mastery 0.2, P(right) = 0.2 x 0.9 + 0.8 x 0.2 = 0.34
    a, b = readiness.domains
    assert (a.domain, b.domain) == two.domains
    assert (a.mastery, a.p_correct) == pytest.approx((0.6, 0.62))
    assert (b.mastery, b.p_correct) == pytest.approx((0.2, 0.34))
    assert readiness.score == pytest.approx(100 * (0.75 * 0.62 + 0.25 * 0.34))
    assert readiness.score == pytest.approx(55.0)


def test_a_skill_without_evidence_counts_at_the_prior_in_the_score() -> None:
    two = certification([0.5, 0.5], skills_per_domain=2)
    params = BktParams(prior=0.3)

    readiness = assess(two, known({"a1": 0.9, "b1": 0.7}), params=params, at=AT)

    assert [d.mastery for d in readiness.domains] == pytest.approx([0.6, 0.5])


def test_the_pass_probability_is_carried_in_percent() -> None:
    evidence = known({s: 0.85 for s in SAA_SKILLS})

    readiness = assess(SAA, evidence, params=DEFAULT_BKT, at=AT)

    assert readiness.pass_probability == 100 * pass_probability(SAA, evidence, params=DEFAULT_BKT)
    assert 0 < readiness.pass_probability < 100


def test_study_hours_left_scale_the_typical_hours_by_the_weighted_unknown_share() -> None:
    two = certification([0.75, 0.25], skills_per_domain=2, hours=StudyHours(40, 60))
    evidence = known({"a1": 0.8, "a2": 0.4, "b1": 0.3, "b2": 0.1})

    readiness = assess(two, evidence, params=DEFAULT_BKT, at=AT)

    # typical 50 hours x (0.75 x (1 - 0.6) + 0.25 x (1 - 0.2)) = 50 x 0.5
    assert readiness.study_hours_left == pytest.approx(25.0)


def test_no_study_is_left_once_everything_is_known() -> None:
    everything = known(dict.fromkeys(SAA_SKILLS, 1.0), answers=3)

    assert assess(SAA, everything, params=DEFAULT_BKT, at=AT).study_hours_left == 0.0


@pytest.mark.parametrize("params", [DEFAULT_BKT, BktParams(prior=0.3)])
def test_with_nothing_practised_the_typical_hours_less_the_prior_are_left(
    params: BktParams,
) -> None:
    readiness = assess(SAA, {}, params=params, at=AT)

    assert readiness.study_hours_left == pytest.approx(100 * (1 - params.prior))


def test_an_open_study_range_counts_a_quarter_above_its_start() -> None:
    one = certification([1.0], hours=StudyHours(120))

    readiness = assess(one, known({"a1": 0.6}), params=DEFAULT_BKT, at=AT)

    assert readiness.study_hours_left == pytest.approx(150 * 0.4)


WEIGHTS = [0.10, 0.10, 0.30, 0.10, 0.15, 0.10, 0.15]
MASTERY = {"a1": 0.3, "b1": 0.59, "c1": 0.3, "d1": 0.6, "e1": 0.8, "f1": 0.95, "g1": 0.7999}


def standing_ids(areas: Sequence[DomainStanding]) -> list[str]:
    return [area.domain.id for area in areas]


def test_weak_areas_are_under_60_percent_weakest_first_heavier_first_on_ties() -> None:
    readiness = assess(certification(WEIGHTS), known(MASTERY), params=DEFAULT_BKT, at=AT)

    # a and c tie at 0.3: c weighs 0.30, a 0.10. d at exactly 0.6 is not weak.
    assert standing_ids(readiness.weak_areas) == ["c", "a", "b"]


def test_strong_areas_are_from_80_percent_strongest_first() -> None:
    readiness = assess(certification(WEIGHTS), known(MASTERY), params=DEFAULT_BKT, at=AT)

    # e at exactly 0.8 is strong, g at 0.7999 is not.
    assert standing_ids(readiness.strong_areas) == ["f", "e"]


def test_a_domains_mastery_is_the_mean_of_its_skills() -> None:
    two = certification([0.5, 0.5], skills_per_domain=3)
    evidence = known({"a1": 0.9, "a2": 0.6, "a3": 0.45, "b1": 1.0, "b2": 0.9, "b3": 0.8})

    readiness = assess(two, evidence, params=DEFAULT_BKT, at=AT)

    assert [d.mastery for d in readiness.domains] == pytest.approx([0.65, 0.9])
    assert standing_ids(readiness.weak_areas) == []
    assert standing_ids(readiness.strong_areas) == ["b"]


def confidence_of(answers: Sequence[int]) -> Confidence:
    """The confidence of an assessment whose domains (one skill each) have these answers."""
    cert = certification([1 / len(answers)] * len(answers))
    evidence = {
        d.skill_ids[0]: SkillEvidence(0.5, n) for d, n in zip(cert.domains, answers, strict=True)
    }
    return assess(cert, evidence, params=DEFAULT_BKT, at=AT).confidence


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([0, 0, 0, 0], Confidence.LOW),
        ([5, 5, 5, 15], Confidence.HIGH),  # 30 answers, every domain 5
        ([5, 5, 5, 14], Confidence.MEDIUM),  # 29 answers
        ([4, 6, 5, 15], Confidence.MEDIUM),  # 30 answers, but a domain has 4
        ([4, 4, 4, 40], Confidence.LOW),  # plenty of answers, a quarter of the domains covered
        ([5, 5, 0, 0], Confidence.MEDIUM),  # 10 answers, half the domains covered
        ([5, 4, 4, 4], Confidence.LOW),  # 17 answers, a quarter of the domains covered
        ([5, 5, 4, 4], Confidence.MEDIUM),  # half the domains covered
        ([10, 0], Confidence.MEDIUM),  # 10 answers, half the domains covered
        ([9, 0], Confidence.LOW),  # 9 answers
        ([5, 4], Confidence.LOW),  # 9 answers, half the domains covered
        ([5, 5], Confidence.MEDIUM),  # 10 answers, every domain covered, not 30
        ([15, 15], Confidence.HIGH),
        ([15, 14], Confidence.MEDIUM),
        ([30, 4], Confidence.MEDIUM),
        ([20, 4, 0], Confidence.LOW),  # 1 of 3 domains covered is under half
        ([20, 4, 4], Confidence.LOW),
        ([20, 5, 0], Confidence.MEDIUM),  # 2 of 3 domains covered
        ([20, 5, 5], Confidence.HIGH),
        ([9], Confidence.LOW),
        ([10], Confidence.MEDIUM),
        ([29], Confidence.MEDIUM),
        ([30], Confidence.HIGH),
    ],
)
def test_confidence_thresholds(answers: list[int], expected: Confidence) -> None:
    assert confidence_of(answers) == expected


def test_a_domains_answers_add_up_over_its_skills() -> None:
    cert = certification([0.5, 0.5], skills_per_domain=2)
    # Each domain has 2 + 3 = 5 answers, 10 in all.
    covered = {"a1": 2, "a2": 3, "b1": 3, "b2": 2}
    short = {**covered, "b2": 1}

    def rate(answers: Mapping[str, int]) -> Readiness:
        evidence = {skill: SkillEvidence(0.5, n) for skill, n in answers.items()}
        return assess(cert, evidence, params=DEFAULT_BKT, at=AT)

    assert [d.answers for d in rate(covered).domains] == [5, 5]
    assert rate(covered).confidence == Confidence.MEDIUM
    assert [d.answers for d in rate(short).domains] == [5, 4]
    assert rate(short).confidence == Confidence.LOW  # 9 answers
    assert rate({s: 8 for s in covered}).confidence == Confidence.HIGH  # 32 answers


def test_the_assessment_carries_its_certification_and_time() -> None:
    readiness = assess(SAA, {}, params=DEFAULT_BKT, at=AT)

    assert readiness.certification is SAA
    assert readiness.assessed_at == AT
    assert [d.domain for d in readiness.domains] == list(SAA.domains)
    assert readiness.confidence == Confidence.LOW
