from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.levels import DEFAULT_LEVELS, LevelBand, check_levels, level_for


@pytest.mark.parametrize(
    ("points", "number", "name", "min_points", "next_level_at"),
    [
        (0, 1, "Novice", 0, 101),
        (100, 1, "Novice", 0, 101),
        (101, 2, "Apprentice", 101, 501),
        (500, 2, "Apprentice", 101, 501),
        (501, 3, "Scholar", 501, 1001),
        (1000, 3, "Scholar", 501, 1001),
        (1001, 4, "Expert", 1001, 5001),
        (5000, 4, "Expert", 1001, 5001),
        (5001, 5, "Master", 5001, None),
        (10**12, 5, "Master", 5001, None),
    ],
)
def test_level_for_puts_each_band_boundary_in_the_right_band(
    points: int, number: int, name: str, min_points: int, next_level_at: int | None
) -> None:
    level = level_for(points)
    assert level.number == number
    assert level.name == name
    assert level.points == points
    assert level.min_points == min_points
    assert level.next_level_at == next_level_at


@pytest.mark.parametrize(
    ("points", "to_next", "progress"),
    [
        (0, 101, 0.0),
        (100, 1, 100 / 101),
        (101, 400, 0.0),
        (301, 200, 0.5),
        (500, 1, 399 / 400),
        (501, 500, 0.0),
        (751, 250, 0.5),
        (1001, 4000, 0.0),
        (3001, 2000, 0.5),
        (5000, 1, 3999 / 4000),
    ],
)
def test_points_to_next_and_progress_are_measured_within_the_band(
    points: int, to_next: int, progress: float
) -> None:
    level = level_for(points)
    assert level.points_to_next == to_next
    assert level.progress == pytest.approx(progress)
    assert 0.0 <= level.progress < 1.0


@pytest.mark.parametrize("points", [5001, 9999, 10**9])
def test_the_top_level_has_no_next_level_and_is_complete(points: int) -> None:
    level = level_for(points)
    assert level.next_level_at is None
    assert level.points_to_next is None
    assert level.progress == 1.0


def test_level_for_uses_custom_bands() -> None:
    bands = (LevelBand("Bronze", 0), LevelBand("Silver", 10), LevelBand("Gold", 20))
    assert [level_for(points, bands).name for points in (0, 9, 10, 19, 20, 99)] == [
        "Bronze",
        "Bronze",
        "Silver",
        "Silver",
        "Gold",
        "Gold",
    ]
    assert level_for(15, bands).progress == pytest.approx(0.5)


def test_a_single_band_is_always_the_top_level() -> None:
    level = level_for(42, (LevelBand("Everyone", 0),))
    assert (level.number, level.name, level.next_level_at, level.progress) == (
        1,
        "Everyone",
        None,
        1.0,
    )


def test_check_levels_accepts_the_defaults_and_returns_a_tuple() -> None:
    assert check_levels(list(DEFAULT_LEVELS)) == DEFAULT_LEVELS


@pytest.mark.parametrize(
    "bands",
    [
        pytest.param((), id="empty"),
        pytest.param((LevelBand("Novice", 1), LevelBand("Apprentice", 101)), id="starts-at-1"),
        pytest.param((LevelBand("Below", -1), LevelBand("Zero", 0)), id="starts-below-0"),
    ],
)
def test_check_levels_rejects_a_first_band_not_starting_at_zero(
    bands: tuple[LevelBand, ...],
) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_levels(bands)
    assert raised.value.field == "levels"
    assert "0 points" in raised.value.rule


@pytest.mark.parametrize(
    ("thresholds", "field"),
    [
        ((0, 0), "levels[1]"),
        ((0, 100, 100), "levels[2]"),
        ((0, 100, 50, 200), "levels[2]"),
        ((0, 100, 200, 300, 250), "levels[4]"),
    ],
)
def test_check_levels_rejects_thresholds_that_do_not_strictly_increase_naming_the_band(
    thresholds: tuple[int, ...], field: str
) -> None:
    bands = [LevelBand(f"L{index}", points) for index, points in enumerate(thresholds)]
    with pytest.raises(InvalidInput) as raised:
        check_levels(bands)
    assert raised.value.field == field
    assert "increase" in raised.value.rule


def test_check_levels_names_the_field_it_is_given() -> None:
    with pytest.raises(InvalidInput) as first:
        check_levels([LevelBand("A", 5)], field="input.levels")
    assert first.value.field == "input.levels"
    with pytest.raises(InvalidInput) as later:
        check_levels([LevelBand("A", 0), LevelBand("B", 0)], field="input.levels")
    assert later.value.field == "input.levels[1]"
