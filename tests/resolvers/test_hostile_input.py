"""Input no client should send: each bad event fails alone, by name, and nothing breaks."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.learners import LearnerChanges
from persistence.repositories import Repositories
from resolvers.learners import upsert_learner
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill


@pytest.fixture(autouse=True)
async def catalog(repositories: Repositories) -> None:
    await repositories.skills.upsert_many([skill()])
    await repositories.content.upsert_many([content_item()])


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("metadata", "rule"),
    [
        ({"note": "half a pair: \ud800"}, "lone surrogate"),
        ({"\udfff": "a key that is not Unicode"}, "lone surrogate"),
        (nested(900), "must not nest deeper"),
    ],
)
async def test_an_event_with_unstorable_metadata_fails_alone_by_name(
    recorder: Recorder, repositories: Repositories, metadata: dict[str, Any], rule: str
) -> None:
    results = await recorder.record_many(
        [draft(event_id="good"), draft(event_id="bad", metadata=metadata)], received_at=NOW
    )

    assert results[0].recorded
    error = results[1].error
    assert isinstance(error, InvalidInput)
    assert error.field == "inputs[1].metadata"
    assert rule in error.rule
    assert await repositories.events.count_for("ada") == 1


async def test_a_display_name_with_a_lone_surrogate_is_refused_by_name(
    repositories: Repositories,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await upsert_learner(
            admin(repositories), repositories, LearnerChanges(id="ada", display_name="Ada \ud83d")
        )

    assert raised.value.field == "input.displayName"
    assert await repositories.learners.find_by_ids(["ada"]) == {}
