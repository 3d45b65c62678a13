"""Learning analytics use cases: reviews due, the next best items, at-risk detection, trends,
patterns, charts and learning curves.

All of them read derived state: progress documents (with their review cards), skill states,
daily rollups and totals, the catalog. Weekly and monthly series are sums of daily rollups, so
their cost follows the range asked for, not the learner's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.activity import DailyRollup, local_time, week_of
from domain.catalog import ContentItem
from domain.curves import LearningCurve, learning_curve
from domain.errors import InvalidInput
from domain.learners import Learner
from domain.progress import ContentProgress, ProgressFilter, ProgressStatus
from domain.review import recall_probability
from domain.risk import ExamOutlook, RiskReason, RiskSettings, assess_risk
from domain.suggestions import DueItem, Suggestion, WeakDomainItems, suggest
from domain.totals import LearnerTotals, streak_from
from domain.trends import (
    Forecast,
    HeatmapDay,
    LearningPatterns,
    Period,
    SeriesPoint,
    TargetPoint,
    forecast_completion,
    heatmap,
    patterns,
    progress_against_target,
    series,
    weekly_series,
)
from persistence.loaders import ActivityKey, Loaders, ProgressPageKey
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.paths import learner_paths
from resolvers.readiness import ActionKind, readiness_of
from resolvers.reading import check_page_size

NEXT_UP_PER_CERTIFICATION = 3
FORECAST_WINDOW_DAYS = 28
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
    streak = streak_from(totals or LearnerTotals(learner.id), today=today, local_hour=0)
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


# --- trends, patterns and charts, from daily rollups -------------------------------------------

MAX_SERIES_DAYS = 731  # two years: 104 weeks or 24 months
MAX_PATTERN_DAYS = 366
CURVE_DAYS = 365
TREND_DEFAULT_DAYS = 84  # 12 weeks
_HOURS = frozenset({"byHour"})
_CERTIFICATIONS = frozenset({"byCertification"})
_SERIES = frozenset({"byCategory", "byDifficulty", "byCertification"})  # all a series shows


def _window(
    learner: Learner, now: datetime, first: date | None, last: date | None, *, default_days: int
) -> tuple[date, date]:
    today = local_time(now, learner.time_zone).day
    last = last or today
    first = first or last - timedelta(days=default_days - 1)
    if first > last:
        raise InvalidInput("from", "must not be after 'to'")
    if (last - first).days + 1 > MAX_SERIES_DAYS:
        raise InvalidInput("to", f"the range must span at most {MAX_SERIES_DAYS} days")
    return first, last


def _for_certification(rollups: list[DailyRollup], certification: str) -> list[DailyRollup]:
    """Each day's activity on one certification, as the day's total."""
    return [
        DailyRollup(r.learner_id, r.day, total=r.by_certification[certification])
        for r in rollups
        if certification in r.by_certification
    ]


async def _days(
    loaders: Loaders,
    learner_id: str,
    first: date,
    last: date,
    *,
    detail: bool,
    slices: frozenset[str] | None = None,
) -> list[DailyRollup]:
    return await loaders.activity.load(
        ActivityKey(learner_id, first, last, detail, slices=slices if detail else None)
    )


async def trends(
    access: Access,
    loaders: Loaders,
    learner: Learner,
    *,
    now: datetime,
    period: Period,
    first: date | None,
    last: date | None,
    certification: str | None,
    slices: frozenset[str] | None = None,
) -> list[SeriesPoint]:
    """Daily, weekly (ISO weeks) or monthly series of the learner's local calendar; by default
    the last 12 weeks, at most two years. Weeks come from weekly rollups (whole weeks), days and
    months from daily rollups. `slices`: the breakdowns wanted (None: all), read alone."""
    await access.require_read(learner.id)
    first, last = _window(learner, now, first, last, default_days=TREND_DEFAULT_DAYS)
    if certification is not None:
        slices = frozenset({"byCertification"})  # a certification's series reads only that
    if period is Period.WEEK:
        weeks = await loaders.weeks.load(
            ActivityKey(
                learner.id,
                week_of(first),
                week_of(last),
                detail=True,
                slices=_SERIES if slices is None else slices,
            )
        )
        totals = await loaders.totals.load(learner.id)
        return weekly_series(
            weeks,
            first=first,
            last=last,
            active_runs=totals.active_days if totals else (),
            certification=certification,
        )
    rollups = await _days(loaders, learner.id, first, last, detail=True, slices=slices)
    return series(rollups, period=period, first=first, last=last, certification=certification)


async def patterns_of(
    access: Access, loaders: Loaders, learner: Learner, *, now: datetime, days: int
) -> LearningPatterns:
    """When the learner studies, over their last `days` local days (at most 366)."""
    await access.require_read(learner.id)
    if not 1 <= days <= MAX_PATTERN_DAYS:
        raise InvalidInput("days", f"must be between 1 and {MAX_PATTERN_DAYS}")
    first, last = _window(learner, now, None, None, default_days=days)
    hours = await _days(loaders, learner.id, first, last, detail=True, slices=_HOURS)
    return patterns(hours, first=first, last=last)


async def heatmap_of(
    access: Access, loaders: Loaders, learner: Learner, *, now: datetime, days: int
) -> list[HeatmapDay]:
    """Minutes per day and their intensity band, for the last `days` days (at most 366)."""
    await access.require_read(learner.id)
    if not 1 <= days <= MAX_PATTERN_DAYS:
        raise InvalidInput("days", f"must be between 1 and {MAX_PATTERN_DAYS}")
    first, last = _window(learner, now, None, None, default_days=days)
    rollups = await _days(loaders, learner.id, first, last, detail=False)
    return heatmap(rollups, last=last, days=days)


async def target_line(
    access: Access,
    loaders: Loaders,
    learner: Learner,
    *,
    now: datetime,
    goal: int,
    target_date: date,
    first: date | None,
    certification: str | None,
) -> list[TargetPoint]:
    """Items completed so far, day by day from `first` (default: 30 days ago) to today,
    against a straight line to `goal` items by `target_date`."""
    await access.require_read(learner.id)
    first, last = _window(learner, now, first, None, default_days=30)
    rollups = await _days(
        loaders, learner.id, first, last, detail=certification is not None, slices=_CERTIFICATIONS
    )
    if certification is not None:
        rollups = _for_certification(rollups, certification)
    totals = await loaders.totals.load(learner.id)
    completed_now = totals.tally(certification).items_completed if totals else 0
    in_window = sum(r.total.completions for r in rollups)
    return progress_against_target(
        rollups,
        first=first,
        last=last,
        start_completed=max(0, completed_now - in_window),
        goal=goal,
        target_date=target_date,
    )


async def completion_forecast(
    access: Access, loaders: Loaders, learner: Learner, *, now: datetime, certification: str
) -> Forecast:
    """When the learner will have completed the certification's items at their recent pace."""
    await access.require_read(learner.id)
    today = local_time(now, learner.time_zone).day
    first = today - timedelta(days=FORECAST_WINDOW_DAYS - 1)
    rollups = _for_certification(
        await _days(loaders, learner.id, first, today, detail=True, slices=_CERTIFICATIONS),
        certification,
    )
    counts = await loaders.catalog_counts.load("catalog")
    totals = await loaders.totals.load(learner.id)
    done = totals.tally(certification).items_completed if totals else 0
    remaining = max(0, counts.items_in(certification) - done)
    return forecast_completion(
        rollups, today=today, remaining=remaining, window_days=FORECAST_WINDOW_DAYS
    )


async def curve_of(
    access: Access, loaders: Loaders, learner: Learner, *, now: datetime
) -> LearningCurve:
    """The learner's score progression over the last year, fitted (`domain.curves`)."""
    await access.require_read(learner.id)
    first, last = _window(learner, now, None, None, default_days=CURVE_DAYS)
    return learning_curve(await _days(loaders, learner.id, first, last, detail=False))
