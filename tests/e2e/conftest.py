"""The service started as its own process, on the embedded server (or CAIRN_TEST_MONGODB_URI)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from domain.access import Role
from tests.factories import TEST_SECRET, bearer

ROOT = Path(__file__).resolve().parents[2]
# What the tests' clients send: an administrator's token, signed with the service's secret.
ADMIN_AUTH = {"Authorization": bearer("e2e-admin", Role.ADMIN)}


@dataclass(frozen=True)
class Service:
    url: str

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    @property
    def websocket(self) -> str:
        return self.graphql.replace("http://", "ws://")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_service(
    data_dir: Path,
    *,
    database: str,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> tuple[subprocess.Popen[bytes], Service]:
    port = free_port()
    environment = {
        **os.environ,
        "CAIRN_HOST": "127.0.0.1",
        "CAIRN_PORT": str(port),
        "CAIRN_DATA_DIR": str(data_dir),
        "CAIRN_DATABASE": database,
        "CAIRN_LOG_LEVEL": "warning",
        "CAIRN_JWT_SECRET": TEST_SECRET,
        **(env or {}),
    }
    external = os.environ.get("CAIRN_TEST_MONGODB_URI")
    if external:
        environment["CAIRN_MONGODB_URI"] = external
    log = (data_dir / f"service-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "serve", *args],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    service = Service(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((data_dir / f"service-{port}.log").read_text())
        try:
            if httpx.get(f"{service.url}/health/ready", timeout=1).status_code == 200:
                return process, service
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the service did not become ready within 60 s")


def live_subscribers(service: Service) -> float:
    """The `cairn_live_subscribers` gauge of the service's process."""
    text = httpx.get(f"{service.url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith("cairn_live_subscribers "):
            return float(line.split()[1])
    raise AssertionError("no cairn_live_subscribers in /metrics")


async def wait_for_subscribers(service: Service, at_least: int, *, within: float = 15) -> None:
    """Polls until the service counts `at_least` live subscriptions: a subscription is
    registered some time after the client sends it, and nothing else says when."""
    deadline = time.monotonic() + within
    while live_subscribers(service) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {at_least} live subscribers after {within} s")
        await asyncio.sleep(0.05)


def stop_service(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("service")
    process, running = start_service(data_dir, database=f"cairn_e2e_{uuid.uuid4().hex[:8]}")
    try:
        yield running
    finally:
        stop_service(process)
