"""upsert_learner on the fast database: it creates, or changes only the fields it is given."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import InvalidInput
from domain.learners import Learner, LearnerChanges
from persistence.repositories import Repositories
from resolvers.learners import upsert_learner
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill


async def stored(repositories: Repositories, learner_id: str = "ada") -> Learner | None:
    return (await repositories.learners.find_by_ids([learner_id])).get(learner_id)


@pytest.fixture
async def ada(repositories: Repositories) -> Learner:
    return await upsert_learner(
        admin(repositories),
        repositories,
        LearnerChanges(id="ada", display_name="Ada", time_zone="Europe/London"),
    )


async def test_a_new_learner_is_created_with_the_fields_given(
    repositories: Repositories, ada: Learner
) -> None:
    assert ada == Learner(id="ada", display_name="Ada", time_zone="Europe/London")
    assert await stored(repositories) == ada


async def test_a_new_learner_given_only_an_id_has_no_name_and_follows_utc(
    repositories: Repositories,
) -> None:
    created = await upsert_learner(admin(repositories), repositories, LearnerChanges(id="grace"))

    assert created == Learner(id="grace", display_name=None, time_zone="UTC")
    assert await stored(repositories, "grace") == created


async def test_a_new_name_keeps_the_time_zone(repositories: Repositories, ada: Learner) -> None:
    renamed = await upsert_learner(
        admin(repositories), repositories, LearnerChanges(id="ada", display_name="Ada L.")
    )

    assert renamed == Learner(id="ada", display_name="Ada L.", time_zone="Europe/London")
    assert await stored(repositories) == renamed


async def test_a_new_time_zone_keeps_the_name(repositories: Repositories, ada: Learner) -> None:
    moved = await upsert_learner(
        admin(repositories), repositories, LearnerChanges(id="ada", time_zone="Asia/Tokyo")
    )

    assert moved == Learner(id="ada", display_name="Ada", time_zone="Asia/Tokyo")
    assert await stored(repositories) == moved


async def test_clearing_the_name_keeps_the_time_zone(
    repositories: Repositories, ada: Learner
) -> None:
    cleared = await upsert_learner(
        admin(repositories), repositories, LearnerChanges(id="ada", clear_display_name=True)
    )

    assert cleared == Learner(id="ada", display_name=None, time_zone="Europe/London")
    assert await stored(repositories) == cleared


async def test_an_id_alone_leaves_an_existing_learner_as_it_is(
    repositories: Repositories, ada: Learner
) -> None:
    assert await upsert_learner(admin(repositories), repositories, LearnerChanges(id="ada")) == ada
    assert await stored(repositories) == ada


async def test_the_name_is_stored_trimmed(repositories: Repositories) -> None:
    created = await upsert_learner(
        admin(repositories),
        repositories,
        LearnerChanges(id="ada", display_name="  Ada Lovelace \n"),
    )

    assert created.display_name == "Ada Lovelace"
    assert await stored(repositories) == created


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param(LearnerChanges(id="ada", time_zone="Mars/Olympus"), "input.timeZone", id="tz"),
        pytest.param(LearnerChanges(id="ada", time_zone="../../etc/passwd"), "input.timeZone"),
        pytest.param(LearnerChanges(id="ada", display_name="   "), "input.displayName", id="name"),
        pytest.param(
            LearnerChanges(id="ada", display_name="Ada", clear_display_name=True),
            "input.displayName",
            id="name-and-clear",
        ),
        pytest.param(LearnerChanges(id="a b"), "input.id", id="id"),
    ],
)
async def test_a_bad_change_is_refused_naming_the_field_and_stores_nothing(
    repositories: Repositories, changes: LearnerChanges, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await upsert_learner(admin(repositories), repositories, changes)

    assert raised.value.field == field
    assert await stored(repositories, changes.id) is None


async def test_a_bad_change_leaves_an_existing_learner_as_it_was(
    repositories: Repositories, ada: Learner
) -> None:
    with pytest.raises(InvalidInput):
        await upsert_learner(
            admin(repositories),
            repositories,
            LearnerChanges(id="ada", display_name="Ada L.", time_zone="Nowhere"),
        )

    assert await stored(repositories) == ada


async def test_a_learner_first_seen_through_an_event_can_be_named_later(
    repositories: Repositories, recorder: Recorder
) -> None:
    await repositories.skills.upsert_many([skill()])
    await repositories.content.upsert_many([content_item()])
    await recorder.record_one(draft(learner_id="alan"), received_at=NOW)

    named = await upsert_learner(
        admin(repositories), repositories, LearnerChanges(id="alan", display_name="Alan")
    )

    assert named == Learner(id="alan", display_name="Alan", time_zone="UTC")


async def test_a_new_time_zone_applies_to_days_from_the_change_on(
    repositories: Repositories, recorder: Recorder
) -> None:
    await repositories.skills.upsert_many([skill()])
    await repositories.content.upsert_many([content_item(), content_item(id="saa-ec2-2")])
    received = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    await upsert_learner(admin(repositories), repositories, LearnerChanges(id="ada"))
    # 23:10 UTC on 10 March: still the 10th in UTC.
    before = draft(occurred_at=datetime(2026, 3, 10, 23, 10, tzinfo=UTC))
    await recorder.record_one(before, received_at=received)

    await upsert_learner(
        admin(repositories), repositories, LearnerChanges(id="ada", time_zone="Asia/Tokyo")
    )
    # 23:40 UTC on 10 March is 08:40 on 11 March in Tokyo.
    after = draft(content_id="saa-ec2-2", occurred_at=datetime(2026, 3, 10, 23, 40, tzinfo=UTC))
    await recorder.record_one(after, received_at=received)

    days = (await repositories.activity.between(["ada"], date(2026, 3, 9), date(2026, 3, 12)))[
        "ada"
    ]
    assert [(day.day, day.total.events) for day in days] == [
        (date(2026, 3, 10), 1),
        (date(2026, 3, 11), 1),
    ]
    assert set(days[0].by_hour) == {23}
    assert set(days[1].by_hour) == {8}
