"""The read use cases on the fast database: what recorded events imply, read through loaders."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.activity import ActivityBucket, DailyRollup
from domain.catalog import ContentKind
from domain.errors import InvalidInput
from domain.events import EventDraft, EventType
from domain.learners import Learner
from domain.mastery import DEFAULT_BKT, update_knowledge
from domain.progress import ContentProgress, ProgressFilter, ProgressStatus
from domain.totals import Analytics
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.reading import (
    activity_window,
    analytics_by_certification,
    analytics_for,
    daily_activity,
    progress_on,
    progress_page,
    skills_of,
)
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill

ANY = ProgressFilter()
UTC_ADA = Learner(id="ada")
TOKYO_ADA = Learner(id="ada", time_zone="Asia/Tokyo")


def minutes_ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def on(day: int, hour: int = 9) -> datetime:
    """`hour`:00 UTC on `day` March 2026."""
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def loaders(repositories: Repositories) -> Loaders:
    """Fresh loaders, as each request gets: nothing cached from an earlier read."""
    return Loaders(repositories)


async def refused(call: Awaitable[object]) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        await call
    return raised.value


@pytest.fixture(autouse=True)
async def catalog(repositories: Repositories) -> None:
    await repositories.skills.upsert_many([skill(), skill(id="s3", name="S3")])
    await repositories.content.upsert_many(
        [
            content_item(),  # saa-ec2-1, SAA, skill ec2
            content_item(id="saa-s3-1", skill_ids=("s3",), category="S3"),
            content_item(id="saa-lab-1", kind=ContentKind.LAB, skill_ids=()),
            content_item(id="ccp-1", certification="CCP", skill_ids=()),
        ]
    )


async def record(recorder: Recorder, *drafts: EventDraft, received_at: datetime = NOW) -> None:
    results = await recorder.record_many(drafts, received_at=received_at)
    assert all(result.error is None for result in results), results


# analytics_for


async def test_analytics_of_a_learner_without_events_are_empty_against_the_whole_catalog(
    repositories: Repositories,
) -> None:
    assert await analytics_for(admin(repositories), loaders(repositories), "nobody") == Analytics(
        certification=None,
        content_viewed=0,
        questions_answered=0,
        items_completed=0,
        average_score=None,
        time_spent_seconds=0,
        completion_rate=0.0,
        total_events=0,
    )


@pytest.fixture
async def history(recorder: Recorder) -> None:
    """Ada: an SAA answer at 80%, a finished SAA item, a CCP answer at 40%."""
    await record(
        recorder,
        draft(score=0.8, time_spent_seconds=60, occurred_at=minutes_ago(30)),
        draft(
            type=EventType.COMPLETED,
            content_id="saa-s3-1",
            score=None,
            time_spent_seconds=120,
            occurred_at=minutes_ago(20),
        ),
        draft(content_id="ccp-1", score=0.4, time_spent_seconds=30, occurred_at=minutes_ago(10)),
    )


@pytest.mark.usefixtures("history")
async def test_analytics_add_up_what_the_recorded_events_imply(
    repositories: Repositories,
) -> None:
    overall = await analytics_for(admin(repositories), loaders(repositories), "ada")

    assert overall.certification is None
    assert (overall.content_viewed, overall.questions_answered, overall.items_completed) == (
        3,
        2,
        1,
    )
    assert overall.average_score == pytest.approx(60.0)
    assert overall.time_spent_seconds == 210
    assert overall.completion_rate == pytest.approx(25.0)  # 1 of the 4 catalog items
    assert overall.total_events == 3


@pytest.mark.usefixtures("history")
async def test_analytics_of_a_certification_count_only_its_items_against_its_catalog(
    repositories: Repositories,
) -> None:
    saa = await analytics_for(admin(repositories), loaders(repositories), "ada", "SAA")
    ccp = await analytics_for(admin(repositories), loaders(repositories), "ada", "CCP")

    assert (saa.certification, saa.content_viewed, saa.items_completed) == ("SAA", 2, 1)
    assert saa.average_score == pytest.approx(80.0)
    assert saa.completion_rate == pytest.approx(100 / 3)
    assert (ccp.content_viewed, ccp.questions_answered, ccp.items_completed) == (1, 1, 0)
    assert ccp.average_score == pytest.approx(40.0)
    assert ccp.completion_rate == 0.0


@pytest.mark.usefixtures("history")
async def test_analytics_of_one_learner_leave_out_the_others(
    repositories: Repositories, recorder: Recorder
) -> None:
    await record(recorder, draft(learner_id="grace", score=0.1, occurred_at=minutes_ago(5)))

    assert (
        await analytics_for(admin(repositories), loaders(repositories), "ada")
    ).total_events == 3
    grace = await analytics_for(admin(repositories), loaders(repositories), "grace")
    assert grace.total_events == 1
    assert grace.average_score == pytest.approx(10.0)


# analytics_by_certification


async def test_analytics_by_certification_list_every_certification_of_the_catalog_by_name(
    repositories: Repositories,
) -> None:
    rows = await analytics_by_certification(admin(repositories), loaders(repositories), "nobody")

    assert [(row.certification, row.total_events) for row in rows] == [("CCP", 0), ("SAA", 0)]


@pytest.mark.usefixtures("history")
async def test_analytics_by_certification_give_each_certifications_own_numbers(
    repositories: Repositories,
) -> None:
    rows = await analytics_by_certification(admin(repositories), loaders(repositories), "ada")

    by_name = {row.certification: row for row in rows}
    assert list(by_name) == ["CCP", "SAA"]
    assert by_name["SAA"] == await analytics_for(
        admin(repositories), loaders(repositories), "ada", "SAA"
    )
    assert by_name["CCP"] == await analytics_for(
        admin(repositories), loaders(repositories), "ada", "CCP"
    )


async def test_a_certification_left_only_in_the_history_is_still_listed(
    repositories: Repositories, recorder: Recorder
) -> None:
    await repositories.content.upsert_many([content_item(id="dva-1", certification="DVA")])
    await record(recorder, draft(content_id="dva-1", type=EventType.COMPLETED, score=None))
    # The item moves to another certification: DVA no longer has catalog items.
    await repositories.content.upsert_many([content_item(id="dva-1", certification="SAA")])

    rows = await analytics_by_certification(admin(repositories), loaders(repositories), "ada")

    assert [row.certification for row in rows] == ["CCP", "DVA", "SAA"]
    dva = rows[1]
    assert (dva.items_completed, dva.completion_rate) == (1, 0.0)


# progress_page


async def progress_ids(
    repositories: Repositories,
    *,
    where: ProgressFilter = ANY,
    first: int | None = None,
    after: str | None = None,
    learner_id: str = "ada",
) -> tuple[list[str], bool]:
    page = await progress_page(
        admin(repositories),
        loaders(repositories),
        learner_id,
        where=where,
        first=first,
        after=after,
    )
    return [progress.content_id for progress in page.items], page.has_next


@pytest.mark.usefixtures("history")
async def test_a_progress_page_holds_the_learners_items_by_content_id_and_says_more_follow(
    repositories: Repositories,
) -> None:
    assert await progress_ids(repositories, first=2) == (["ccp-1", "saa-ec2-1"], True)


@pytest.mark.usefixtures("history")
async def test_the_next_progress_page_starts_after_the_cursor_and_ends_the_list(
    repositories: Repositories,
) -> None:
    assert await progress_ids(repositories, first=2, after="saa-ec2-1") == (["saa-s3-1"], False)


@pytest.mark.usefixtures("history")
async def test_a_progress_page_after_the_last_item_is_empty_and_says_so(
    repositories: Repositories,
) -> None:
    assert await progress_ids(repositories, first=5, after="saa-s3-1") == ([], False)


@pytest.mark.usefixtures("history")
async def test_a_progress_page_that_takes_exactly_the_rest_says_nothing_follows(
    repositories: Repositories,
) -> None:
    assert await progress_ids(repositories, first=3) == (
        ["ccp-1", "saa-ec2-1", "saa-s3-1"],
        False,
    )


@pytest.mark.usefixtures("history")
async def test_a_progress_page_keeps_to_the_status_and_certification_asked_for(
    repositories: Repositories,
) -> None:
    in_progress = ProgressFilter(status=ProgressStatus.IN_PROGRESS)
    saa_in_progress = ProgressFilter(status=ProgressStatus.IN_PROGRESS, certification="SAA")
    completed = ProgressFilter(status=ProgressStatus.COMPLETED)

    assert await progress_ids(repositories, where=in_progress) == (["ccp-1", "saa-ec2-1"], False)
    assert await progress_ids(repositories, where=saa_in_progress) == (["saa-ec2-1"], False)
    assert await progress_ids(repositories, where=completed) == (["saa-s3-1"], False)
    assert await progress_ids(repositories, learner_id="grace") == ([], False)


async def test_a_progress_page_holds_twenty_items_unless_asked_otherwise(
    repositories: Repositories, recorder: Recorder
) -> None:
    await repositories.content.upsert_many([content_item(id=f"item-{n:02}") for n in range(25)])
    views = [draft(content_id=f"item-{n:02}", type=EventType.VIEWED, score=None) for n in range(25)]
    await record(recorder, *views)

    listed, more = await progress_ids(repositories)

    assert listed == [f"item-{n:02}" for n in range(20)]
    assert more


@pytest.mark.usefixtures("history")
async def test_not_started_lists_the_catalog_items_the_learner_has_not_touched(
    repositories: Repositories,
) -> None:
    not_started = ProgressFilter(status=ProgressStatus.NOT_STARTED)
    page = await progress_page(
        admin(repositories), loaders(repositories), "ada", where=not_started, first=None, after=None
    )

    assert page.items == [ContentProgress("ada", "saa-lab-1", certification="SAA")]
    assert not page.has_next


async def test_not_started_for_a_learner_without_events_pages_through_the_catalog(
    repositories: Repositories,
) -> None:
    not_started = ProgressFilter(status=ProgressStatus.NOT_STARTED)
    saa = ProgressFilter(status=ProgressStatus.NOT_STARTED, certification="SAA")

    assert await progress_ids(repositories, where=not_started, first=2) == (
        ["ccp-1", "saa-ec2-1"],
        True,
    )
    assert await progress_ids(repositories, where=not_started, first=2, after="saa-ec2-1") == (
        ["saa-lab-1", "saa-s3-1"],
        False,
    )
    assert await progress_ids(repositories, where=saa, first=5, after="saa-lab-1") == (
        ["saa-s3-1"],
        False,
    )
    statuses = {
        p.status
        for p in (
            await progress_page(
                admin(repositories),
                loaders(repositories),
                "grace",
                where=not_started,
                first=None,
                after=None,
            )
        ).items
    }
    assert statuses == {ProgressStatus.NOT_STARTED}


@pytest.mark.parametrize("first", [101, 500, -1])
async def test_a_progress_page_refuses_a_size_outside_0_to_100_naming_first(
    repositories: Repositories, first: int
) -> None:
    error = await refused(
        progress_page(
            admin(repositories), loaders(repositories), "ada", where=ANY, first=first, after=None
        )
    )

    assert (error.field, error.rule) == ("first", "must be between 0 and 100")


# progress_on


async def test_progress_on_an_item_never_touched_is_none(repositories: Repositories) -> None:
    assert await progress_on(admin(repositories), loaders(repositories), "ada", "saa-ec2-1") is None


async def test_progress_on_an_item_follows_its_events(
    repositories: Repositories, recorder: Recorder
) -> None:
    await record(
        recorder,
        draft(
            type=EventType.VIEWED, score=None, time_spent_seconds=30, occurred_at=minutes_ago(30)
        ),
        draft(score=0.6, time_spent_seconds=60, occurred_at=minutes_ago(20)),
        draft(score=0.9, time_spent_seconds=60, occurred_at=minutes_ago(10)),
    )

    progress = await progress_on(admin(repositories), loaders(repositories), "ada", "saa-ec2-1")

    assert progress is not None
    assert (progress.status, progress.events, progress.attempts) == (
        ProgressStatus.IN_PROGRESS,
        3,
        2,
    )
    assert (progress.best_score, progress.last_score) == (0.9, 0.9)
    assert progress.time_spent_seconds == 150
    assert (progress.first_activity_at, progress.last_activity_at) == (
        minutes_ago(30),
        minutes_ago(10),
    )
    assert (
        await progress_on(admin(repositories), loaders(repositories), "grace", "saa-ec2-1") is None
    )


# skills_of


async def test_a_learner_without_practice_has_no_skills(repositories: Repositories) -> None:
    assert await skills_of(admin(repositories), loaders(repositories), "ada") == []


async def test_skills_of_pair_each_practised_skill_with_its_definition(
    repositories: Repositories, recorder: Recorder
) -> None:
    await record(
        recorder,
        draft(correct=True, score=0.9, occurred_at=minutes_ago(20)),
        draft(content_id="saa-s3-1", correct=False, score=0.2, occurred_at=minutes_ago(10)),
    )

    views = await skills_of(admin(repositories), loaders(repositories), "ada")

    assert [(view.state.skill_id, view.skill and view.skill.name) for view in views] == [
        ("ec2", "EC2"),
        ("s3", "S3"),
    ]
    ec2, s3 = (view.state for view in views)
    assert ec2.p_known == pytest.approx(0.4)  # one right answer from the 10% prior
    assert s3.p_known == pytest.approx(
        update_knowledge(DEFAULT_BKT.prior, correct=False, params=DEFAULT_BKT)
    )
    assert (ec2.attempts, ec2.correct, s3.attempts, s3.correct) == (1, 1, 1, 0)


async def test_a_practised_skill_without_a_definition_comes_without_one(
    repositories: Repositories, recorder: Recorder
) -> None:
    await repositories.content.upsert_many([content_item(id="x-1", skill_ids=("ghost",))])
    await record(recorder, draft(content_id="x-1", correct=True))

    [view] = await skills_of(admin(repositories), loaders(repositories), "ada")

    assert (view.state.skill_id, view.skill) == ("ghost", None)


# activity_window


def test_the_activity_window_is_by_default_the_last_30_local_days_up_to_today() -> None:
    assert activity_window(UTC_ADA, now=NOW, first=None, last=None) == (
        date(2026, 2, 9),
        date(2026, 3, 10),
    )


def test_the_activity_window_ends_on_the_learners_local_today() -> None:
    late_evening_utc = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # 08:30 on the 11th in Tokyo

    assert activity_window(TOKYO_ADA, now=late_evening_utc, first=None, last=None) == (
        date(2026, 2, 10),
        date(2026, 3, 11),
    )


def test_an_activity_window_given_only_its_last_day_spans_the_30_days_before() -> None:
    assert activity_window(UTC_ADA, now=NOW, first=None, last=date(2026, 1, 31)) == (
        date(2026, 1, 2),
        date(2026, 1, 31),
    )


def test_an_activity_window_given_only_its_first_day_runs_to_today() -> None:
    assert activity_window(UTC_ADA, now=NOW, first=date(2026, 3, 1), last=None) == (
        date(2026, 3, 1),
        date(2026, 3, 10),
    )


def test_an_activity_window_may_be_a_single_day() -> None:
    day = date(2026, 3, 4)
    assert activity_window(UTC_ADA, now=NOW, first=day, last=day) == (day, day)


def test_an_activity_window_starting_after_it_ends_is_refused_naming_from() -> None:
    with pytest.raises(InvalidInput) as raised:
        activity_window(UTC_ADA, now=NOW, first=date(2026, 3, 5), last=date(2026, 3, 4))

    assert (raised.value.field, raised.value.rule) == ("from", "must not be after 'to'")


def test_an_activity_window_of_366_days_is_allowed_and_one_of_367_refused_naming_to() -> None:
    last = date(2026, 3, 10)
    longest = last - timedelta(days=365)

    assert activity_window(UTC_ADA, now=NOW, first=longest, last=last) == (longest, last)
    with pytest.raises(InvalidInput) as raised:
        activity_window(UTC_ADA, now=NOW, first=longest - timedelta(days=1), last=last)
    assert raised.value.field == "to"
    assert "366 days" in raised.value.rule


# daily_activity


async def test_daily_activity_gives_every_day_of_the_range_oldest_first_empty_days_included(
    repositories: Repositories, recorder: Recorder
) -> None:
    await record(
        recorder,
        draft(score=0.5, time_spent_seconds=600, occurred_at=on(8)),
        draft(content_id="saa-s3-1", score=1.0, time_spent_seconds=300, occurred_at=on(10)),
        draft(content_id="ccp-1", score=None, time_spent_seconds=60, occurred_at=on(10, 11)),
    )

    days = await daily_activity(
        admin(repositories),
        loaders(repositories),
        UTC_ADA,
        first=date(2026, 3, 7),
        last=date(2026, 3, 11),
    )

    assert [(d.day, d.total.events) for d in days] == [
        (date(2026, 3, 7), 0),
        (date(2026, 3, 8), 1),
        (date(2026, 3, 9), 0),
        (date(2026, 3, 10), 2),
        (date(2026, 3, 11), 0),
    ]
    assert days[0] == DailyRollup(learner_id="ada", day=date(2026, 3, 7))
    tenth = days[3].total
    assert (tenth.answered, tenth.scored, tenth.time_spent_seconds) == (2, 1, 360)
    assert tenth.average_score == 1.0


async def test_daily_activity_breaks_each_day_down_by_category_hour_and_certification(
    repositories: Repositories, recorder: Recorder
) -> None:
    await record(
        recorder,
        draft(score=0.5, occurred_at=on(10, 9)),
        draft(content_id="ccp-1", score=0.7, occurred_at=on(10, 11)),
    )

    [day] = await daily_activity(
        admin(repositories),
        loaders(repositories),
        UTC_ADA,
        first=date(2026, 3, 10),
        last=date(2026, 3, 10),
    )

    assert {key: b.events for key, b in day.by_category.items()} == {"EC2": 2}
    assert {key: b.events for key, b in day.by_hour.items()} == {9: 1, 11: 1}
    assert {key: b.events for key, b in day.by_certification.items()} == {"SAA": 1, "CCP": 1}


async def test_daily_activity_without_detail_keeps_the_totals_and_drops_the_breakdowns(
    repositories: Repositories, recorder: Recorder
) -> None:
    await record(recorder, draft(score=0.5, time_spent_seconds=60, occurred_at=on(10)))

    [day] = await daily_activity(
        admin(repositories),
        loaders(repositories),
        UTC_ADA,
        first=date(2026, 3, 10),
        last=date(2026, 3, 10),
        detail=False,
    )

    assert day.total == ActivityBucket(
        events=1, time_spent_seconds=60, answered=1, scored=1, score_sum=0.5
    )
    assert (day.by_category, day.by_hour, day.by_certification) == ({}, {}, {})


async def test_daily_activity_counts_events_on_the_learners_local_day(
    repositories: Repositories, recorder: Recorder
) -> None:
    await repositories.learners.create_missing([TOKYO_ADA])
    late_evening_utc = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    await record(recorder, draft(occurred_at=late_evening_utc), received_at=late_evening_utc)

    days = await daily_activity(
        admin(repositories),
        loaders(repositories),
        TOKYO_ADA,
        first=date(2026, 3, 10),
        last=date(2026, 3, 11),
    )

    assert [(d.day, d.total.events) for d in days] == [
        (date(2026, 3, 10), 0),
        (date(2026, 3, 11), 1),
    ]
    assert set(days[1].by_hour) == {8}


async def test_daily_activity_holds_only_the_learners_own_events(
    repositories: Repositories, recorder: Recorder
) -> None:
    await record(recorder, draft(learner_id="grace", occurred_at=on(10)))

    [day] = await daily_activity(
        admin(repositories),
        loaders(repositories),
        UTC_ADA,
        first=date(2026, 3, 10),
        last=date(2026, 3, 10),
    )

    assert day == DailyRollup(learner_id="ada", day=date(2026, 3, 10))
