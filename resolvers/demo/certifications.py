"""The demo's two certifications in full: exam, domains and weights, study hours (ProCert table).

SAA-C03's domains are the demo skills' `domain`; CCP's technology domain takes the core service
skills, which CCP items also practise (`ec2`, `s3`, `iam` appear in both tracks).
"""

from __future__ import annotations

from domain.achievements import AchievementDefinition, RuleType
from domain.certifications import Certification, CertificationLevel, ExamDomain, StudyHours
from resolvers.demo.catalog import CCP, SAA, SKILLS


def _skills_of(domain_name: str) -> tuple[str, ...]:
    return tuple(skill.id for skill in SKILLS if skill.domain == domain_name)


CERTIFICATIONS: tuple[Certification, ...] = (
    Certification(
        id=SAA,
        name="AWS Certified Solutions Architect - Associate (SAA-C03)",
        level=CertificationLevel.ASSOCIATE,
        domains=(
            ExamDomain(
                "secure",
                "Design Secure Architectures",
                0.30,
                _skills_of("Design Secure Architectures"),
            ),
            ExamDomain(
                "resilient",
                "Design Resilient Architectures",
                0.26,
                _skills_of("Design Resilient Architectures"),
            ),
            ExamDomain(
                "high-performing",
                "Design High-Performing Architectures",
                0.24,
                _skills_of("Design High-Performing Architectures"),
            ),
            ExamDomain(
                "cost-optimized",
                "Design Cost-Optimized Architectures",
                0.20,
                _skills_of("Design Cost-Optimized Architectures"),
            ),
        ),
        pass_mark=0.72,  # 720 of 1,000
        exam_items=50,  # 65 questions, 15 of them unscored
        exam_minutes=130,
        study_hours=StudyHours(80, 120),
        prerequisites=(CCP,),
    ),
    Certification(
        id=CCP,
        name="AWS Certified Cloud Practitioner (CLF-C02)",
        level=CertificationLevel.FOUNDATIONAL,
        domains=(
            ExamDomain("cloud-concepts", "Cloud Concepts", 0.24, _skills_of("Cloud Concepts")),
            ExamDomain(
                "security-compliance",
                "Security and Compliance",
                0.30,
                (*_skills_of("Security and Compliance"), "iam"),
            ),
            ExamDomain(
                "technology", "Cloud Technology and Services", 0.34, ("ec2", "s3", "lambda", "rds")
            ),
            ExamDomain(
                "billing",
                "Billing, Pricing and Support",
                0.12,
                _skills_of("Billing, Pricing and Support"),
            ),
        ),
        pass_mark=0.70,  # 700 of 1,000
        exam_items=50,
        exam_minutes=90,
        study_hours=StudyHours(20, 40),
    ),
)


# Achievements scoped to a certification: they measure that certification's items and domains.
ACHIEVEMENTS: tuple[AchievementDefinition, ...] = (
    AchievementDefinition(
        key="saa-domain-master",
        title="SAA Domain Master",
        description="Mastered every skill of an SAA exam domain",
        icon="🏗️",
        points=150,
        rule=RuleType.SUBJECTS_MASTERED,
        threshold=1,
        certification=SAA,
    ),
    AchievementDefinition(
        key="saa-finisher",
        title="SAA Finisher",
        description="Completed 20 SAA items",
        icon="🎓",
        points=200,
        rule=RuleType.COMPLETIONS,
        threshold=20,
        certification=SAA,
    ),
    AchievementDefinition(
        key="ccp-first-steps",
        title="Cloud Practitioner: First Steps",
        description="Recorded a first Cloud Practitioner activity",
        icon="☁️",
        points=10,
        rule=RuleType.FIRST_EVENT,
        threshold=1,
        certification=CCP,
    ),
)
