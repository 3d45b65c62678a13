"""Learning analytics use cases: reviews due, the next best items, and at-risk detection.

All of them read derived state: progress documents (with their review cards), skill states,
daily rollups and totals, the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.activity import local_time
from domain.catalog import ContentItem
from domain.learners import Learner
from domain.progress import ContentProgress, ProgressFilter, ProgressStatus
from domain.review import recall_probability
from domain.risk import ExamOutlook, RiskReason, RiskSettings, assess_risk
from domain.streaks import streak_on
from domain.suggestions import DueItem, Suggestion, WeakDomainItems, suggest
from persistence.loaders import ActivityKey, Loaders, ProgressPageKey
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.paths import learner_paths
from resolvers.readiness import ActionKind, readiness_of
from resolvers.reading import check_page_size

NEXT_UP_PER_CERTIFICATION = 3
RISK_DAYS = 14


@dataclass(frozen=True, slots=True)
class DueReview:
    progress: ContentProgress
    item: ContentItem | None
    recall: float


async def due_reviews(
    access: Access,
    loaders: Loaders,
    repos: Repositories,
    learner_id: str,
    *,
    now: datetime,
    first: int,
) -> list[DueReview]:
    """The learner's items due for review, the longest overdue first."""
    await access.require_read(learner_id)
    return await _due(loaders, repos, learner_id, now=now, limit=check_page_size(first))


async def _due(
    loaders: Loaders, repos: Repositories, learner_id: str, *, now: datetime, limit: int
) -> list[DueReview]:
    rows = await repos.progress.due_for_review(learner_id, now, limit=limit)
    items = await loaders.content.load_many([p.content_id for p in rows])
    return [
        DueReview(p, item, recall_probability(p.review, now) if p.review else 0.0)
        for p, item in zip(rows, items, strict=True)
    ]


async def next_items(
    access: Access,
    loaders: Loaders,
    repos: Repositories,
    learner_id: str,
    *,
    now: datetime,
    first: int,
) -> list[Suggestion]:
    """The next best items (`domain.suggestions`): reviews due, weak domains, then next up:
    the next step of each path of a certification the learner studies, or, for one without a
    path, its first items not started."""
    await access.require_read(learner_id)
    limit = check_page_size(first)
    due = [
        DueItem(entry.item, entry.recall)
        for entry in await _due(loaders, repos, learner_id, now=now, limit=limit)
        if entry.item is not None
    ]
    weak: list[WeakDomainItems] = []
    totals = await loaders.totals.load(learner_id)
    studied = sorted(totals.by_certification) if totals else []
    for certification in await loaders.certifications.load("all"):
        if certification.id not in studied:
            continue
        found = await readiness_of(loaders, repos, learner_id, certification, now=now)
        for standing in found.readiness.weak_areas:
            ids = [
                a.content_id
                for a in found.actions
                if a.kind is ActionKind.STUDY_ITEM
                and a.domain_id == standing.domain.id
                and a.content_id is not None
            ]
            weak_items = [i for i in await loaders.content.load_many(ids) if i is not None]
            weak.append(WeakDomainItems(standing.domain.name, standing.mastery, tuple(weak_items)))
    next_up: list[ContentItem] = []
    on_paths: set[str | None] = set()
    for walked in await learner_paths(access, loaders, learner_id):
        step = walked.progress.next_up
        if walked.path.certification in studied and step is not None:
            on_paths.add(walked.path.certification)
            if step.item_id in walked.items:
                next_up.append(walked.items[step.item_id])
    for certification_id in studied:
        if certification_id in on_paths:
            continue  # its path says what comes next
        page = await loaders.progress_page.load(
            ProgressPageKey(
                learner_id,
                ProgressFilter(ProgressStatus.NOT_STARTED, certification_id),
                None,
                NEXT_UP_PER_CERTIFICATION,
            )
        )
        new_items = await loaders.content.load_many([p.content_id for p in page])
        next_up.extend(item for item in new_items if item is not None)
    return suggest(due=due, weak=weak, next_up=next_up, limit=limit)


async def at_risk(
    access: Access,
    loaders: Loaders,
    repos: Repositories,
    learner: Learner,
    *,
    now: datetime,
    settings: RiskSettings,
    certification: str | None = None,
    exam_date: date | None = None,
) -> list[RiskReason]:
    """Why the learner is at risk (`domain.risk`); empty when they are not. With an exam date
    (and its certification), a low predicted pass probability close to it is a reason too."""
    await access.require_read(learner.id)
    today = local_time(now, learner.time_zone).day
    totals = await loaders.totals.load(learner.id)
    streak = streak_on(totals.active_days if totals else (), today=today, local_hour=0)
    recent = await loaders.activity.load(
        ActivityKey(learner.id, today - timedelta(days=RISK_DAYS - 1), today, detail=False)
    )
    exam = None
    if exam_date is not None and certification is not None:
        found = {c.id: c for c in await loaders.certifications.load("all")}
        if certification in found:
            readiness = await readiness_of(
                loaders, repos, learner.id, found[certification], now=now
            )
            exam = ExamOutlook(exam_date, certification, readiness.readiness.pass_probability)
    return assess_risk(today=today, streak=streak, recent=recent, exam=exam, settings=settings)
