from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.learners import Learner, check_time_zone, validate_learner


@pytest.mark.parametrize(
    "zone", ["Europe/Paris", "UTC", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe"]
)
def test_iana_time_zones_are_accepted(zone: str) -> None:
    assert check_time_zone(zone, "learner.timeZone") == zone


@pytest.mark.parametrize(
    "zone",
    ["Mars/Base", "../../etc/passwd", "/etc/localtime", "", "europe/paris", " UTC", "Europe/"],
)
def test_anything_else_is_rejected_naming_the_field(zone: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_time_zone(zone, "learners[1].timeZone")
    assert error.value.field == "learners[1].timeZone"


def test_validating_a_learner_trims_the_display_name() -> None:
    learner = validate_learner(
        Learner(id="ada", display_name="  Ada Lovelace ", time_zone="Europe/London"), "learner"
    )
    assert learner == Learner(id="ada", display_name="Ada Lovelace", time_zone="Europe/London")


def test_a_learner_without_a_display_name_keeps_none() -> None:
    assert validate_learner(Learner(id="ada"), "learner").display_name is None


@pytest.mark.parametrize(
    ("learner", "field"),
    [
        (Learner(id=""), "learners[0].id"),
        (Learner(id="a b"), "learners[0].id"),
        (Learner(id="ada", display_name="   "), "learners[0].displayName"),
        (Learner(id="ada", display_name="x" * 301), "learners[0].displayName"),
        (Learner(id="ada", time_zone="Mars/Base"), "learners[0].timeZone"),
    ],
)
def test_an_invalid_learner_is_rejected_naming_the_field(learner: Learner, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        validate_learner(learner, "learners[0]")
    assert error.value.field == field
