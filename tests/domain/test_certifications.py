"""Certifications: the rules a certification must keep, the exam's items per domain, study hours."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace

import pytest

from domain.certifications import (
    MAX_DOMAINS,
    MAX_EXAM_ITEMS,
    Certification,
    CertificationLevel,
    ExamDomain,
    StudyHours,
    exam_allocation,
    validate_certification,
)
from domain.errors import InvalidInput

SECURE = ExamDomain("secure", "Design secure architectures", 0.30, ("iam", "vpc", "kms"))
RESILIENT = ExamDomain("resilient", "Design resilient architectures", 0.26, ("elb", "sqs", "rds"))
PERFORMING = ExamDomain("performing", "Design high-performing architectures", 0.24, ("ec2", "s3"))
COST = ExamDomain("cost", "Design cost-optimized architectures", 0.20, ("pricing", "explorer"))
SAA = Certification(
    id="SAA",
    name="AWS Certified Solutions Architect - Associate",
    level=CertificationLevel.ASSOCIATE,
    domains=(SECURE, RESILIENT, PERFORMING, COST),
    pass_mark=0.72,
    exam_items=65,
    exam_minutes=130,
    study_hours=StudyHours(80, 120),
    prerequisites=("CLF",),
)


def with_domain(index: int, **changes: object) -> Certification:
    """SAA with one domain changed."""
    domains = list(SAA.domains)
    domains[index] = replace(domains[index], **changes)  # type: ignore[arg-type]
    return replace(SAA, domains=tuple(domains))


def refusal(certification: Certification, prefix: str = "input") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_certification(certification, prefix)
    assert caught.value.rule
    return caught.value


def weighted(weights: list[float], exam_items: int, ids: list[str] | None = None) -> Certification:
    """A certification whose domains have these weights (one skill each)."""
    names = ids or [f"d{i:02d}" for i in range(len(weights))]
    domains = tuple(
        ExamDomain(name, f"Domain {name}", weight, (f"skill-{name}",))
        for name, weight in zip(names, weights, strict=True)
    )
    return replace(SAA, domains=domains, exam_items=exam_items)


# --- validate_certification: accepted ---------------------------------------------------------


def test_a_valid_certification_is_accepted_unchanged() -> None:
    assert validate_certification(SAA) == SAA


def test_names_are_stripped() -> None:
    padded = replace(
        with_domain(2, name="  Design high-performing architectures\n"),
        name="  AWS Certified Solutions Architect - Associate\t",
    )

    valid = validate_certification(padded)

    assert valid.name == "AWS Certified Solutions Architect - Associate"
    assert valid.domains[2].name == "Design high-performing architectures"
    assert valid == SAA


@pytest.mark.parametrize(
    "certification",
    [
        replace(SAA, pass_mark=1.0),
        replace(SAA, exam_items=1),
        replace(SAA, exam_items=MAX_EXAM_ITEMS),
        replace(SAA, exam_minutes=1),
        replace(SAA, study_hours=StudyHours(1)),
        replace(SAA, study_hours=StudyHours(100, 100)),
        replace(SAA, prerequisites=()),
        weighted([1.0], 65),
        weighted([1 / MAX_DOMAINS] * MAX_DOMAINS, 65),
    ],
    ids=[
        "pass mark 1",
        "1 item",
        "most items",
        "1 minute",
        "open study range",
        "study range of one value",
        "no prerequisites",
        "one domain of 100 %",
        "most domains",
    ],
)
def test_values_at_the_limits_are_accepted(certification: Certification) -> None:
    assert validate_certification(certification) == certification


def test_duplicate_prerequisites_are_dropped_keeping_their_order() -> None:
    valid = validate_certification(replace(SAA, prerequisites=("CLF", "DVA", "CLF", "DVA", "SOA")))

    assert valid.prerequisites == ("CLF", "DVA", "SOA")


# --- validate_certification: refused, with the field named -------------------------------------


@pytest.mark.parametrize(
    ("certification", "field"),
    [
        (replace(SAA, id="SAA C03"), "input.id"),
        (replace(SAA, id=""), "input.id"),
        (replace(SAA, id="-SAA"), "input.id"),
        (replace(SAA, name="   "), "input.name"),
        (replace(SAA, domains=()), "input.domains"),
        (weighted([1 / (MAX_DOMAINS + 1)] * (MAX_DOMAINS + 1), 65), "input.domains"),
        (with_domain(1, id="secure"), "input.domains[1].id"),
        (with_domain(2, id="high performing"), "input.domains[2].id"),
        (with_domain(3, name=" "), "input.domains[3].name"),
        (with_domain(0, weight=0.0), "input.domains[0].weight"),
        (with_domain(0, weight=-0.3), "input.domains[0].weight"),
        (with_domain(2, weight=1.24), "input.domains[2].weight"),
        (with_domain(2, weight=math.nan), "input.domains[2].weight"),
        (with_domain(3, skill_ids=()), "input.domains[3].skillIds"),
        (with_domain(0, skill_ids=("iam", "vpc", "iam")), "input.domains[0].skillIds[2]"),
        (with_domain(0, skill_ids=("iam", "bad skill")), "input.domains[0].skillIds[1]"),
        (with_domain(1, skill_ids=("iam", "elb")), "input.domains[1].skillIds[0]"),
        (with_domain(3, skill_ids=("pricing", "s3")), "input.domains[3].skillIds[1]"),
        (replace(SAA, pass_mark=0.0), "input.passMark"),
        (replace(SAA, pass_mark=1.01), "input.passMark"),
        (replace(SAA, pass_mark=math.nan), "input.passMark"),
        (replace(SAA, exam_items=0), "input.examItems"),
        (replace(SAA, exam_items=MAX_EXAM_ITEMS + 1), "input.examItems"),
        (replace(SAA, exam_minutes=0), "input.examMinutes"),
        (replace(SAA, exam_minutes=1_001), "input.examMinutes"),
        (replace(SAA, study_hours=StudyHours(0, 10)), "input.studyHours"),
        (replace(SAA, study_hours=StudyHours(0)), "input.studyHours"),
        (replace(SAA, study_hours=StudyHours(120, 80)), "input.studyHours"),
        (replace(SAA, prerequisites=("CLF", "SAA")), "input.prerequisites[1]"),
        (replace(SAA, prerequisites=("CLF", "not an id")), "input.prerequisites[1]"),
        (replace(SAA, prerequisites=("",)), "input.prerequisites[0]"),
    ],
    ids=[
        "id with a space",
        "empty id",
        "id starting with a dash",
        "blank name",
        "no domains",
        "too many domains",
        "duplicate domain id",
        "bad domain id",
        "blank domain name",
        "domain weight 0",
        "negative domain weight",
        "domain weight above 1",
        "domain weight NaN",
        "domain without skills",
        "skill twice in a domain",
        "bad skill id",
        "skill in two domains",
        "skill in two domains, later",
        "pass mark 0",
        "pass mark above 1",
        "pass mark NaN",
        "no exam items",
        "too many exam items",
        "no exam minutes",
        "too many exam minutes",
        "no study hours",
        "no study hours, open range",
        "study range ending before it starts",
        "prerequisite is the certification",
        "bad prerequisite id",
        "empty prerequisite id",
    ],
)
def test_a_broken_rule_is_refused_naming_the_field(
    certification: Certification, field: str
) -> None:
    assert refusal(certification).field == field


def test_the_field_is_named_under_the_given_prefix() -> None:
    error = refusal(with_domain(1, skill_ids=("iam",)), "certifications[3]")

    assert error.field == "certifications[3].domains[1].skillIds[0]"


def test_a_skill_in_two_domains_names_the_domain_that_has_it() -> None:
    error = refusal(with_domain(2, skill_ids=("ec2", "kms")))

    assert error.field == "input.domains[2].skillIds[1]"
    assert "kms" in error.rule
    assert "secure" in error.rule


@pytest.mark.parametrize(
    ("weights", "shown"),
    [
        ([0.30, 0.26, 0.24, 0.10], "90.0%"),
        ([0.30, 0.26, 0.24, 0.30], "110.0%"),
        ([0.5, 0.25], "75.0%"),
    ],
)
def test_weights_not_adding_up_to_100_percent_are_refused_showing_the_sum(
    weights: list[float], shown: str
) -> None:
    error = refusal(weighted(weights, 65))

    assert error.field == "input.domains"
    assert shown in error.rule


def test_weights_may_miss_100_percent_by_a_rounding_error_only() -> None:
    validate_certification(weighted([0.5, 0.5 - 1e-7], 65))
    assert refusal(weighted([0.5, 0.5 - 1e-5], 65)).field == "input.domains"


# --- exam_allocation ------------------------------------------------------------------------


def test_the_saa_exam_is_shared_by_largest_remainders() -> None:
    # Exact shares of 65 items: 19.5, 16.9, 15.6 and 13.0. The floors (19, 16, 15, 13) leave
    # 2 items, which go to the two largest remainders: .9 (resilient) and .6 (performing);
    # secure's .5 comes third, so secure stays at 19.
    assert exam_allocation(SAA) == {"secure": 19, "resilient": 17, "performing": 16, "cost": 13}


def test_random_weights_share_every_item_by_largest_remainders() -> None:
    rng = random.Random(20260310)
    for _ in range(200):
        size = rng.randint(1, MAX_DOMAINS)
        raw = [rng.uniform(0.01, 1.0) for _ in range(size)]
        weights = [value / sum(raw) for value in raw]
        items = rng.randint(1, MAX_EXAM_ITEMS)
        certification = validate_certification(weighted(weights, items))

        counts = exam_allocation(certification)

        assert sum(counts.values()) == items
        assert list(counts) == [d.id for d in certification.domains]
        exact = {d.id: d.weight * items for d in certification.domains}
        for key, count in counts.items():
            assert count in (math.floor(exact[key]), math.floor(exact[key]) + 1)
            assert abs(count - exact[key]) < 1
        remainder = {key: value - math.floor(value) for key, value in exact.items()}
        extra = [key for key in counts if counts[key] > math.floor(exact[key])]
        others = [key for key in counts if key not in extra]
        if extra and others:
            assert min(remainder[key] for key in extra) >= max(remainder[key] for key in others)


def test_tied_remainders_go_to_domains_in_id_order_whatever_their_order() -> None:
    ids = ["delta", "bravo", "charlie", "alpha"]
    for order in itertools.permutations(ids):
        # Each domain's exact share is 1.5 items: one each, then 2 extra items for 4 ties.
        assert exam_allocation(weighted([0.25] * 4, 6, list(order))) == {
            "alpha": 2,
            "bravo": 2,
            "charlie": 1,
            "delta": 1,
        }


def test_fewer_items_than_domains_leave_some_domains_without_items() -> None:
    counts = exam_allocation(weighted([0.125, 0.5, 0.375], 2, ["c", "b", "a"]))

    # Exact shares 0.25, 1.0 and 0.75: b has its item, a has the larger remainder.
    assert counts == {"c": 0, "b": 1, "a": 1}


def test_an_exact_share_gets_no_extra_item() -> None:
    assert exam_allocation(weighted([0.5, 0.25, 0.25], 100)) == {"d00": 50, "d01": 25, "d02": 25}


def test_the_allocation_does_not_depend_on_the_order_of_the_domains() -> None:
    rng = random.Random(7)
    domains = list(SAA.domains)
    for _ in range(20):
        rng.shuffle(domains)
        assert exam_allocation(replace(SAA, domains=tuple(domains))) == exam_allocation(SAA)


# --- StudyHours, domain_of_skill -------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "typical"),
    [
        (StudyHours(80, 120), 100.0),
        (StudyHours(120, None), 150.0),
        (StudyHours(120), 150.0),
        (StudyHours(100, 100), 100.0),
        (StudyHours(1, 2), 1.5),
    ],
)
def test_typical_study_hours(hours: StudyHours, typical: float) -> None:
    assert hours.typical == typical


def test_each_skill_maps_to_its_domain() -> None:
    assert SAA.domain_of_skill() == {
        "iam": "secure",
        "vpc": "secure",
        "kms": "secure",
        "elb": "resilient",
        "sqs": "resilient",
        "rds": "resilient",
        "ec2": "performing",
        "s3": "performing",
        "pricing": "cost",
        "explorer": "cost",
    }
