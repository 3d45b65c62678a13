"""The service and its embedded database under kills: what an operator sees and gets back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ADMIN_AUTH, Service, start_service, stop_service

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(os.environ.get("CAIRN_TEST_MONGODB_URI")),
        reason="supervises the embedded database only",
    ),
]

RECORD = """
mutation($input: RecordEventInput!) { recordEvent(input: $input) { status } }
"""
CATALOG = """
mutation {
  upsertSkills(skills: [{id: "sup-s", name: "Supervised"}]) { skillId }
  upsertContent(items: [{id: "sup-1", title: "One", kind: QUESTION, skillIds: ["sup-s"]}]) {
    contentId
  }
}
"""


def database_pid(data_dir: Path) -> int:
    """The embedded server's pid, as its folder lock records it."""
    text = (data_dir / "db" / "cairn.lock").read_text()
    found = re.search(r"SecantusDB pid (\d+)", text)
    assert found, text
    return int(found.group(1))


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def wait_until(condition: Callable[[], bool], *, within: float, what: str) -> float:
    """Polls `condition` until it holds; returns how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {within} s")


def graphql(service: Service, query: str, **variables: object) -> httpx.Response:
    return httpx.post(
        service.graphql,
        json={"query": query, "variables": variables},
        headers=ADMIN_AUTH,
        timeout=15,
    )


def status_of(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def event(event_id: str) -> dict[str, object]:
    return {
        "learnerId": "sup-ada",
        "eventId": event_id,
        "type": "ANSWERED",
        "contentId": "sup-1",
        "score": 0.8,
    }


def start(data_dir: Path) -> tuple[subprocess.Popen[bytes], Service]:
    """A service of its own on `data_dir`."""
    return start_service(data_dir, database=f"cairn_sup_{uuid.uuid4().hex[:8]}")


def test_a_killed_service_takes_its_database_along_and_restarts_on_the_same_folder(
    tmp_path: Path,
) -> None:
    database = f"cairn_sup_{uuid.uuid4().hex[:8]}"
    process, service = start_service(tmp_path, database=database)
    try:
        assert graphql(service, CATALOG).status_code == 200
        recorded = graphql(service, RECORD, input=event("e1")).json()
        assert recorded["data"]["recordEvent"]["status"] == "RECORDED"
        child = database_pid(tmp_path)

        process.kill()
        process.wait()
        wait_until(lambda: not is_alive(child), within=10, what="the database's exit")

        process, service = start_service(tmp_path, database=database)
        replayed = graphql(service, RECORD, input=event("e1")).json()
        assert replayed["data"]["recordEvent"]["status"] == "REPLAYED"  # it survived the kill
    finally:
        stop_service(process)


def test_a_dead_database_fails_requests_fast_and_is_restarted(tmp_path: Path) -> None:
    process, service = start(tmp_path)
    try:
        assert graphql(service, CATALOG).status_code == 200
        child = database_pid(tmp_path)

        os.kill(child, signal.SIGKILL)
        wait_until(
            lambda: status_of(f"{service.url}/health/ready") == 503,
            within=5,
            what="readiness failing",
        )
        started = time.monotonic()
        during = graphql(service, RECORD, input=event("e2"))
        answered_in = time.monotonic() - started

        assert answered_in < 2  # at once, not after the driver's 10 s timeout
        if during.status_code == 503:  # the restart may already be done
            assert during.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert during.headers["Retry-After"]
        wait_until(
            lambda: status_of(f"{service.url}/health/ready") == 200,
            within=30,
            what="the database's restart",
        )
        assert database_pid(tmp_path) != child
        after = graphql(service, RECORD, input=event("e3"))
        assert after.json()["data"]["recordEvent"]["status"] == "RECORDED"
        assert status_of(f"{service.url}/health/live") == 200
    finally:
        stop_service(process)


def test_a_database_that_keeps_dying_stops_the_service_with_an_error(tmp_path: Path) -> None:
    process, service = start(tmp_path)
    try:
        for _ in range(4):  # three restarts are allowed in five minutes; the fourth death ends it
            child = database_pid(tmp_path)
            os.kill(child, signal.SIGKILL)

            def restarted_or_stopped(killed: int = child) -> bool:
                if process.poll() is not None:
                    return True
                ready = status_of(f"{service.url}/health/ready") == 200
                return ready and database_pid(tmp_path) != killed

            wait_until(restarted_or_stopped, within=30, what="a restart or the service's exit")
        process.wait(timeout=30)
        assert process.returncode == 1
    finally:
        stop_service(process)


def test_sigterm_stops_the_service_and_its_database_in_bounded_time(tmp_path: Path) -> None:
    process, _ = start(tmp_path)
    child = database_pid(tmp_path)

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    took = time.monotonic() - started

    assert process.returncode == 0
    assert took < 10 + 2  # the default budget, plus the interpreter's own exit
    assert not is_alive(child)
