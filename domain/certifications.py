"""Certifications (tracks) as catalog objects: their exam, domains and the study they need.

A certification's exam has `exam_items` scored items drawn from its domains in proportion to
their weights, and is passed with a scaled score of `pass_mark` (0..1) or more. Each domain names
the skills it covers; content items reach a domain through their skills.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.catalog import check_id, check_text
from domain.errors import InvalidInput

MAX_DOMAINS = 12
MAX_EXAM_ITEMS = 500
WEIGHT_TOLERANCE = 1e-6


class CertificationLevel(StrEnum):
    FOUNDATIONAL = "foundational"
    ASSOCIATE = "associate"
    PROFESSIONAL = "professional"
    SPECIALTY = "specialty"


@dataclass(frozen=True, slots=True)
class ExamDomain:
    id: str
    name: str
    weight: float  # share of the exam, 0..1; a certification's weights sum to 1
    skill_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StudyHours:
    """The study a certification typically needs, in hours (`most` None: "or more")."""

    least: int
    most: int | None = None

    @property
    def typical(self) -> float:
        """The middle of the range; for an open range, a quarter above its start."""
        return (self.least + self.most) / 2 if self.most is not None else self.least * 1.25


@dataclass(frozen=True, slots=True)
class Certification:
    id: str
    name: str
    level: CertificationLevel
    domains: tuple[ExamDomain, ...]
    pass_mark: float  # scaled score needed, 0..1 (SAA: 720 of 1000 -> 0.72)
    exam_items: int  # scored items of an exam
    exam_minutes: int
    study_hours: StudyHours
    prerequisites: tuple[str, ...] = ()  # recommended certifications first

    def domain_of_skill(self) -> dict[str, str]:
        return {skill: domain.id for domain in self.domains for skill in domain.skill_ids}


def validate_certification(value: Certification, prefix: str = "input") -> Certification:
    check_id(value.id, f"{prefix}.id")
    name = check_text(value.name, f"{prefix}.name")
    if not value.domains:
        raise InvalidInput(f"{prefix}.domains", "must hold at least one domain")
    if len(value.domains) > MAX_DOMAINS:
        raise InvalidInput(f"{prefix}.domains", f"must hold at most {MAX_DOMAINS} domains")
    domains = [_domain(d, f"{prefix}.domains[{i}]") for i, d in enumerate(value.domains)]
    _unique([d.id for d in domains], f"{prefix}.domains", "id")
    seen: dict[str, str] = {}
    for i, domain in enumerate(domains):
        for j, skill in enumerate(domain.skill_ids):
            if skill in seen:
                raise InvalidInput(
                    f"{prefix}.domains[{i}].skillIds[{j}]",
                    f"skill '{skill}' is already in domain '{seen[skill]}'",
                )
            seen[skill] = domain.id
    total = sum(d.weight for d in domains)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise InvalidInput(
            f"{prefix}.domains", f"weights must add up to 100 % (they add up to {total:.1%})"
        )
    if not 0.0 < value.pass_mark <= 1.0:
        raise InvalidInput(f"{prefix}.passMark", "must be above 0 and at most 1")
    if not 1 <= value.exam_items <= MAX_EXAM_ITEMS:
        raise InvalidInput(f"{prefix}.examItems", f"must be between 1 and {MAX_EXAM_ITEMS}")
    if not 1 <= value.exam_minutes <= 1_000:
        raise InvalidInput(f"{prefix}.examMinutes", "must be between 1 and 1000")
    hours = value.study_hours
    if hours.least < 1 or (hours.most is not None and hours.most < hours.least):
        raise InvalidInput(
            f"{prefix}.studyHours", "must start at 1 hour or more and not end before it starts"
        )
    for i, prerequisite in enumerate(value.prerequisites):
        check_id(prerequisite, f"{prefix}.prerequisites[{i}]")
        if prerequisite == value.id:
            raise InvalidInput(f"{prefix}.prerequisites[{i}]", "must not be the certification")
    return Certification(
        id=value.id,
        name=name,
        level=value.level,
        domains=tuple(domains),
        pass_mark=value.pass_mark,
        exam_items=value.exam_items,
        exam_minutes=value.exam_minutes,
        study_hours=hours,
        prerequisites=tuple(dict.fromkeys(value.prerequisites)),
    )


def _domain(domain: ExamDomain, prefix: str) -> ExamDomain:
    check_id(domain.id, f"{prefix}.id")
    if not 0.0 < domain.weight <= 1.0:
        raise InvalidInput(f"{prefix}.weight", "must be above 0 and at most 1 (a share)")
    if not domain.skill_ids:
        raise InvalidInput(f"{prefix}.skillIds", "must name at least one skill")
    for j, skill in enumerate(domain.skill_ids):
        check_id(skill, f"{prefix}.skillIds[{j}]")
    _unique(list(domain.skill_ids), f"{prefix}.skillIds", None)
    return ExamDomain(
        id=domain.id,
        name=check_text(domain.name, f"{prefix}.name"),
        weight=domain.weight,
        skill_ids=domain.skill_ids,
    )


def _unique(values: Sequence[str], field: str, key: str | None) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            where = f"{field}[{index}]" + (f".{key}" if key else "")
            raise InvalidInput(where, f"'{value}' appears twice")
        seen.add(value)


def exam_allocation(certification: Certification) -> dict[str, int]:
    """Items per domain: the exam's items shared by weight, largest remainders first."""
    n = certification.exam_items
    exact = {d.id: d.weight * n for d in certification.domains}
    counts = {key: int(value) for key, value in exact.items()}
    left = n - sum(counts.values())
    by_remainder = sorted(exact, key=lambda key: (-(exact[key] - counts[key]), key))
    for key in by_remainder[:left]:
        counts[key] += 1
    return counts
