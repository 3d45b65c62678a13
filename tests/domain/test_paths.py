"""Learning paths: validation, locking, what comes next, path and module progress, bands."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from statistics import pstdev

import pytest

from domain.catalog import ContentItem, ContentKind
from domain.errors import InvalidInput
from domain.paths import (
    DEFAULT_MINUTES,
    MAX_STEPS,
    LearningPath,
    ModuleProgress,
    PathProgress,
    PathStep,
    ReadinessBand,
    StepStatus,
    module_progress,
    next_up,
    path_progress,
    path_status,
    readiness_band,
    validate_path,
)
from domain.progress import ContentProgress, ProgressStatus
from tests.factories import NOW

DONE = ProgressStatus.COMPLETED
MASTERED = ProgressStatus.MASTERED
STARTED = ProgressStatus.IN_PROGRESS
NEW = ProgressStatus.NOT_STARTED

KNOWN = frozenset({"intro", "iam", "vpc", "s3", "quiz-1", "lab-1"})
PATH = LearningPath(
    id="saa-core",
    name="  SAA core  ",
    certification="SAA",
    steps=(
        PathStep("intro"),
        PathStep("iam"),
        PathStep("vpc", ("intro",)),
        PathStep("quiz-1", ("iam", "vpc")),
    ),
)


def progress(item_id: str, status: ProgressStatus = NEW, **changes: object) -> ContentProgress:
    base = ContentProgress(learner_id="ada", content_id=item_id, status=status)
    return replace(base, **changes)  # type: ignore[arg-type]


def learner(**statuses: ProgressStatus) -> dict[str, ContentProgress]:
    """Progress by item id; keyword names use _ for - (quiz_1 is quiz-1)."""
    return {
        key.replace("_", "-"): progress(key.replace("_", "-"), status)
        for key, status in statuses.items()
    }


def path_of(*steps: PathStep, sequential: bool = True) -> LearningPath:
    return LearningPath("p", "Path", None, tuple(steps), sequential)


def refusal(path: LearningPath, prefix: str = "input") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_path(path, KNOWN, prefix)
    assert caught.value.rule
    return caught.value


def with_step(index: int, step: PathStep) -> LearningPath:
    steps = list(PATH.steps)
    steps[index] = step
    return replace(PATH, steps=tuple(steps))


# --- validation ----------------------------------------------------------------------------


def test_a_valid_path_comes_back_normalised() -> None:
    valid = validate_path(with_step(3, PathStep("quiz-1", ("iam", "vpc", "iam"))), KNOWN)

    assert valid == LearningPath(
        id="saa-core",
        name="SAA core",
        certification="SAA",
        steps=(
            PathStep("intro"),
            PathStep("iam"),
            PathStep("vpc", ("intro",)),
            PathStep("quiz-1", ("iam", "vpc")),
        ),
        sequential=True,
    )


def test_a_path_of_exactly_the_most_steps_is_accepted() -> None:
    names = [f"item-{i}" for i in range(MAX_STEPS)]
    path = path_of(*(PathStep(name) for name in names))

    assert len(validate_path(path, names).steps) == MAX_STEPS


@pytest.mark.parametrize(
    ("path", "field", "rule"),
    [
        (replace(PATH, id=""), "input.id", "must be 1-128 characters"),
        (replace(PATH, id="bad id"), "input.id", "must be 1-128 characters"),
        (replace(PATH, name="   "), "input.name", "not blank"),
        (replace(PATH, certification=" "), "input.certification", "not blank"),
        (replace(PATH, steps=()), "input.steps", "must hold at least one step"),
        (
            with_step(1, PathStep("nope")),
            "input.steps[1].itemId",
            "unknown content item 'nope'",
        ),
        (
            with_step(2, PathStep("intro")),
            "input.steps[2].itemId",
            "content item 'intro' is already step 0",
        ),
        (
            with_step(3, PathStep("quiz-1", ("iam", "s3"))),
            "input.steps[3].prerequisites[1]",
            "content item 's3' is not a step of the path",
        ),
        (
            with_step(2, PathStep("vpc", ("vpc",))),
            "input.steps[2].prerequisites[0]",
            "must not be the step's own item",
        ),
        (
            with_step(1, PathStep("iam", ("intro", "quiz-1"))),
            "input.steps[1].prerequisites[1]",
            "content item 'quiz-1' is step 3: it must come before step 1",
        ),
    ],
)
def test_each_rule_names_the_field(path: LearningPath, field: str, rule: str) -> None:
    error = refusal(path)

    assert error.field == field
    assert rule in error.rule


def test_too_many_steps_are_refused() -> None:
    names = [f"item-{i}" for i in range(MAX_STEPS + 1)]
    path = path_of(*(PathStep(name) for name in names))

    with pytest.raises(InvalidInput) as caught:
        validate_path(path, names)

    assert caught.value.field == "input.steps"
    assert caught.value.rule == "must hold at most 500 steps"


def test_the_prefix_is_used_for_every_field() -> None:
    assert refusal(with_step(1, PathStep("nope")), "paths[4]").field == "paths[4].steps[1].itemId"
    assert refusal(replace(PATH, name=""), "paths[4]").field == "paths[4].name"


def test_a_prerequisite_only_unknown_to_the_catalog_is_still_not_a_step() -> None:
    error = refusal(with_step(3, PathStep("quiz-1", ("ghost",))))

    assert (error.field, error.rule) == (
        "input.steps[3].prerequisites[0]",
        "content item 'ghost' is not a step of the path",
    )


# --- locking -------------------------------------------------------------------------------


def locks(
    path: LearningPath, done: dict[str, ContentProgress]
) -> list[tuple[bool, tuple[str, ...]]]:
    return [(s.locked, s.missing) for s in path_status(path, done)]


def test_on_a_fresh_sequential_path_only_the_first_step_is_open() -> None:
    assert locks(PATH, {}) == [
        (False, ()),
        (True, ("intro",)),
        (True, ("intro", "iam")),
        (True, ("iam", "vpc")),
    ]


def test_finishing_steps_opens_the_next_ones() -> None:
    assert locks(PATH, learner(intro=DONE)) == [
        (False, ()),
        (False, ()),
        (True, ("iam",)),
        (True, ("iam", "vpc")),
    ]
    assert locks(PATH, learner(intro=DONE, iam=MASTERED)) == [
        (False, ()),
        (False, ()),
        (False, ()),
        (True, ("vpc",)),
    ]


def test_in_progress_is_not_done() -> None:
    statuses = path_status(PATH, learner(intro=STARTED))

    assert statuses[0].status is STARTED
    assert statuses[1].locked
    assert statuses[1].missing == ("intro",)


def test_mastered_counts_as_done() -> None:
    assert locks(PATH, learner(intro=MASTERED, iam=MASTERED, vpc=MASTERED))[3] == (False, ())


def test_explicit_prerequisites_lock_a_non_sequential_path() -> None:
    path = replace(PATH, sequential=False)

    assert locks(path, {}) == [
        (False, ()),
        (False, ()),
        (True, ("intro",)),
        (True, ("iam", "vpc")),
    ]
    assert locks(path, learner(vpc=DONE, iam=DONE)) == [
        (False, ()),
        (False, ()),
        (False, ("intro",)),
        (False, ()),
    ]


def test_a_done_step_is_not_locked_by_an_undone_prerequisite() -> None:
    statuses = path_status(PATH, learner(vpc=DONE))

    assert statuses[2] == StepStatus(PathStep("vpc", ("intro",)), DONE, False, ("intro", "iam"))
    assert statuses[2].done


def test_the_status_of_each_step_comes_from_its_progress() -> None:
    statuses = path_status(PATH, learner(intro=MASTERED, iam=STARTED))

    assert [s.status for s in statuses] == [MASTERED, STARTED, NEW, NEW]
    assert [s.step.item_id for s in statuses] == ["intro", "iam", "vpc", "quiz-1"]


# --- next up -------------------------------------------------------------------------------


def test_next_up_is_the_first_open_unfinished_step() -> None:
    assert next_up(PATH, {}) == PathStep("intro")
    assert next_up(PATH, learner(intro=DONE)) == PathStep("iam")
    assert next_up(PATH, learner(intro=DONE, iam=STARTED)) == PathStep("iam")
    assert next_up(PATH, learner(intro=DONE, iam=DONE)) == PathStep("vpc", ("intro",))


def test_next_up_skips_a_step_finished_out_of_order() -> None:
    assert next_up(PATH, learner(intro=DONE, iam=DONE, vpc=DONE)) == PathStep(
        "quiz-1", ("iam", "vpc")
    )
    # intro is still the first open step however far the learner went ahead.
    assert next_up(PATH, learner(iam=DONE, vpc=MASTERED)) == PathStep("intro")


def test_next_up_is_none_once_everything_is_done() -> None:
    everything = learner(intro=DONE, iam=MASTERED, vpc=DONE, quiz_1=MASTERED)

    assert next_up(PATH, everything) is None


def test_next_up_on_a_path_of_independent_steps() -> None:
    path = path_of(PathStep("s3"), PathStep("iam"), PathStep("vpc"), sequential=False)

    assert [s.locked for s in path_status(path, {})] == [False, False, False]
    assert next_up(path, {}) == PathStep("s3")
    assert next_up(path, learner(s3=DONE)) == PathStep("iam")
    assert next_up(path, learner(s3=DONE, iam=MASTERED)) == PathStep("vpc")
    assert next_up(path, learner(iam=DONE)) == PathStep("s3")


def test_next_up_waits_when_every_open_step_is_done_but_locked_ones_remain() -> None:
    # Only reachable on a path not validated: a prerequisite outside the path, never done.
    path = path_of(PathStep("intro"), PathStep("iam", ("outside",)), sequential=False)

    assert next_up(path, learner(intro=DONE)) is None
    assert path_status(path, learner(intro=DONE))[1].missing == ("outside",)


# --- path progress -------------------------------------------------------------------------


ITEMS = {
    "intro": ContentItem("intro", "Intro", ContentKind.LESSON, estimated_minutes=15),
    "iam": ContentItem("iam", "IAM", ContentKind.LESSON, estimated_minutes=25),
    "vpc": ContentItem("vpc", "VPC", ContentKind.LAB),
    "quiz-1": ContentItem("quiz-1", "Quiz", ContentKind.QUIZ),
}


def test_path_progress_on_a_fresh_path() -> None:
    assert path_progress(PATH, {}, ITEMS) == PathProgress(
        done=0,
        total=4,
        percent=0.0,
        next_up=PathStep("intro"),
        remaining_minutes=15 + 25 + DEFAULT_MINUTES + DEFAULT_MINUTES,
    )
    assert DEFAULT_MINUTES == 10


def test_path_progress_uses_minutes_by_kind_for_items_without_an_estimate() -> None:
    done = learner(intro=DONE, iam=STARTED)
    result = path_progress(PATH, done, ITEMS, {ContentKind.LAB: 45, ContentKind.LESSON: 99})

    assert result == PathProgress(
        done=1, total=4, percent=25.0, next_up=PathStep("iam"), remaining_minutes=25 + 45 + 10
    )


def test_path_progress_counts_an_item_missing_from_the_catalog_at_the_default() -> None:
    items = {key: value for key, value in ITEMS.items() if key != "iam"}

    result = path_progress(PATH, learner(intro=MASTERED), items, {ContentKind.QUIZ: 20})

    assert result.remaining_minutes == 10 + 10 + 20


def test_path_progress_when_everything_is_done() -> None:
    everything = learner(intro=DONE, iam=MASTERED, vpc=DONE, quiz_1=MASTERED)

    assert path_progress(PATH, everything, ITEMS) == PathProgress(
        done=4, total=4, percent=100.0, next_up=None, remaining_minutes=0
    )


def test_path_progress_percent_of_three_steps() -> None:
    path = path_of(PathStep("intro"), PathStep("iam"), PathStep("vpc"))

    result = path_progress(path, learner(intro=DONE), ITEMS)

    assert result.percent == pytest.approx(100 / 3)
    assert (result.done, result.total, result.remaining_minutes) == (1, 3, 25 + 10)


# --- readiness bands -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "band"),
    [
        ([], ReadinessBand.BEGINNER),
        ([85.0], ReadinessBand.ADVANCED),
        ([100.0, 100.0], ReadinessBand.ADVANCED),
        ([80.0, 90.0], ReadinessBand.ADVANCED),  # mean 85, deviation 5
        ([84.0, 86.0, 84.9], ReadinessBand.PROFICIENT),  # mean 84.97: under 85
        ([75.0, 95.0], ReadinessBand.PROFICIENT),  # mean 85, deviation exactly 10
        ([76.0, 94.0], ReadinessBand.ADVANCED),  # mean 85, deviation 9
        ([70.0], ReadinessBand.PROFICIENT),
        ([60.0, 80.0], ReadinessBand.PROFICIENT),  # mean 70, deviation 10
        ([56.0, 84.0], ReadinessBand.PROFICIENT),  # mean 70, deviation 14
        ([55.0, 85.0], ReadinessBand.DEVELOPING),  # mean 70, deviation exactly 15
        ([69.0, 71.0, 69.9], ReadinessBand.DEVELOPING),  # mean under 70
        ([70.0, 100.0], ReadinessBand.DEVELOPING),  # mean 85, deviation 15
        ([50.0], ReadinessBand.DEVELOPING),
        ([0.0, 100.0], ReadinessBand.DEVELOPING),  # mean 50, deviation 50
        ([49.0, 50.0, 50.0], ReadinessBand.BEGINNER),
        ([0.0], ReadinessBand.BEGINNER),
    ],
)
def test_readiness_band_boundaries(scores: list[float], band: ReadinessBand) -> None:
    assert readiness_band(scores) is band


def test_only_the_last_five_scores_count() -> None:
    assert readiness_band([0.0, 0.0, 90.0, 90.0, 90.0, 90.0, 90.0]) is ReadinessBand.ADVANCED
    assert readiness_band([100.0, 100.0, 10.0, 10.0, 10.0, 10.0, 10.0]) is ReadinessBand.BEGINNER
    # The sixth newest score would pull the mean to 70; without it the mean is 64.
    assert readiness_band([100.0, 60.0, 60.0, 60.0, 70.0, 70.0]) is ReadinessBand.DEVELOPING


def test_scores_from_fractions_on_a_boundary_count_as_on_it() -> None:
    # 55 and 85 deviate by exactly 15, but made from fractions they come out at 14.999999999999996.
    scores = [0.55 * 100, 0.85 * 100]
    assert pstdev(scores) < 15.0

    assert readiness_band(scores) is ReadinessBand.DEVELOPING


# --- module progress -----------------------------------------------------------------------


def item(item_id: str, module: str | None) -> ContentItem:
    return ContentItem(item_id, item_id.upper(), ContentKind.QUESTION, module=module)


def at(minutes: int) -> datetime:
    return NOW - timedelta(hours=1) + timedelta(minutes=minutes)


MODULE_ITEMS = [
    item("n1", "networking"),
    item("g1", None),
    item("s1", "security"),
    item("n2", "networking"),
    item("n3", "networking"),
    item("s2", "security"),
    item("n4", "networking"),
]


def test_module_progress_numbers_and_order() -> None:
    done = {
        "n1": progress(
            "n1",
            DONE,
            best_score=0.9,
            last_score=0.9,
            time_spent_seconds=120.0,
            last_activity_at=at(30),
        ),
        "n2": progress(
            "n2",
            MASTERED,
            best_score=1.0,
            last_score=0.8,
            time_spent_seconds=300.5,
            last_activity_at=at(10),
        ),
        "n3": progress("n3", STARTED, time_spent_seconds=60.0, last_activity_at=at(40)),
        "s1": progress(
            "s1",
            STARTED,
            best_score=0.4,
            last_score=0.4,
            time_spent_seconds=30.0,
            last_activity_at=at(5),
        ),
    }

    result = module_progress(MODULE_ITEMS, done, {"networking": 3, "unrelated": 9})

    assert result == [
        ModuleProgress(
            module="networking",
            items=4,
            completed=2,
            completion_percent=50.0,
            average_score=95.0,
            time_spent_seconds=480.5,
            sessions=3,
            band=ReadinessBand.ADVANCED,  # last scores 80 then 90: mean 85, deviation 5
        ),
        ModuleProgress(
            module="general",
            items=1,
            completed=0,
            completion_percent=0.0,
            average_score=None,
            time_spent_seconds=0.0,
            sessions=0,
            band=ReadinessBand.BEGINNER,
        ),
        ModuleProgress(
            module="security",
            items=2,
            completed=0,
            completion_percent=0.0,
            average_score=40.0,
            time_spent_seconds=30.0,
            sessions=0,
            band=ReadinessBand.BEGINNER,
        ),
    ]


def test_the_band_follows_the_order_of_last_activity() -> None:
    # Six scored items: the oldest (item order last) falls out of the window of five.
    items = [item(f"q{i}", "m") for i in range(6)]
    scores = [0.6, 0.6, 0.6, 0.6, 0.8, 0.9]
    minutes = [10, 20, 30, 40, 50, 0]  # q5's 0.9 is the oldest
    done = {
        f"q{i}": progress(f"q{i}", STARTED, last_score=s, best_score=s, last_activity_at=at(m))
        for i, (s, m) in enumerate(zip(scores, minutes, strict=True))
    }

    [only] = module_progress(items, done)

    assert only.band is ReadinessBand.DEVELOPING  # 60, 60, 60, 60, 80: mean 64
    assert only.average_score == pytest.approx(100 * (0.6 * 4 + 0.8 + 0.9) / 6)

    moved = {**done, "q5": replace(done["q5"], last_activity_at=at(60))}
    [again] = module_progress(items, moved)

    assert again.band is ReadinessBand.PROFICIENT  # 60, 60, 60, 80, 90: mean 70, deviation 12.6


def test_module_progress_counts_a_repeated_item_once() -> None:
    items = [item("a", "m"), item("b", "m"), item("a", "m")]

    [only] = module_progress(items, {"a": progress("a", DONE)})

    assert (only.items, only.completed, only.completion_percent) == (2, 1, 50.0)


def test_module_progress_of_no_items_is_empty() -> None:
    assert module_progress([], {}) == []
