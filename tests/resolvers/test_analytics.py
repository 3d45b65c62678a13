"""Analytics use cases over recorded events: reviews due, next items, at risk."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.access import Forbidden, Role
from domain.learners import Learner
from domain.risk import RiskKind, RiskSettings
from domain.suggestions import SuggestionReason
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.analytics import at_risk, due_reviews, next_items
from resolvers.catalog import upsert_content, upsert_skills
from resolvers.readiness import upsert_certifications
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill, viewer
from tests.resolvers.test_readiness import CERT

ADA = Learner("ada")


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


def reader(repositories: Repositories) -> tuple[Access, Loaders]:
    return admin(repositories), Loaders(repositories)


@pytest.mark.usefixtures("catalog")
async def test_answered_items_come_due_for_review_with_their_recall(
    repositories: Repositories, recorder: Recorder
) -> None:
    await recorder.record_many(
        [
            draft(content_id="ec2-1", correct=True, occurred_at=NOW - timedelta(days=3)),
            draft(content_id="s3-1", correct=False, occurred_at=NOW - timedelta(days=2)),
        ],
        received_at=NOW,
    )
    access, loaders = reader(repositories)

    due = await due_reviews(access, loaders, repositories, "ada", now=NOW, first=10)
    nothing_yet = await due_reviews(
        access, loaders, repositories, "ada", now=NOW - timedelta(days=3), first=10
    )

    assert [d.progress.content_id for d in due] == ["ec2-1", "s3-1"]  # longest overdue first
    assert all(0 < d.recall < 1 for d in due)
    assert due[0].item is not None and due[0].item.title == "EC2 basics"
    assert nothing_yet == []


@pytest.mark.usefixtures("catalog")
async def test_next_items_put_reviews_first_then_weak_domains(
    repositories: Repositories, recorder: Recorder
) -> None:
    await recorder.record_one(
        draft(content_id="s3-1", correct=False, occurred_at=NOW - timedelta(days=2)),
        received_at=NOW,
    )
    access, loaders = reader(repositories)

    chosen = await next_items(access, loaders, repositories, "ada", now=NOW, first=10)

    assert [(s.item.id, s.reason) for s in chosen] == [
        ("s3-1", SuggestionReason.REVIEW_DUE),
        ("ec2-1", SuggestionReason.WEAK_DOMAIN),
        ("ec2-2", SuggestionReason.WEAK_DOMAIN),
    ]
    assert [s.rank for s in chosen] == [1, 2, 3]


async def test_a_learner_idle_for_a_week_is_at_risk(
    repositories: Repositories, recorder: Recorder
) -> None:
    await upsert_skills(admin(repositories), repositories, [skill()])
    await upsert_content(admin(repositories), repositories, [content_item(id="ec2-1")])
    await recorder.record_one(
        draft(content_id="ec2-1", occurred_at=NOW - timedelta(days=8)), received_at=NOW
    )
    access, loaders = reader(repositories)

    reasons = await at_risk(access, loaders, repositories, ADA, now=NOW, settings=RiskSettings())
    lenient = await at_risk(
        access, loaders, repositories, ADA, now=NOW, settings=RiskSettings(inactive_days=9)
    )

    assert [r.kind for r in reasons] == [RiskKind.INACTIVE]
    assert lenient == []


@pytest.mark.usefixtures("catalog")
async def test_an_exam_soon_with_a_low_pass_probability_is_a_risk(
    repositories: Repositories, recorder: Recorder
) -> None:
    await recorder.record_one(draft(content_id="ec2-1"), received_at=NOW)
    access, loaders = reader(repositories)

    reasons = await at_risk(
        access,
        loaders,
        repositories,
        ADA,
        now=NOW,
        settings=RiskSettings(),
        certification="SAA",
        exam_date=date(2026, 3, 20),
    )

    assert [r.kind for r in reasons] == [RiskKind.LOW_READINESS]


@pytest.mark.usefixtures("catalog")
async def test_analytics_are_refused_to_strangers(repositories: Repositories) -> None:
    stranger = Access(viewer("bob", Role.LEARNER), Loaders(repositories))
    loaders = Loaders(repositories)

    with pytest.raises(Forbidden):
        await due_reviews(stranger, loaders, repositories, "ada", now=NOW, first=5)
    with pytest.raises(Forbidden):
        await next_items(stranger, loaders, repositories, "ada", now=NOW, first=5)
    with pytest.raises(Forbidden):
        await at_risk(stranger, loaders, repositories, ADA, now=NOW, settings=RiskSettings())
