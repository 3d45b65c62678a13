"""Certification use cases: the catalog's certifications and a learner's readiness."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.access import Forbidden, Role
from domain.certifications import Certification, CertificationLevel, ExamDomain, StudyHours
from domain.errors import InvalidInput
from domain.events import EventType
from domain.readiness import Confidence
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.catalog import upsert_content, upsert_skills
from resolvers.readiness import (
    ActionKind,
    certifications,
    readiness_by_certification,
    readiness_for,
    upsert_certifications,
)
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill, viewer

CERT = Certification(
    id="SAA",
    name="Solutions Architect",
    level=CertificationLevel.ASSOCIATE,
    domains=(
        ExamDomain("compute", "Compute", 0.6, ("ec2",)),
        ExamDomain("storage", "Storage", 0.4, ("s3",)),
    ),
    pass_mark=0.72,
    exam_items=20,
    exam_minutes=60,
    study_hours=StudyHours(80, 120),
)


@pytest.fixture
async def catalog(repositories: Repositories) -> None:
    access = admin(repositories)
    await upsert_skills(access, repositories, [skill(), skill(id="s3", name="S3")])
    await upsert_content(
        access,
        repositories,
        [
            content_item(id="ec2-1", title="EC2 basics", skill_ids=("ec2",)),
            content_item(id="ec2-2", title="EC2 pricing", skill_ids=("ec2",)),
            content_item(id="s3-1", title="S3 classes", skill_ids=("s3",)),
        ],
    )
    await upsert_certifications(access, repositories, [CERT])


def as_(repositories: Repositories, user: str, *roles: Role) -> Access:
    return Access(viewer(user, *roles), Loaders(repositories))


async def answers(recorder: Recorder, content_id: str, right: int, wrong: int = 0) -> None:
    """Answers spaced past the reward guard's cooldown, so every one is traced."""
    drafts = [
        draft(
            content_id=content_id,
            correct=n < right,
            score=1.0 if n < right else 0.0,
            occurred_at=NOW - timedelta(hours=n + 1),
        )
        for n in range(right + wrong)
    ]
    await recorder.record_many(drafts, received_at=NOW)


@pytest.mark.usefixtures("catalog")
async def test_any_viewer_reads_the_certifications_and_only_admins_change_them(
    repositories: Repositories,
) -> None:
    learner = as_(repositories, "ada", Role.LEARNER)

    assert [c.id for c in await certifications(learner, Loaders(repositories))] == ["SAA"]
    with pytest.raises(Forbidden):
        await upsert_certifications(learner, repositories, [CERT])


async def test_a_certification_with_an_unknown_skill_is_refused_by_name(
    repositories: Repositories,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await upsert_certifications(admin(repositories), repositories, [CERT])

    assert refused.value.field == "certifications[0].domains[0].skillIds[0]"
    assert await repositories.certifications.all() == []


@pytest.mark.usefixtures("catalog")
async def test_a_batch_naming_one_certification_twice_is_refused(
    repositories: Repositories,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await upsert_certifications(admin(repositories), repositories, [CERT, CERT])

    assert refused.value.field == "certifications[1].id"


@pytest.mark.usefixtures("catalog")
async def test_a_new_learner_is_at_the_prior_with_little_confidence(
    repositories: Repositories,
) -> None:
    found = await readiness_for(
        admin(repositories), Loaders(repositories), repositories, "ada", "SAA", now=NOW
    )

    assert found is not None
    readiness = found.readiness
    assert readiness.confidence is Confidence.LOW
    assert readiness.pass_probability < 5  # both skills at the prior: 1 % each
    assert readiness.study_hours_left == pytest.approx(100 * 0.9)
    assert [d.domain.id for d in readiness.weak_areas] == ["compute", "storage"]
    # Both domains weak: their unfinished items, named.
    assert [(a.kind, a.content_id) for a in found.actions] == [
        (ActionKind.STUDY_ITEM, "ec2-1"),
        (ActionKind.STUDY_ITEM, "ec2-2"),
        (ActionKind.STUDY_ITEM, "s3-1"),
    ]
    assert "EC2 basics" in found.actions[0].message


@pytest.mark.usefixtures("catalog")
async def test_practice_moves_a_domain_from_weak_to_strong(
    repositories: Repositories, recorder: Recorder
) -> None:
    await answers(recorder, "ec2-1", right=8)

    found = await readiness_for(
        admin(repositories), Loaders(repositories), repositories, "ada", "SAA", now=NOW
    )

    assert found is not None
    readiness = found.readiness
    assert [d.domain.id for d in readiness.strong_areas] == ["compute"]
    assert [d.domain.id for d in readiness.weak_areas] == ["storage"]
    assert {a.domain_id for a in found.actions} == {"storage"}
    assert readiness.study_hours_left < 100 * 0.9 * 0.5


@pytest.mark.usefixtures("catalog")
async def test_a_learner_who_knows_everything_is_told_to_book_the_exam(
    repositories: Repositories, recorder: Recorder
) -> None:
    await answers(recorder, "ec2-1", right=10)
    await answers(recorder, "s3-1", right=10)
    for content_id in ("ec2-1", "ec2-2", "s3-1"):
        await recorder.record_one(
            draft(content_id=content_id, type=EventType.COMPLETED, score=None, correct=None),
            received_at=NOW,
        )

    found = await readiness_for(
        admin(repositories), Loaders(repositories), repositories, "ada", "SAA", now=NOW
    )

    assert found is not None
    assert found.readiness.pass_probability > 80
    assert [a.kind for a in found.actions] == [ActionKind.BOOK_EXAM]


@pytest.mark.usefixtures("catalog")
async def test_an_unknown_certification_is_none_and_a_stranger_is_refused(
    repositories: Repositories,
) -> None:
    loaders = Loaders(repositories)

    assert (
        await readiness_for(admin(repositories), loaders, repositories, "ada", "DVA", now=NOW)
        is None
    )
    with pytest.raises(Forbidden):
        await readiness_for(
            as_(repositories, "bob", Role.LEARNER), loaders, repositories, "ada", "SAA", now=NOW
        )
    with pytest.raises(Forbidden):
        await readiness_by_certification(
            as_(repositories, "bob", Role.LEARNER), loaders, repositories, "ada", now=NOW
        )


@pytest.mark.usefixtures("catalog")
async def test_readiness_is_given_for_every_certification_of_the_catalog(
    repositories: Repositories,
) -> None:
    found = await readiness_by_certification(
        as_(repositories, "ada", Role.LEARNER), Loaders(repositories), repositories, "ada", now=NOW
    )

    assert [r.readiness.certification.id for r in found] == ["SAA"]
    assert found[0].readiness.assessed_at == NOW
