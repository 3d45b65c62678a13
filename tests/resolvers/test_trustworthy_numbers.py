"""Numbers a learner cannot farm and a teacher can trust: late answers, repeats, claimed time."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from domain.catalog import ContentKind
from domain.events import EventType
from domain.guard import GuardReason
from domain.levels import DEFAULT_LEVELS, level_for
from domain.points import STREAK_DAY_POINTS
from persistence.repositories import Repositories
from resolvers.recording import Recorder
from tests.factories import NOW, content_item, draft, skill

LESSON = content_item(
    id="saa-lesson-1", kind=ContentKind.LESSON, skill_ids=("ec2",), estimated_minutes=15
)


@pytest.fixture(autouse=True)
async def catalog(repositories: Repositories) -> None:
    await repositories.skills.upsert_many([skill()])
    await repositories.content.upsert_many(
        [content_item(), *(content_item(id=f"saa-q{n}") for n in range(4)), LESSON]
    )


def minutes_ago(minutes: float) -> object:
    return NOW - timedelta(minutes=minutes)


def exact_bkt(answers: list[bool]) -> float:
    """The default parameters' forward pass in exact arithmetic."""
    prior, learn, guess, slip = Fraction(1, 10), Fraction(1, 10), Fraction(2, 10), Fraction(1, 10)
    p = prior
    for correct in answers:
        if correct:
            post = p * (1 - slip) / (p * (1 - slip) + (1 - p) * guess)
        else:
            post = p * slip / (p * slip + (1 - p) * (1 - guess))
        p = post + (1 - post) * learn
    return float(p)


async def mastery(repositories: Repositories) -> float:
    [state] = (await repositories.skill_states.for_learners(["ada"]))["ada"]
    return state.p_known


async def test_a_late_answer_gives_the_mastery_of_answers_in_time_order(
    recorder: Recorder, repositories: Repositories
) -> None:
    # Right at t1..t3 on three questions, then the wrong answer at t0 arrives in a later request.
    right = [
        draft(
            event_id=f"r{n}",
            content_id=f"saa-q{n}",
            correct=True,
            occurred_at=minutes_ago(30 - 10 * n),
        )
        for n in range(1, 4)
    ]
    await recorder.record_many(right, received_at=NOW)
    late = draft(
        event_id="w0", content_id="saa-q0", correct=False, score=0.0, occurred_at=minutes_ago(40)
    )
    await recorder.record_one(late, received_at=NOW)

    assert await mastery(repositories) == pytest.approx(
        exact_bkt([False, True, True, True]), abs=1e-12
    )


async def test_a_late_wrong_answer_takes_a_mastery_back_and_the_count_follows(
    recorder: Recorder, repositories: Repositories
) -> None:
    answers = [
        draft(
            event_id=f"r{n}",
            content_id=f"saa-q{n % 4}",
            correct=True,
            occurred_at=minutes_ago(100 - 10 * n),
        )
        for n in range(6)
    ]
    await recorder.record_many(answers, received_at=NOW)
    [state] = (await repositories.skill_states.for_learners(["ada"]))["ada"]
    assert state.mastered and state.mastered_at is not None
    assert (await repositories.totals.find_by_ids(["ada"]))["ada"].mastered_skills == 1

    # Three wrong answers that happened before the last right one arrive late.
    wrong = [
        draft(
            event_id=f"w{n}",
            content_id=item,
            correct=False,
            score=0.0,
            occurred_at=minutes_ago(53 - n),
        )
        for n, item in enumerate(["saa-ec2-1", "saa-q2", "saa-q3"])
    ]
    await recorder.record_many(wrong, received_at=NOW)

    [state] = (await repositories.skill_states.for_learners(["ada"]))["ada"]
    assert state.p_known == pytest.approx(exact_bkt([True] * 5 + [False] * 3 + [True]), abs=1e-12)
    assert not state.mastered and state.mastered_at is None
    assert (await repositories.totals.find_by_ids(["ada"]))["ada"].mastered_skills == 0


async def test_answering_one_question_ten_times_in_ten_seconds_earns_no_more_than_once(
    recorder: Recorder, repositories: Repositories
) -> None:
    farm = [
        draft(
            event_id=f"f{n}", score=1.0, correct=True, occurred_at=NOW - timedelta(seconds=10 - n)
        )
        for n in range(10)
    ]

    results = await recorder.record_many(farm, received_at=NOW)

    assert all(r.recorded for r in results)  # stored whole: the raw log is the truth
    assert all(r.outcome and GuardReason.REPEAT in r.outcome.guarded for r in results[1:])
    assert all(r.outcome and r.outcome.points == 0 and not r.unlocks for r in results[1:])
    once = results[0].outcome
    assert once is not None
    assert {u.key for u in once.unlocks} == {"first-event", "perfect-score"}  # one honest answer
    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.scored == 1 and totals.overall.perfect_scores == 1
    assert totals.mastered_skills == 0
    assert level_for(totals.points, DEFAULT_LEVELS).number == 1
    [state] = (await repositories.skill_states.for_learners(["ada"]))["ada"]
    assert state.attempts == 1 and not state.mastered
    assert await repositories.events.count_for("ada") == 10


async def test_nine_views_claiming_a_day_each_credit_at_most_what_the_lesson_can_take(
    recorder: Recorder, repositories: Repositories
) -> None:
    views = [
        draft(
            event_id=f"v{n}",
            type=EventType.VIEWED,
            content_id=LESSON.id,
            score=None,
            time_spent_seconds=24 * 3600,
            occurred_at=NOW - timedelta(seconds=90 - 10 * n),
        )
        for n in range(9)
    ]

    results = await recorder.record_many(views, received_at=NOW)

    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.time_spent_seconds <= 3 * 15 * 60 + 80  # the cap, then 10 s apart
    assert {u.key for r in results for u in r.unlocks} == {"first-event"}
    assert totals.points == 10 + STREAK_DAY_POINTS  # First Steps and the day's streak points
    assert GuardReason.TIME_CAPPED in (results[0].outcome.guarded if results[0].outcome else ())


async def test_a_learner_answering_far_faster_than_anyone_reads_is_rate_limited(
    recorder: Recorder, repositories: Repositories
) -> None:
    await repositories.content.upsert_many([content_item(id=f"saa-x{n}") for n in range(100)])
    burst = [
        draft(
            event_id=f"b{n}",
            content_id=f"saa-x{n}",
            score=1.0,
            occurred_at=NOW - timedelta(seconds=100 - n),
        )
        for n in range(100)
    ]

    results = await recorder.record_many(burst, received_at=NOW)

    rewarded = [r for r in results if r.outcome and GuardReason.RATE not in r.outcome.guarded]
    assert len(rewarded) == 60  # the default: 60 rewarded events in any 10 minutes
    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.scored == 60
    assert totals.overall.events == 100


async def test_a_scored_completion_right_after_the_answer_is_no_repeat(
    recorder: Recorder, repositories: Repositories
) -> None:
    answer = draft(event_id="a", score=0.8, occurred_at=NOW - timedelta(seconds=40))
    complete = draft(
        event_id="c", type=EventType.COMPLETED, score=0.8, occurred_at=NOW - timedelta(seconds=20)
    )

    results = await recorder.record_many([answer, complete], received_at=NOW)

    assert all(r.outcome and GuardReason.REPEAT not in r.outcome.guarded for r in results)
    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.items_completed == 1 and totals.overall.scored == 2


async def test_completing_one_item_ten_times_at_full_marks_counts_once(
    recorder: Recorder, repositories: Repositories
) -> None:
    farm = [
        draft(
            event_id=f"c{n}",
            type=EventType.COMPLETED,
            score=1.0,
            occurred_at=NOW - timedelta(seconds=10 - n),
        )
        for n in range(10)
    ]

    await recorder.record_many(farm, received_at=NOW)

    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert (totals.overall.scored, totals.overall.perfect_scores) == (1, 1)
    assert totals.unlocks == 2  # first steps and perfectionist, nothing for the repeats
