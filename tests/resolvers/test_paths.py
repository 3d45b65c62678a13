"""Learning paths use cases: admins define them; learners walk them, step by step."""

from __future__ import annotations

import pytest

from domain.access import Forbidden, Role
from domain.errors import InvalidInput
from domain.events import EventType
from domain.paths import LearningPath, PathStep, ReadinessBand
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.catalog import upsert_content, upsert_skills
from resolvers.paths import learner_paths, modules, paths, upsert_paths
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill, viewer

PATH = LearningPath(
    id="saa-path",
    name="SAA",
    certification="SAA",
    steps=(PathStep("lesson-1"), PathStep("lesson-2"), PathStep("quiz-1", ("lesson-1",))),
)


@pytest.fixture
async def catalog(repositories: Repositories) -> None:
    access = admin(repositories)
    await upsert_skills(access, repositories, [skill()])
    await upsert_content(
        access,
        repositories,
        [
            content_item(id="lesson-1", module="m1"),
            content_item(id="lesson-2", module="m1"),
            content_item(id="quiz-1", module="m2"),
        ],
    )
    await upsert_paths(access, repositories, [PATH])


def as_(repositories: Repositories, user: str, *roles: Role) -> Access:
    return Access(viewer(user, *roles), Loaders(repositories))


@pytest.mark.usefixtures("catalog")
async def test_paths_are_read_by_anyone_and_written_by_admins(repositories: Repositories) -> None:
    ada = as_(repositories, "ada", Role.LEARNER)

    assert [p.id for p in await paths(ada, Loaders(repositories))] == ["saa-path"]
    with pytest.raises(Forbidden):
        await upsert_paths(ada, repositories, [PATH])


@pytest.mark.usefixtures("catalog")
async def test_a_path_naming_an_unknown_item_is_refused_by_field(
    repositories: Repositories,
) -> None:
    broken = LearningPath("p", "P", None, (PathStep("lesson-1"), PathStep("nope")))

    with pytest.raises(InvalidInput) as refused:
        await upsert_paths(admin(repositories), repositories, [PATH, broken])

    assert refused.value.field == "paths[1].steps[1].itemId"


@pytest.mark.usefixtures("catalog")
async def test_a_learner_walks_the_path_and_its_modules_fill_up(
    repositories: Repositories, recorder: Recorder
) -> None:
    await recorder.record_one(
        draft(
            content_id="lesson-1",
            type=EventType.COMPLETED,
            score=0.9,
            correct=None,
            session_id="morning",
        ),
        received_at=NOW,
    )
    ada = as_(repositories, "ada", Role.LEARNER)

    [walked] = await learner_paths(ada, Loaders(repositories), "ada", certification="SAA")
    found = await modules(ada, Loaders(repositories), repositories, "ada", "SAA")

    assert [(s.step.item_id, s.locked) for s in walked.steps] == [
        ("lesson-1", False),
        ("lesson-2", False),
        ("quiz-1", True),  # waits for lesson-2 on this sequential path
    ]
    assert walked.progress.next_up == PathStep("lesson-2")
    assert (walked.progress.done, walked.progress.total) == (1, 3)
    assert [(m.module, m.items, m.completed, m.sessions) for m in found] == [
        ("m1", 2, 1, 1),
        ("m2", 1, 0, 0),
    ]
    assert found[0].band is ReadinessBand.ADVANCED  # one score of 90
    assert await learner_paths(ada, Loaders(repositories), "ada", certification="CCP") == []


@pytest.mark.usefixtures("catalog")
async def test_another_learners_paths_are_refused(repositories: Repositories) -> None:
    bob = as_(repositories, "bob", Role.LEARNER)

    with pytest.raises(Forbidden):
        await learner_paths(bob, Loaders(repositories), "ada")
    with pytest.raises(Forbidden):
        await modules(bob, Loaders(repositories), repositories, "ada", "SAA")
