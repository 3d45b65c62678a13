"""The outbound channel's settings, and the service starting and stopping its dispatcher."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import main
from domain.webhooks import OutboxMessage, encode_body, sign
from persistence.database import create_client
from persistence.outbox import DELIVERED
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from resolvers.services import Services
from tests.factories import TEST_SECRET
from tests.fakes import mongomock_database
from tests.webhook_receiver import Receiver

WEBHOOK_SECRET = "webhook-tests-only-secret-0123456789abcdef"
URL = "https://notify.example.test/hooks/cairn"
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No settings from the environment or a `.env` file."""
    for name in [n for n in os.environ if n.upper().startswith("CAIRN_")]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAIRN_JWT_SECRET", TEST_SECRET)
    monkeypatch.chdir(tmp_path)


def refused(capsys: pytest.CaptureFixture[str]) -> str:
    """Runs `serve` with the environment's settings; expects a refusal and returns it."""
    assert main.main(["serve"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err


def test_a_notification_service_without_a_secret_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_NOTIFICATION_SERVICE_URL", URL)

    err = refused(capsys)

    assert "CAIRN_WEBHOOK_SECRET must be set" in err
    assert URL not in err


def test_a_blank_secret_is_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_NOTIFICATION_SERVICE_URL", URL)
    monkeypatch.setenv("CAIRN_WEBHOOK_SECRET", "   ")

    assert "CAIRN_WEBHOOK_SECRET must be set" in refused(capsys)


def test_a_short_secret_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_NOTIFICATION_SERVICE_URL", URL)
    monkeypatch.setenv("CAIRN_WEBHOOK_SECRET", "hunter2-too-short")

    err = refused(capsys)

    assert "CAIRN_WEBHOOK_SECRET" in err
    assert "32 bytes" in err
    assert "hunter2" not in err


@pytest.mark.parametrize(
    "url",
    [
        "ftp://notify.example.test/hooks",
        "file:///etc/passwd",
        "notify.example.test/hooks",
        "http://",
        "javascript:alert(1)",
    ],
)
def test_only_an_http_or_https_url_is_taken(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_NOTIFICATION_SERVICE_URL", url)
    monkeypatch.setenv("CAIRN_WEBHOOK_SECRET", WEBHOOK_SECRET)

    err = refused(capsys)

    assert "CAIRN_NOTIFICATION_SERVICE_URL" in err
    assert "http:// or https://" in err
    assert WEBHOOK_SECRET not in err


def test_without_a_notification_service_the_outbox_is_off() -> None:
    settings = main.Settings()
    services = main.build_services(mongomock_database(), settings)

    assert settings.webhooks is None
    assert not services.outbox.enabled


def test_with_a_notification_service_the_outbox_is_on_with_its_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAIRN_NOTIFICATION_SERVICE_URL", URL)
    monkeypatch.setenv("CAIRN_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("CAIRN_WEBHOOK_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("CAIRN_WEBHOOK_TIMEOUT_SECONDS", "2.5")

    settings = main.Settings()
    services = main.build_services(mongomock_database(), settings)

    webhooks = settings.webhooks
    assert webhooks is not None
    assert (webhooks.url, webhooks.secret) == (URL, WEBHOOK_SECRET)
    assert (webhooks.schedule.max_attempts, webhooks.timeout_seconds) == (7, 2.5)
    assert webhooks.lease_time > timedelta(seconds=2.5)
    assert services.outbox.enabled


@pytest.mark.real_db
@pytest.mark.asyncio(loop_scope="session")
async def test_the_service_sends_webhooks_while_it_runs_and_stops_the_dispatcher_with_it(
    real_mongodb_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"cairn_test_{uuid.uuid4().hex[:12]}"
    async with Receiver(WEBHOOK_SECRET) as receiver:
        monkeypatch.setenv("CAIRN_NOTIFICATION_SERVICE_URL", receiver.url)
        monkeypatch.setenv("CAIRN_WEBHOOK_SECRET", WEBHOOK_SECRET)
        monkeypatch.setenv("CAIRN_DATABASE", name)
        settled: list[bool] = []

        def settle_heap() -> int:
            settled.append(True)
            return 0

        monkeypatch.setattr(main, "settle_heap", settle_heap)
        app = main.create_app(main.Settings(), real_mongodb_uri)
        try:
            async with app.router.lifespan_context(app):
                assert settled == [True]  # the startup heap is set aside once started
                services: Services = app.state.services
                dispatcher = services.outbox.dispatcher
                assert dispatcher is not None and dispatcher.running
                sent = OutboxMessage(
                    id="unlock|ada|first-event",
                    kind="achievement_unlocked",
                    user_id="ada",
                    payload={"achievement": "first-event"},
                    created_at=datetime.now(UTC),
                )

                async def work(unit: UnitOfWork) -> None:
                    services.outbox.write(unit, [sent])

                await TransactionRunner(services.repositories).run(work)
                services.outbox.wake()
                deadline = asyncio.get_running_loop().time() + 10
                while (entry := await services.repositories.outbox.get(sent.id)) is None or (
                    entry.status != DELIVERED
                ):
                    assert asyncio.get_running_loop().time() < deadline, "timed out"
                    await asyncio.sleep(0.01)
            assert not dispatcher.running
        finally:
            client = create_client(real_mongodb_uri)
            await client.drop_database(name)
            client.close()

    assert receiver.ids == [sent.id]
    assert receiver.received[0].signed


def readme_verify() -> Callable[[str, str, bytes], bool]:
    """The signature check the README gives receivers, as a function."""
    section = README.read_text().split("**Verifying the signature.**", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert snippet is not None
    namespace: dict[str, object] = {}
    exec(snippet[1], namespace)
    verify = namespace["verify"]
    assert callable(verify)
    return verify


def test_the_readme_verification_snippet_accepts_a_delivery_and_refuses_a_forgery() -> None:
    verify = readme_verify()
    body = encode_body(
        OutboxMessage(
            id="unlock|ada|streak-7",
            kind="achievement_unlocked",
            user_id="ada",
            payload={"points": 50},
            created_at=datetime.now(UTC),
        )
    )
    now = int(time.time())
    header = sign(WEBHOOK_SECRET, body, timestamp=now)

    assert verify(WEBHOOK_SECRET, header, body)
    assert not verify(WEBHOOK_SECRET, header, body.replace(b"50", b"500"))
    assert not verify("another-secret-of-at-least-32-bytes-000", header, body)
    assert not verify(WEBHOOK_SECRET, sign(WEBHOOK_SECRET, body, timestamp=now - 600), body)
    assert not verify(WEBHOOK_SECRET, "v1=" + header.split("v1=")[1], body)
    assert not verify(WEBHOOK_SECRET, "garbage", body)
