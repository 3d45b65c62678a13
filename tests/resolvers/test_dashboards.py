"""The group and admin dashboards' use cases: who may see them, and what they show."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.access import Forbidden, Role
from domain.aggregates import TOTAL
from domain.dashboards import RosterEntry
from domain.errors import InvalidInput
from domain.events import EventType
from domain.groups import GroupChanges
from domain.risk import RiskKind, RiskSchedule, RiskSettings
from domain.suggestions import InterventionKind
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.catalog import upsert_content, upsert_skills
from resolvers.dashboards import (
    GroupDashboard,
    group_at_risk,
    group_dashboard,
    group_members,
    group_overview,
    hardest_items,
    hardest_skills,
    interventions,
    member_cursor,
    system_dashboard,
)
from resolvers.engagement import grant_freezes
from resolvers.groups import add_members, delete_group, remove_members, upsert_group
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill, viewer

RISK = RiskSettings()
ED = viewer("ed", Role.EDUCATOR)


@pytest.fixture
async def school(repositories: Repositories, recorder: Recorder) -> None:
    """class-a (ed): ada active today, bob last seen ten days ago, cy never; dan in no group.
    class-b (eve): bob."""
    access = admin(repositories)
    await upsert_skills(access, repositories, [skill(), skill(id="s3", name="S3")])
    await upsert_content(
        access,
        repositories,
        [
            content_item(id="q1", title="EC2 types", skill_ids=("ec2",)),
            content_item(id="q2", title="S3 classes", skill_ids=("s3",)),
            content_item(id="l1", title="EC2 lesson", skill_ids=("ec2",)),
        ],
    )
    for group_id, educator, members in (
        ("class-a", "ed", ["ada", "bob", "cy"]),
        ("class-b", "eve", ["bob"]),
    ):
        changes = GroupChanges(group_id, name=group_id, educator_ids=frozenset({educator}))
        await upsert_group(access, repositories, changes, now=NOW)
        await add_members(
            access, repositories, group_id, members, now=NOW, aggregation=recorder.aggregation
        )
    ago = NOW - timedelta(days=10)
    await recorder.record_many(
        [
            draft(learner_id="ada", content_id="q1", correct=True, score=1.0, occurred_at=NOW),
            draft(
                learner_id="ada",
                content_id="q2",
                correct=False,
                score=0.2,
                occurred_at=NOW - timedelta(hours=1),
            ),
            draft(
                learner_id="ada",
                content_id="l1",
                type=EventType.VIEWED,
                score=None,
                time_spent_seconds=600,
                occurred_at=NOW - timedelta(hours=2),
            ),
            *(
                draft(
                    learner_id="bob",
                    content_id="q1",
                    correct=n == 2,
                    score=None,
                    occurred_at=ago + timedelta(minutes=10 * n),
                )
                for n in range(3)
            ),
            draft(learner_id="dan", content_id="q2", correct=True, occurred_at=NOW),
        ],
        received_at=NOW,
    )


async def open_dashboard(
    repositories: Repositories,
    recorder: Recorder,
    who: Access | None = None,
    *,
    group_id: str = "class-a",
    first: int = 20,
    after: str | None = None,
) -> GroupDashboard:
    access = who or admin(repositories)
    found = await group_dashboard(
        access,
        recorder.aggregation.projector,
        group_id,
        now=NOW,
        first=first,
        after=after,
        risk=RISK,
    )
    assert found is not None
    return found


def as_viewer(repositories: Repositories, user_id: str, role: Role) -> Access:
    return Access(viewer(user_id, role), Loaders(repositories))


@pytest.mark.usefixtures("school")
async def test_the_groups_educator_admins_and_services_may_open_it(
    repositories: Repositories, recorder: Recorder
) -> None:
    for who in (
        as_viewer(repositories, "ed", Role.EDUCATOR),
        as_viewer(repositories, "root", Role.ADMIN),
        as_viewer(repositories, "ingest", Role.SERVICE),
    ):
        dashboard = await open_dashboard(repositories, recorder, who)
        assert dashboard.group.id == "class-a"


@pytest.mark.usefixtures("school")
@pytest.mark.parametrize(
    ("user_id", "role"),
    [("eve", Role.EDUCATOR), ("pat", Role.PARENT), ("ada", Role.LEARNER), ("bob", Role.LEARNER)],
)
async def test_others_are_refused_whether_or_not_the_group_exists(
    repositories: Repositories, recorder: Recorder, user_id: str, role: Role
) -> None:
    who = as_viewer(repositories, user_id, role)
    for group_id in ("class-a", "no-such-group"):
        with pytest.raises(Forbidden):
            await open_dashboard(repositories, recorder, who, group_id=group_id)


@pytest.mark.usefixtures("school")
async def test_an_unknown_group_is_none_to_an_admin(
    repositories: Repositories, recorder: Recorder
) -> None:
    found = await group_dashboard(
        admin(repositories),
        recorder.aggregation.projector,
        "no-such-group",
        now=NOW,
        first=20,
        after=None,
        risk=RISK,
    )

    assert found is None


@pytest.mark.usefixtures("school")
@pytest.mark.parametrize(
    ("group_id", "first", "after", "field"),
    [
        ("class a", 20, None, "groupId"),
        ("class-a", 101, None, "first"),
        ("class-a", -1, None, "first"),
        ("class-a", 20, "nonsense", "after"),
    ],
)
async def test_bad_arguments_are_refused_by_name(
    repositories: Repositories,
    recorder: Recorder,
    group_id: str,
    first: int,
    after: str | None,
    field: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await open_dashboard(repositories, recorder, group_id=group_id, first=first, after=after)

    assert refused.value.field == field


@pytest.mark.usefixtures("school")
async def test_the_overview_counts_the_members_and_their_week(
    repositories: Repositories, recorder: Recorder
) -> None:
    access = admin(repositories)
    dashboard = await open_dashboard(repositories, recorder)

    summary = await group_overview(access, Loaders(repositories), repositories, dashboard)

    assert summary.members == 3
    assert summary.active_last_7_days == 1  # ada; bob was last seen ten days ago
    assert summary.active_this_week == 1
    assert summary.events_last_7_days == 3
    assert summary.minutes_last_7_days == pytest.approx((60 + 60 + 600) / 60)
    assert summary.average_minutes_per_active_member == pytest.approx(12.0)
    assert summary.at_risk == 2  # bob (inactive) and cy (never active)
    assert summary.completion_rate == 0.0


@pytest.mark.usefixtures("school")
async def test_members_come_at_risk_first_and_page_by_cursor(
    repositories: Repositories, recorder: Recorder
) -> None:
    access, loaders = admin(repositories), Loaders(repositories)
    first_page = await open_dashboard(repositories, recorder, first=2)

    rows, has_next = await group_members(access, loaders, repositories, first_page)
    cursor = rows[-1][0]
    rest, more = await group_members(
        access,
        loaders,
        repositories,
        await open_dashboard(repositories, recorder, first=2, after=cursor),
    )

    assert [row.learner.id for _, row in rows] == ["cy", "bob"]
    assert has_next and not more
    assert [row.learner.id for _, row in rest] == ["ada"]
    cy, bob = (row.standing for _, row in rows)
    assert [r.kind for r in cy.risk_reasons] == [RiskKind.INACTIVE]
    assert bob.last_active == date(2026, 2, 28)
    assert bob.at_risk_since == datetime(2026, 3, 7, tzinfo=UTC)  # seven days after
    ada = rest[0][1].standing
    assert ada.risk_reasons == () and ada.at_risk_since is None
    assert ada.events_last_7_days == 3 and ada.active_days_last_7_days == 1
    assert ada.current_streak == 1


@pytest.mark.usefixtures("school")
async def test_learners_at_risk_come_with_their_reasons_longest_first(
    repositories: Repositories, recorder: Recorder
) -> None:
    dashboard = await open_dashboard(repositories, recorder)

    found = await group_at_risk(
        admin(repositories), Loaders(repositories), repositories, dashboard, 10
    )

    assert [(m.learner.id, m.reasons[0].kind) for m in found] == [
        ("cy", RiskKind.INACTIVE),
        ("bob", RiskKind.INACTIVE),
    ]


@pytest.mark.usefixtures("school")
async def test_concept_difficulty_puts_the_hardest_first(
    repositories: Repositories, recorder: Recorder
) -> None:
    access, loaders = admin(repositories), Loaders(repositories)
    dashboard = await open_dashboard(repositories, recorder)

    items = await hardest_items(access, loaders, repositories, dashboard, 10)
    skills = await hardest_skills(access, loaders, repositories, dashboard, 10)

    assert [(i.difficulty.key, i.difficulty.success_rate) for i in items] == [
        ("q2", 0.0),  # dan's right answer is not the group's
        ("q1", 50.0),
        ("l1", None),
    ]
    q1 = items[1].difficulty
    assert (q1.learners, q1.answered_learners, q1.answers, q1.correct) == (2, 2, 4, 2)
    assert q1.average_attempts == 2.0
    assert items[1].item is not None and items[1].item.title == "EC2 types"
    assert [(s.difficulty.key, s.difficulty.answers) for s in skills] == [("s3", 1), ("ec2", 4)]


@pytest.mark.usefixtures("school")
async def test_interventions_name_the_class_and_the_learners_at_risk(
    repositories: Repositories, recorder: Recorder
) -> None:
    dashboard = await open_dashboard(repositories, recorder)

    found = await interventions(
        admin(repositories), Loaders(repositories), repositories, dashboard, 5
    )

    assert [(i.rank, i.kind, i.learner_id) for i in found] == [
        (1, InterventionKind.RE_ENGAGE, None),
        (2, InterventionKind.REACH_OUT, "cy"),
        (3, InterventionKind.REACH_OUT, "bob"),
    ]
    assert found[0].message.startswith("Only 1 of 3 members studied in the last 7 days")
    assert found[2].message == "Check in with bob: no activity for 10 days."


@pytest.mark.usefixtures("school")
async def test_a_member_who_leaves_takes_their_numbers_along(
    repositories: Repositories, recorder: Recorder
) -> None:
    await remove_members(
        admin(repositories), repositories, "class-a", ["bob"], aggregation=recorder.aggregation
    )
    dashboard = await open_dashboard(repositories, recorder)
    access, loaders = admin(repositories), Loaders(repositories)

    summary = await group_overview(access, loaders, repositories, dashboard)
    items = await hardest_items(access, loaders, repositories, dashboard, 10)
    rows, _ = await group_members(access, loaders, repositories, dashboard)

    assert summary.members == 2
    assert {i.difficulty.key: i.difficulty.answers for i in items} == {"q1": 1, "q2": 1, "l1": 0}
    assert [row.learner.id for _, row in rows] == ["cy", "ada"]


@pytest.mark.usefixtures("school")
async def test_the_admin_dashboard_counts_learners_sessions_badges_and_events(
    repositories: Repositories, recorder: Recorder
) -> None:
    found = await system_dashboard(
        admin(repositories), repositories, recorder.aggregation.projector, now=NOW, days=14
    )
    m = found.metrics

    assert m.dau == 2  # ada and dan
    assert m.mau == 3  # and bob, ten days ago
    assert len(m.daily_active) == 14 and m.daily_active[-1].learners == 2
    assert m.daily_active[-11].day == date(2026, 2, 28) and m.daily_active[-11].learners == 1
    assert m.sessions >= 3
    assert m.events_per_minute.current_minute == 7  # all were received at NOW
    assert m.events_per_minute.last_hour_average == 0
    assert {b.key for b in m.badge_awards} >= {"first-event"}
    assert found.titles["first-event"]
    assert m.weekly_retention[-1].active == 2


@pytest.mark.usefixtures("school")
async def test_the_admin_dashboard_is_for_admins_and_services_only(
    repositories: Repositories, recorder: Recorder
) -> None:
    projector = recorder.aggregation.projector
    for user_id, role in (("ed", Role.EDUCATOR), ("pat", Role.PARENT), ("ada", Role.LEARNER)):
        with pytest.raises(Forbidden):
            await system_dashboard(
                as_viewer(repositories, user_id, role), repositories, projector, now=NOW, days=30
            )
    with pytest.raises(InvalidInput) as refused:
        await system_dashboard(admin(repositories), repositories, projector, now=NOW, days=0)
    assert refused.value.field == "days"
    found = await system_dashboard(
        as_viewer(repositories, "ingest", Role.SERVICE), repositories, projector, now=NOW, days=1
    )
    assert len(found.metrics.daily_active) == 1


def test_a_members_cursor_is_their_place_in_the_order() -> None:
    entry = RosterEntry("ada", RiskSchedule(since=datetime(2026, 3, 7, tzinfo=UTC)))

    assert member_cursor(entry) == "2026-03-07T00:00:00+00:00|ada"


@pytest.mark.usefixtures("school")
async def test_a_deleted_group_takes_its_numbers_along_and_comes_back_empty(
    repositories: Repositories, recorder: Recorder
) -> None:
    access = admin(repositories)
    aggregation = recorder.aggregation
    assert await delete_group(access, repositories, "class-a", aggregation=aggregation)
    await aggregation.projector.drain()

    assert await repositories.dashboards.group_counters("class-a") == {}
    assert await repositories.dashboards.roster("class-a") == []
    changes = GroupChanges("class-a", name="Again", educator_ids=frozenset({"ed"}))
    await upsert_group(access, repositories, changes, now=NOW)
    again = await open_dashboard(repositories, recorder)
    summary = await group_overview(access, Loaders(repositories), repositories, again)
    assert (summary.members, summary.events_last_7_days) == (0, 0)


@pytest.mark.usefixtures("school")
async def test_memberships_changed_without_their_sync_are_reconciled(
    repositories: Repositories, recorder: Recorder
) -> None:
    aggregation = recorder.aggregation
    # As if the process died between a membership change and following it.
    await repositories.groups.add_members("class-a", ["dan"], by="ed", now=NOW)
    await repositories.groups.remove_members("class-a", ["bob"])

    assert await aggregation.reconcile() == 2
    await aggregation.projector.drain()

    members = {entry.learner_id for entry in await repositories.dashboards.roster("class-a")}
    assert members == {"ada", "cy", "dan"}
    totals = (await repositories.dashboards.group_counters("class-a"))[(TOTAL, "")]
    assert totals["members"] == 3
    assert await aggregation.reconcile() == 0


@pytest.mark.usefixtures("school")
async def test_a_projector_that_fails_leaves_the_changes_for_later(
    repositories: Repositories,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    projector = recorder.aggregation.projector
    await projector.drain()

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(repositories.dashboards, "apply", broken)
        await recorder.record_one(draft(learner_id="cy", content_id="q1"), received_at=NOW)
        await asyncio.sleep(0.05)  # the poke's drain runs, and fails
    assert await repositories.dashboards.has_pending()
    assert "stay pending" in caplog.text

    assert await projector.drain() == 1
    assert not await repositories.dashboards.has_pending()


@pytest.mark.usefixtures("school")
async def test_a_freeze_granted_keeps_a_streak_off_the_at_risk_list_as_the_learner_sees_it(
    repositories: Repositories, recorder: Recorder
) -> None:
    # Eli learned four days in a row, up to the day before yesterday: a broken streak today.
    await add_members(
        admin(repositories),
        repositories,
        "class-a",
        ["eli"],
        now=NOW,
        aggregation=recorder.aggregation,
    )
    await recorder.record_many(
        [
            draft(
                learner_id="eli",
                event_id=f"eli-{n}",
                content_id="l1",
                type=EventType.VIEWED,
                score=None,
                occurred_at=NOW - timedelta(days=n),
            )
            for n in range(2, 6)
        ],
        received_at=NOW,
    )

    async def eli_at_risk() -> list[RiskKind]:
        dashboard = await open_dashboard(repositories, recorder)
        found = await group_at_risk(
            admin(repositories), Loaders(repositories), repositories, dashboard, 10
        )
        return [r.kind for m in found if m.learner.id == "eli" for r in m.reasons]

    assert await eli_at_risk() == [RiskKind.STREAK_BROKEN]

    await grant_freezes(
        as_viewer(repositories, "ed", Role.EDUCATOR),
        recorder.aggregation,
        learner_id="eli",
        grant_id="snow-day",
        count=1,
        reason="snow day",
        now=NOW,
    )

    # The freeze covers yesterday: the streak is alive, as eli's own streak says.
    assert await eli_at_risk() == []
    dashboard = await open_dashboard(repositories, recorder)
    rows, _ = await group_members(
        admin(repositories), Loaders(repositories), repositories, dashboard
    )
    (eli,) = (row.standing for _, row in rows if row.learner.id == "eli")
    assert (eli.current_streak, eli.risk_reasons, eli.at_risk_since) == (4, (), None)
