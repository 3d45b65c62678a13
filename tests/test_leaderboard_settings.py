"""The leaderboard settings: read from CAIRN_LEADERBOARD_*, checked, handed to the services."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import main
from domain.leaderboards import Privacy
from tests.fakes import mongomock_database


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CAIRN_LEADERBOARD_SIZE", raising=False)
    monkeypatch.delenv("CAIRN_LEADERBOARD_MODE", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env file


def test_the_defaults_are_a_top_ten_and_an_anonymous_overall_board() -> None:
    settings = main.Settings().leaderboards

    assert (settings.size, settings.mode) == (10, Privacy.ANONYMOUS)


def test_the_mode_is_read_in_either_case_and_reaches_the_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAIRN_LEADERBOARD_MODE", "FULL_NAME")
    monkeypatch.setenv("CAIRN_LEADERBOARD_SIZE", "25")

    services = main.build_services(mongomock_database(), main.Settings())

    assert (services.leaderboards.size, services.leaderboards.mode) == (25, Privacy.FULL_NAME)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CAIRN_LEADERBOARD_SIZE", "0"),
        ("CAIRN_LEADERBOARD_SIZE", "101"),
        ("CAIRN_LEADERBOARD_MODE", "public"),
    ],
)
def test_a_bad_value_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name.removeprefix("CAIRN_").lower()):
        main.Settings()
