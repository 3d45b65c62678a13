"""Levels: named bands of total points."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class LevelBand:
    name: str
    min_points: int  # the band starts here; it ends where the next one starts


# The Spool seed's bands: Novice 0-100, Apprentice 101-500, Scholar 501-1000,
# Expert 1001-5000, Master above 5000.
DEFAULT_LEVELS: tuple[LevelBand, ...] = (
    LevelBand("Novice", 0),
    LevelBand("Apprentice", 101),
    LevelBand("Scholar", 501),
    LevelBand("Expert", 1001),
    LevelBand("Master", 5001),
)


@dataclass(frozen=True, slots=True)
class Level:
    number: int  # 1 for the first band
    name: str
    points: int
    min_points: int
    next_level_at: int | None  # None at the top level

    @property
    def points_to_next(self) -> int | None:
        return None if self.next_level_at is None else self.next_level_at - self.points

    @property
    def progress(self) -> float:
        """Share of the way through the current band, 0..1 (1 at the top level)."""
        if self.next_level_at is None:
            return 1.0
        return (self.points - self.min_points) / (self.next_level_at - self.min_points)


def check_levels(bands: Sequence[LevelBand], field: str = "levels") -> tuple[LevelBand, ...]:
    if not bands or bands[0].min_points != 0:
        raise InvalidInput(field, "the first level must start at 0 points")
    for index, (before, after) in enumerate(itertools.pairwise(bands), start=1):
        if after.min_points <= before.min_points:
            raise InvalidInput(f"{field}[{index}]", "thresholds must strictly increase")
    return tuple(bands)


def level_for(points: int, bands: Sequence[LevelBand] = DEFAULT_LEVELS) -> Level:
    index = 0
    for position, band in enumerate(bands):
        if points >= band.min_points:
            index = position
    band = bands[index]
    following = bands[index + 1] if index + 1 < len(bands) else None
    return Level(
        number=index + 1,
        name=band.name,
        points=points,
        min_points=band.min_points,
        next_level_at=None if following is None else following.min_points,
    )
