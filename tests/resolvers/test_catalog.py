"""The catalog use cases on the fast database: what they store, what they refuse, how they page."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from domain.catalog import ContentItem, Skill
from domain.errors import InvalidInput
from domain.mastery import BktParams
from persistence.repositories import Repositories
from resolvers.catalog import content_page, skills_page, upsert_content, upsert_skills
from tests.factories import admin, content_item, skill


async def stored_content(repositories: Repositories) -> list[ContentItem]:
    return await repositories.content.page(certification=None, after=None, limit=1000)


async def stored_skills(repositories: Repositories) -> list[Skill]:
    return await repositories.skills.page(after=None, limit=1000)


async def refused(call: Awaitable[object]) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        await call
    return raised.value


@pytest.fixture
async def skills(repositories: Repositories) -> None:
    await upsert_skills(
        admin(repositories), repositories, [skill(), skill(id="s3", name="S3", domain="storage")]
    )


# upsert_content


@pytest.mark.usefixtures("skills")
async def test_upserted_content_is_stored_with_trimmed_text_and_returned_as_stored(
    repositories: Repositories,
) -> None:
    returned = await upsert_content(
        admin(repositories),
        repositories,
        [
            content_item(title="  EC2 instance types ", category=" EC2 "),
            content_item(id="saa-s3-1", skill_ids=("s3", "ec2"), module=None),
        ],
    )

    assert [item.title for item in returned] == ["EC2 instance types", "EC2 instance types"]
    assert returned[0].category == "EC2"
    assert await stored_content(repositories) == returned


@pytest.mark.usefixtures("skills")
async def test_upserting_an_item_again_replaces_it_whole(repositories: Repositories) -> None:
    await upsert_content(
        admin(repositories), repositories, [content_item(title="Old", estimated_minutes=10)]
    )

    await upsert_content(
        admin(repositories), repositories, [content_item(title="New", estimated_minutes=None)]
    )

    [item] = await stored_content(repositories)
    assert (item.title, item.estimated_minutes) == ("New", None)


@pytest.mark.usefixtures("skills")
async def test_an_item_naming_an_unknown_skill_is_refused_naming_that_skill_and_nothing_is_stored(
    repositories: Repositories,
) -> None:
    error = await refused(
        upsert_content(
            admin(repositories),
            repositories,
            [content_item(id="saa-ok-1"), content_item(id="saa-bad-1", skill_ids=("ec2", "nope"))],
        )
    )

    assert error.field == "items[1].skillIds[1]"
    assert "unknown skill 'nope'" in error.rule
    assert await stored_content(repositories) == []


@pytest.mark.usefixtures("skills")
async def test_a_duplicate_id_in_a_batch_is_refused_at_its_second_place_and_nothing_is_stored(
    repositories: Repositories,
) -> None:
    error = await refused(
        upsert_content(
            admin(repositories),
            repositories,
            [content_item(id="a-1"), content_item(id="b-1"), content_item(id="a-1", title="Again")],
        )
    )

    assert error.field == "items[2].id"
    assert "'a-1' appears twice" in error.rule
    assert await stored_content(repositories) == []


@pytest.mark.usefixtures("skills")
async def test_one_invalid_item_in_a_batch_stores_none_of_the_batch(
    repositories: Repositories,
) -> None:
    error = await refused(
        upsert_content(
            admin(repositories),
            repositories,
            [content_item(id="a-1"), content_item(id="b-1", title="  ")],
        )
    )

    assert error.field == "items[1].title"
    assert await stored_content(repositories) == []


async def test_an_empty_batch_of_content_is_refused(repositories: Repositories) -> None:
    error = await refused(upsert_content(admin(repositories), repositories, []))

    assert (error.field, error.rule) == ("items", "must hold at least one entry")


@pytest.mark.usefixtures("skills")
async def test_a_batch_of_500_items_is_stored_and_one_of_501_is_refused_whole(
    repositories: Repositories,
) -> None:
    batch = [content_item(id=f"item-{n:03}") for n in range(501)]

    error = await refused(upsert_content(admin(repositories), repositories, batch))
    assert (error.field, error.rule) == ("items", "must hold at most 500 entries")
    assert await stored_content(repositories) == []

    assert len(await upsert_content(admin(repositories), repositories, batch[:500])) == 500
    assert len(await stored_content(repositories)) == 500


# upsert_skills


async def test_upserted_skills_are_stored_trimmed_with_their_tracing_parameters(
    repositories: Repositories,
) -> None:
    strict = BktParams(prior=0.2, learn=0.05, guess=0.1, slip=0.05)

    returned = await upsert_skills(
        admin(repositories),
        repositories,
        [skill(name=" EC2 ", domain=" compute "), skill(id="s3", bkt=strict)],
    )

    assert returned == [
        Skill(id="ec2", name="EC2", domain="compute"),
        Skill(id="s3", name="EC2", domain="compute", bkt=strict),
    ]
    assert await stored_skills(repositories) == returned


async def test_upserting_a_skill_again_replaces_it(repositories: Repositories) -> None:
    await upsert_skills(admin(repositories), repositories, [skill(name="EC2", domain="compute")])

    await upsert_skills(
        admin(repositories), repositories, [skill(name="Elastic Compute Cloud", domain=None)]
    )

    assert await stored_skills(repositories) == [
        Skill(id="ec2", name="Elastic Compute Cloud", domain=None)
    ]


@pytest.mark.parametrize(
    ("batch", "field"),
    [
        pytest.param([skill(), skill(id="s3"), skill()], "skills[2].id", id="duplicate-id"),
        pytest.param([skill(), skill(id="s3", name=" ")], "skills[1].name", id="blank-name"),
        pytest.param(
            [skill(), skill(id="s3", bkt=BktParams(prior=1.5))], "skills[1].bkt.prior", id="bkt"
        ),
        pytest.param([], "skills", id="empty"),
        pytest.param([skill(id=f"s-{n}") for n in range(501)], "skills", id="over-500"),
    ],
)
async def test_a_bad_skill_batch_is_refused_naming_the_field_and_nothing_is_stored(
    repositories: Repositories, batch: list[Skill], field: str
) -> None:
    error = await refused(upsert_skills(admin(repositories), repositories, batch))

    assert error.field == field
    assert await stored_skills(repositories) == []


# content_page

CATALOG = [
    content_item(id="ccp-1", certification="CCP"),
    content_item(id="ccp-2", certification="CCP"),
    content_item(id="saa-1"),
    content_item(id="saa-2"),
    content_item(id="saa-3"),
]


@pytest.fixture
async def catalog(repositories: Repositories, skills: None) -> None:
    await upsert_content(admin(repositories), repositories, list(reversed(CATALOG)))


def ids(items: list[ContentItem] | list[Skill]) -> list[str]:
    return [item.id for item in items]


@pytest.mark.usefixtures("catalog")
async def test_a_content_page_holds_the_first_items_by_id_and_says_more_follow(
    repositories: Repositories,
) -> None:
    page = await content_page(
        admin(repositories), repositories, certification=None, first=2, after=None
    )

    assert ids(page.items) == ["ccp-1", "ccp-2"]
    assert page.has_next


@pytest.mark.usefixtures("catalog")
async def test_the_next_content_page_starts_after_the_cursor(repositories: Repositories) -> None:
    page = await content_page(
        admin(repositories), repositories, certification=None, first=2, after="ccp-2"
    )

    assert ids(page.items) == ["saa-1", "saa-2"]
    assert page.has_next


@pytest.mark.usefixtures("catalog")
async def test_a_content_page_that_reaches_the_last_item_says_nothing_follows(
    repositories: Repositories,
) -> None:
    page = await content_page(
        admin(repositories), repositories, certification=None, first=3, after="ccp-2"
    )

    assert ids(page.items) == ["saa-1", "saa-2", "saa-3"]
    assert not page.has_next


@pytest.mark.usefixtures("catalog")
async def test_a_content_page_after_the_last_item_is_empty_and_says_so(
    repositories: Repositories,
) -> None:
    page = await content_page(
        admin(repositories), repositories, certification=None, first=10, after="saa-3"
    )

    assert page.items == []
    assert not page.has_next


@pytest.mark.usefixtures("catalog")
async def test_a_content_page_of_one_certification_holds_only_its_items(
    repositories: Repositories,
) -> None:
    first = await content_page(
        admin(repositories), repositories, certification="SAA", first=2, after=None
    )
    rest = await content_page(
        admin(repositories), repositories, certification="SAA", first=2, after="saa-2"
    )
    none = await content_page(
        admin(repositories), repositories, certification="DVA", first=2, after=None
    )

    assert (ids(first.items), first.has_next) == (["saa-1", "saa-2"], True)
    assert (ids(rest.items), rest.has_next) == (["saa-3"], False)
    assert (none.items, none.has_next) == ([], False)


@pytest.mark.usefixtures("catalog")
async def test_a_content_page_of_up_to_100_items_is_allowed(repositories: Repositories) -> None:
    page = await content_page(
        admin(repositories), repositories, certification=None, first=100, after=None
    )

    assert ids(page.items) == ids(CATALOG)
    assert not page.has_next


@pytest.mark.parametrize("first", [101, 1000, -1])
async def test_a_content_page_refuses_a_size_outside_0_to_100_naming_first(
    repositories: Repositories, first: int
) -> None:
    error = await refused(
        content_page(admin(repositories), repositories, certification=None, first=first, after=None)
    )

    assert (error.field, error.rule) == ("first", "must be between 0 and 100")


# skills_page


@pytest.fixture
async def many_skills(repositories: Repositories) -> None:
    await upsert_skills(
        admin(repositories),
        repositories,
        [skill(id=f"skill-{n}", name=f"S{n}") for n in (4, 2, 3, 1)],
    )


@pytest.mark.usefixtures("many_skills")
async def test_skills_are_paged_by_id_after_the_cursor(repositories: Repositories) -> None:
    first = await skills_page(admin(repositories), repositories, first=3, after=None)
    rest = await skills_page(admin(repositories), repositories, first=3, after="skill-3")

    assert (ids(first.items), first.has_next) == (["skill-1", "skill-2", "skill-3"], True)
    assert (ids(rest.items), rest.has_next) == (["skill-4"], False)


@pytest.mark.usefixtures("many_skills")
async def test_a_skills_page_that_takes_exactly_the_rest_says_nothing_follows(
    repositories: Repositories,
) -> None:
    page = await skills_page(admin(repositories), repositories, first=4, after=None)

    assert len(page.items) == 4
    assert not page.has_next


@pytest.mark.usefixtures("many_skills")
async def test_a_skills_page_after_the_last_skill_is_empty_and_says_so(
    repositories: Repositories,
) -> None:
    page = await skills_page(admin(repositories), repositories, first=5, after="skill-4")

    assert (page.items, page.has_next) == ([], False)


@pytest.mark.parametrize("first", [101, -1])
async def test_a_skills_page_refuses_a_size_outside_0_to_100_naming_first(
    repositories: Repositories, first: int
) -> None:
    error = await refused(skills_page(admin(repositories), repositories, first=first, after=None))

    assert error.field == "first"
