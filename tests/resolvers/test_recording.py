from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import IdempotencyConflict, InvalidInput
from domain.events import EventType
from domain.progress import ProgressStatus
from persistence.feed import Feed
from persistence.repositories import Repositories
from persistence.topics import UNLOCKS_FEED
from resolvers.recording import Recorder
from resolvers.services import utc_now
from tests.factories import NOW, content_item, draft, skill


@pytest.fixture(autouse=True)
async def catalog(repositories: Repositories) -> None:
    await repositories.skills.upsert_many([skill()])
    await repositories.content.upsert_many(
        [content_item(), content_item(id="saa-s3-1", skill_ids=("s3",), category="S3")]
    )


async def test_records_an_event_into_progress_skills_rollup_and_totals(
    recorder: Recorder, repositories: Repositories
) -> None:
    result = await recorder.record_one(draft(score=0.9), received_at=NOW)

    assert result.recorded
    assert result.progress is not None
    assert result.progress.status is ProgressStatus.IN_PROGRESS
    assert result.progress.best_score == 0.9
    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.questions_answered == 1
    assert totals.tally("SAA").content_viewed == 1
    [state] = (await repositories.skill_states.for_learners(["ada"]))["ada"]
    assert state.attempts == 1 and state.correct == 1
    assert state.p_known > 0.1
    [day] = (await repositories.activity.between(["ada"], NOW.date(), NOW.date()))["ada"]
    assert day.total.events == 1
    assert day.by_category["EC2"].answered == 1


async def test_a_replay_returns_the_first_outcome_and_changes_nothing(
    recorder: Recorder, repositories: Repositories
) -> None:
    event = draft(event_id="e-1")
    first = await recorder.record_one(event, received_at=NOW)
    again = await recorder.record_one(event, received_at=NOW)

    assert again.replayed
    assert again.progress == first.progress
    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.events == 1


async def test_the_same_event_id_with_another_payload_is_a_conflict(
    recorder: Recorder, repositories: Repositories
) -> None:
    await recorder.record_one(draft(event_id="e-1", score=0.5), received_at=NOW)

    with pytest.raises(IdempotencyConflict) as raised:
        await recorder.record_one(draft(event_id="e-1", score=0.6), received_at=NOW)

    assert raised.value.code == "IDEMPOTENCY_CONFLICT"
    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.score_sum == 0.5


async def test_in_a_batch_each_event_stands_or_falls_alone(
    recorder: Recorder, repositories: Repositories
) -> None:
    results = await recorder.record_many(
        [
            draft(event_id="a"),
            draft(event_id="b", content_id="nope"),
            draft(event_id="a"),
            draft(event_id="c", type=EventType.COMPLETED, content_id="saa-s3-1", score=None),
        ],
        received_at=NOW,
    )

    assert [r.recorded for r in results] == [True, False, False, True]
    assert isinstance(results[1].error, InvalidInput)
    assert results[1].error.field == "inputs[1].contentId"
    assert results[2].replayed  # the same event twice in one batch: recorded once
    assert results[2].outcome == results[0].outcome
    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.events == 2
    assert totals.overall.items_completed == 1


class _Sink:
    """Notes what the feed hands a subscriber's sink, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def prepare(self, value: object) -> None:
        self.calls.append(("prepare", value))

    def offer(self, value: object, *, early: bool) -> None:
        self.calls.append(("offer", value))


async def test_live_updates_are_handed_over_for_rendering_before_the_commit_and_sent_after(
    recorder: Recorder, feed: Feed
) -> None:
    sink = _Sink()
    with feed.listen(UNLOCKS_FEED, "ada", sink):
        result = await recorder.record_one(draft(event_id="e-1"), received_at=NOW)
        replayed = await recorder.record_one(draft(event_id="e-1"), received_at=NOW)

    assert replayed.replayed
    unlocks = list(result.unlocks)
    assert unlocks  # the first event's achievement
    # Each unlock once before (the same object the subscribers are then offered), and a replay
    # prepares nothing.
    assert sink.calls == [("prepare", u) for u in unlocks] + [("offer", u) for u in unlocks]
    prepared, offered = sink.calls[: len(unlocks)], sink.calls[len(unlocks) :]
    assert all(a is b for (_, a), (_, b) in zip(prepared, offered, strict=True))


async def test_what_recording_answers_is_what_is_read_back_to_the_millisecond(
    recorder: Recorder, repositories: Repositories
) -> None:
    sent = NOW - timedelta(minutes=1) + timedelta(microseconds=123_456)
    received = NOW + timedelta(microseconds=999)

    result = await recorder.record_one(
        draft(event_id="e-ms", occurred_at=sent), received_at=received
    )

    answered = list(result.unlocks)
    assert answered  # the first event's achievement
    stored = (await repositories.unlocks.for_learners(["ada"]))["ada"]
    assert stored == answered
    assert answered[0].unlocked_at == sent - timedelta(microseconds=456)


def test_the_services_clock_ticks_in_milliseconds() -> None:
    assert utc_now().microsecond % 1000 == 0
