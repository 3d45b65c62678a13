from __future__ import annotations

from typing import Any

import pytest

from domain.catalog import (
    MAX_ESTIMATED_MINUTES,
    CatalogCounts,
    ContentItem,
    ContentKind,
    Difficulty,
    Skill,
    validate_content_item,
    validate_skill,
)
from domain.errors import InvalidInput
from domain.mastery import BktParams
from tests.factories import content_item, skill


def item_error(**overrides: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        validate_content_item(content_item(**overrides), "items[0]")
    return error.value


def skill_error(**overrides: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        validate_skill(skill(**overrides), "skills[4]")
    return error.value


def test_a_valid_content_item_comes_back_with_trimmed_text() -> None:
    item = content_item(title="  EC2 instance types  ", category=" EC2 ", module="compute ")
    assert validate_content_item(item, "items[0]") == ContentItem(
        id="saa-ec2-1",
        title="EC2 instance types",
        kind=ContentKind.QUESTION,
        skill_ids=("ec2",),
        category="EC2",
        difficulty=Difficulty.INTERMEDIATE,
        certification="SAA",
        module="compute",
        estimated_minutes=10,
    )


def test_optional_fields_may_be_left_out() -> None:
    item = ContentItem(id="lesson-1", title="Intro", kind=ContentKind.LESSON)
    assert validate_content_item(item, "items[0]") == item


@pytest.mark.parametrize("item_id", ["a", "saa-ec2-1", "AWS:SAA/1.2_x", "x" * 128, "0abc"])
def test_ids_of_letters_digits_and_separators_are_accepted(item_id: str) -> None:
    assert validate_content_item(content_item(id=item_id), "items[0]").id == item_id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": ""}, "items[0].id"),
        ({"id": "x" * 129}, "items[0].id"),
        ({"id": "-leading-dash"}, "items[0].id"),
        ({"id": "has space"}, "items[0].id"),
        ({"id": "emoji-🙂"}, "items[0].id"),
        ({"title": ""}, "items[0].title"),
        ({"title": "   "}, "items[0].title"),
        ({"title": "x" * 301}, "items[0].title"),
        ({"skill_ids": ("ec2", "bad id")}, "items[0].skillIds[1]"),
        ({"skill_ids": ("ec2", "s3", "ec2")}, "items[0].skillIds"),
        ({"category": " "}, "items[0].category"),
        ({"category": "x" * 129}, "items[0].category"),
        ({"certification": ""}, "items[0].certification"),
        ({"module": "  "}, "items[0].module"),
        ({"estimated_minutes": 0}, "items[0].estimatedMinutes"),
        ({"estimated_minutes": -5}, "items[0].estimatedMinutes"),
        ({"estimated_minutes": MAX_ESTIMATED_MINUTES + 1}, "items[0].estimatedMinutes"),
    ],
)
def test_an_invalid_content_item_is_rejected_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    error = item_error(**overrides)
    assert error.field == field
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": "saa-ec2-1\n"}, "items[0].id"),
        ({"skill_ids": ("ec2\n",)}, "items[0].skillIds[0]"),
    ],
)
def test_an_id_with_a_trailing_newline_is_rejected(overrides: dict[str, Any], field: str) -> None:
    assert item_error(**overrides).field == field


@pytest.mark.parametrize("minutes", [1, 45, MAX_ESTIMATED_MINUTES, None])
def test_estimated_minutes_from_one_to_a_day_are_accepted(minutes: int | None) -> None:
    item = validate_content_item(content_item(estimated_minutes=minutes), "items[0]")
    assert item.estimated_minutes == minutes


def test_an_item_may_take_up_to_a_day_of_1440_minutes_and_no_more() -> None:
    day = validate_content_item(content_item(estimated_minutes=1440), "items[0]")
    assert day.estimated_minutes == 1440
    assert item_error(estimated_minutes=1441).field == "items[0].estimatedMinutes"


def test_a_valid_skill_comes_back_with_trimmed_text() -> None:
    params = BktParams(prior=0.2)
    validated = validate_skill(skill(name=" EC2 ", domain=" compute", bkt=params), "skills[4]")
    assert validated == Skill(id="ec2", name="EC2", domain="compute", bkt=params)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": ""}, "skills[4].id"),
        ({"id": "bad id"}, "skills[4].id"),
        ({"name": " "}, "skills[4].name"),
        ({"name": "x" * 301}, "skills[4].name"),
        ({"domain": ""}, "skills[4].domain"),
        ({"bkt": BktParams(prior=1.5)}, "skills[4].bkt.prior"),
        ({"bkt": BktParams(slip=-0.1)}, "skills[4].bkt.slip"),
        ({"bkt": BktParams(guess=0.6, slip=0.4)}, "skills[4].bkt.guess"),
    ],
)
def test_an_invalid_skill_is_rejected_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    assert skill_error(**overrides).field == field


def test_catalog_counts_give_the_total_or_a_certifications_count() -> None:
    counts = CatalogCounts(total=30, by_certification={"SAA": 20, "DVA": 8})
    assert counts.items_in(None) == 30
    assert counts.items_in("SAA") == 20
    assert counts.items_in("DVA") == 8
    assert counts.items_in("CLF") == 0


def test_empty_catalog_counts_are_zero() -> None:
    assert CatalogCounts().items_in(None) == 0
    assert CatalogCounts().items_in("SAA") == 0
