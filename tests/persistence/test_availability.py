"""The watchers that decide whether the database can serve: pings and the embedded supervisor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from persistence.availability import Availability, DatabaseUnavailable, watch_pings
from persistence.embedded import EmbeddedServerError
from persistence.embedded.supervisor import supervise


async def run_for_a_while(task: asyncio.Task[None], seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_three_missed_pings_mark_the_database_down_and_one_answer_up_again() -> None:
    availability = Availability()
    answers = iter([False, False, False, True])
    states: list[bool] = []

    async def ping() -> None:
        if not next(answers, True):
            raise ConnectionError("no answer")

    async def watch() -> None:
        await watch_pings(availability, ping, interval=0)

    async def record_states() -> None:
        while len(states) < 10:
            states.append(availability.up)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    await record_states()
    await run_for_a_while(watcher, 0)

    assert False in states
    assert availability.up


def test_a_down_database_refuses_work_with_its_reason() -> None:
    availability = Availability()
    availability.down("the embedded database exited with code -9")
    with pytest.raises(DatabaseUnavailable, match="exited"):
        availability.check()


def test_a_held_outage_ignores_pings_until_its_holder_releases_it() -> None:
    availability = Availability()
    availability.down("restarting", hold=True)
    availability.restored()
    assert not availability.up
    availability.restored(release=True)
    assert availability.up


def test_a_lost_database_never_comes_back() -> None:
    availability = Availability()
    availability.lost("gone")
    availability.restored(release=True)
    assert not availability.up and availability.gone


class FakeServer:
    """Dies `deaths` times, then stays up; `restart` fails from its `broken_from`th call."""

    def __init__(self, deaths: int, broken_from: int | None = None) -> None:
        self.deaths = deaths
        self.restarts = 0
        self.broken_from = broken_from
        self.pid = 100
        self.log_path = Path("secantusd.log")

    async def wait_exited(self) -> int:
        if self.deaths == 0:
            await asyncio.Event().wait()  # up for good
        self.deaths -= 1
        return -9

    async def restart(self) -> None:
        self.restarts += 1
        if self.broken_from is not None and self.restarts >= self.broken_from:
            raise EmbeddedServerError("the data folder is damaged")
        self.pid += 1


async def ping() -> None:
    return None


async def test_a_database_that_dies_is_restarted_and_marked_up_again() -> None:
    server, availability, gave_up = FakeServer(deaths=2), Availability(), []
    fake: Any = server
    task = asyncio.create_task(
        supervise(fake, availability, ping=ping, give_up=lambda: gave_up.append(True))
    )
    await run_for_a_while(task)

    assert server.restarts == 2
    assert availability.up
    assert gave_up == []


async def test_a_database_dying_too_often_is_given_up_on() -> None:
    server, availability, gave_up = FakeServer(deaths=10), Availability(), []
    fake: Any = server
    await supervise(
        fake, availability, ping=ping, give_up=lambda: gave_up.append(True), max_restarts=3
    )

    assert server.restarts == 3
    assert availability.gone and not availability.up
    assert gave_up == [True]


async def test_a_database_that_cannot_restart_is_given_up_on() -> None:
    server, availability, gave_up = FakeServer(deaths=1, broken_from=1), Availability(), []
    fake: Any = server
    await supervise(fake, availability, ping=ping, give_up=lambda: gave_up.append(True))

    assert "damaged" in availability.reason
    assert gave_up == [True]
