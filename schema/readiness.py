"""Certifications and readiness: the ProCert readiness shape, per learner and certification."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from domain import certifications, readiness
from resolvers import readiness as use_cases

CertificationLevel = strawberry.enum(
    certifications.CertificationLevel, description="How advanced a certification is."
)
ConfidenceLevel = strawberry.enum(
    readiness.Confidence, description="How much evidence a readiness assessment rests on."
)
ReadinessActionKind = strawberry.enum(
    use_cases.ActionKind, description="What a recommended action asks for."
)


@strawberry.type(description="A part of a certification's exam, with its share of the items.")
class ExamDomain:
    domain_id: str
    name: str
    weight: float = strawberry.field(description="Share of the exam, percent.")
    skill_ids: list[str]

    @classmethod
    def from_domain(cls, value: certifications.ExamDomain) -> Self:
        return cls(
            domain_id=value.id,
            name=value.name,
            weight=round(value.weight * 100, 2),
            skill_ids=list(value.skill_ids),
        )


@strawberry.type(description="Typical study for a certification, in hours.")
class StudyHours:
    least: int
    most: int | None = strawberry.field(description='Null: open-ended ("200+").')


@strawberry.type(description="A certification (track): its exam, domains and the study it needs.")
class Certification:
    certification_id: str
    name: str
    level: CertificationLevel  # type: ignore[valid-type]
    domains: list[ExamDomain]
    pass_mark: float = strawberry.field(description="Scaled score needed to pass, percent.")
    exam_items: int = strawberry.field(description="Scored items of an exam.")
    exam_minutes: int
    study_hours: StudyHours
    prerequisites: list[str] = strawberry.field(description="Certifications recommended first.")

    @classmethod
    def from_domain(cls, value: certifications.Certification) -> Self:
        return cls(
            certification_id=value.id,
            name=value.name,
            level=value.level,
            domains=[ExamDomain.from_domain(d) for d in value.domains],
            pass_mark=round(value.pass_mark * 100, 2),
            exam_items=value.exam_items,
            exam_minutes=value.exam_minutes,
            study_hours=StudyHours(least=value.study_hours.least, most=value.study_hours.most),
            prerequisites=list(value.prerequisites),
        )


@strawberry.type(description="A learner's standing on one exam domain.")
class DomainStanding:
    domain_id: str
    name: str
    weight: float = strawberry.field(description="Share of the exam, percent.")
    mastery: float = strawberry.field(
        description="Mean probability the domain's skills are known (BKT), 0..1."
    )
    correct_chance: float = strawberry.field(
        description="Probability of answering one of its exam items right, percent."
    )
    answers: int = strawberry.field(description="Answers seen on its skills.")

    @classmethod
    def from_domain(cls, value: readiness.DomainStanding) -> Self:
        return cls(
            domain_id=value.domain.id,
            name=value.domain.name,
            weight=round(value.domain.weight * 100, 2),
            mastery=value.mastery,
            correct_chance=round(value.p_correct * 100, 2),
            answers=value.answers,
        )


@strawberry.type(description="Something to do next to get ready, named.")
class ReadinessAction:
    kind: ReadinessActionKind  # type: ignore[valid-type]
    message: str
    domain_id: str | None
    content_id: str | None
    estimated_minutes: int | None


@strawberry.type(
    description="How ready a learner is for a certification (README: Readiness). "
    "Computed from their skill mastery when asked."
)
class Readiness:
    certification: Certification
    readiness_score: float = strawberry.field(description="Expected exam score, 0-100.")
    predicted_pass_probability: float = strawberry.field(
        description="Probability of scoring the pass mark or more, 0-100 (calibrated)."
    )
    estimated_study_hours_left: float
    weak_areas: list[DomainStanding] = strawberry.field(
        description="Domains under 60 % mastery, weakest first."
    )
    strong_areas: list[DomainStanding] = strawberry.field(
        description="Domains at 80 % mastery or more."
    )
    domains: list[DomainStanding]
    confidence_level: ConfidenceLevel  # type: ignore[valid-type]
    recommended_actions: list[ReadinessAction]
    assessed_at: datetime

    @classmethod
    def from_domain(cls, value: use_cases.LearnerReadiness) -> Self:
        r = value.readiness
        return cls(
            certification=Certification.from_domain(r.certification),
            readiness_score=round(r.score, 1),
            predicted_pass_probability=round(r.pass_probability, 1),
            estimated_study_hours_left=round(r.study_hours_left, 1),
            weak_areas=[DomainStanding.from_domain(d) for d in r.weak_areas],
            strong_areas=[DomainStanding.from_domain(d) for d in r.strong_areas],
            domains=[DomainStanding.from_domain(d) for d in r.domains],
            confidence_level=r.confidence,
            recommended_actions=[
                ReadinessAction(
                    kind=a.kind,
                    message=a.message,
                    domain_id=a.domain_id,
                    content_id=a.content_id,
                    estimated_minutes=a.estimated_minutes,
                )
                for a in value.actions
            ],
            assessed_at=r.assessed_at,
        )


@strawberry.input(description="An exam domain: its share of the exam and the skills it covers.")
class ExamDomainInput:
    id: str
    name: str
    weight: float = strawberry.field(description="Percent; a certification's add up to 100.")
    skill_ids: list[str]


@strawberry.input(description="Typical study hours; `most` null for open-ended.")
class StudyHoursInput:
    least: int
    most: int | None = None


@strawberry.input(description="A certification to create or replace (admins).")
class CertificationInput:
    id: str
    name: str
    level: CertificationLevel  # type: ignore[valid-type]
    domains: list[ExamDomainInput]
    pass_mark: float = strawberry.field(description="Scaled score needed, percent (SAA: 72).")
    exam_items: int
    exam_minutes: int
    study_hours: StudyHoursInput
    prerequisites: list[str] = strawberry.field(default_factory=list)

    def to_domain(self) -> certifications.Certification:
        return certifications.Certification(
            id=self.id,
            name=self.name,
            level=self.level,
            domains=tuple(
                certifications.ExamDomain(d.id, d.name, d.weight / 100, tuple(d.skill_ids))
                for d in self.domains
            ),
            pass_mark=self.pass_mark / 100,
            exam_items=self.exam_items,
            exam_minutes=self.exam_minutes,
            study_hours=certifications.StudyHours(self.study_hours.least, self.study_hours.most),
            prerequisites=tuple(self.prerequisites),
        )
