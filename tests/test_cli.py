"""The command line's `token` command and the demo tokens `serve --seed-demo-if-empty` prints."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

import main
from domain.access import Role, Viewer
from schema.tokens import MAX_TTL_SECONDS, SECRET_FILE, TokenSettings, TokenVerifier

SECRET = "cli-tests-only-shared-secret-0123456789abcdef"
TOKEN_VARIABLES = (
    "CAIRN_JWT_SECRET",
    "CAIRN_JWKS_URL",
    "CAIRN_JWT_ISSUER",
    "CAIRN_JWT_AUDIENCE",
    "CAIRN_JWT_ROLES_CLAIM",
    "CAIRN_JWT_LEEWAY_SECONDS",
    "CAIRN_DATA_DIR",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token settings from the environment or a `.env` file; any data folder in tmp_path."""
    prefixes = ("CAIRN_JWT", "CAIRN_JWKS", "CAIRN_DATA_DIR")
    for name in {*TOKEN_VARIABLES, *(n for n in os.environ if n.upper().startswith(prefixes))}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run_token(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Runs `main.py token ARGS`: its exit code, the token printed (stripped), and stderr."""
    code = main.main(["token", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err


async def verified(token: str, settings: TokenSettings) -> Viewer:
    return await TokenVerifier(settings).viewer_for(f"Bearer {token}")


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def test_token_prints_a_token_for_the_subject_and_role(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)

    code, token, err = run_token(capsys, "--subject", "ada", "--role", "learner", "--ttl", "120")
    viewer = await verified(token, TokenSettings(secret=SECRET))

    assert (code, err) == (0, "")
    assert len(token.splitlines()) == 1
    assert viewer.id == "ada"
    assert viewer.roles == frozenset({Role.LEARNER})
    assert viewer.expires_at is not None
    ahead = (viewer.expires_at - datetime.now(UTC)).total_seconds()
    assert 110 <= ahead <= 121


async def test_token_takes_several_roles(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)

    code, token, _ = run_token(
        capsys, "--subject", "sam", "--role", "parent", "--role", "educator", "--role", "parent"
    )
    viewer = await verified(token, TokenSettings(secret=SECRET))

    assert code == 0
    assert viewer.roles == frozenset({Role.PARENT, Role.EDUCATOR})
    assert claims_of(token)["roles"] == ["parent", "educator"]


async def test_token_lasts_an_hour_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)

    _, token, _ = run_token(capsys, "--subject", "ada", "--role", "learner")

    claims = claims_of(token)
    assert claims["exp"] - claims["iat"] == 3600


def test_token_refuses_an_unknown_role(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)

    with pytest.raises(SystemExit) as exited:
        main.main(["token", "--subject", "ada", "--role", "superuser"])

    out, err = capsys.readouterr()
    assert exited.value.code == 2
    assert out == ""
    assert "superuser" in err


def test_token_needs_a_subject_and_a_role(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)

    with pytest.raises(SystemExit) as no_role:
        main.main(["token", "--subject", "ada"])
    with pytest.raises(SystemExit) as no_subject:
        main.main(["token", "--role", "learner"])

    assert (no_role.value.code, no_subject.value.code) == (2, 2)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("ttl", ["0", "-5", str(MAX_TTL_SECONDS + 1)])
def test_token_refuses_a_lifetime_outside_one_second_to_a_year(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ttl: str
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)

    code, out, err = run_token(capsys, "--subject", "ada", "--role", "learner", "--ttl", ttl)

    assert code == 2
    assert out == ""
    assert err.startswith("cairn: ")
    assert "ttl" in err


async def test_token_accepts_a_lifetime_of_exactly_a_year(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)

    code, token, _ = run_token(
        capsys, "--subject", "ada", "--role", "learner", "--ttl", str(MAX_TTL_SECONDS)
    )

    assert code == 0
    claims = claims_of(token)
    assert claims["exp"] - claims["iat"] == MAX_TTL_SECONDS


def test_token_refuses_a_blank_subject(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)

    code, out, err = run_token(capsys, "--subject", "  ", "--role", "learner")

    assert (code, out) == (2, "")
    assert "subject" in err


def test_token_refuses_when_an_identity_provider_issues_the_tokens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CAIRN_JWKS_URL", "https://idp.example/jwks")

    code, out, err = run_token(capsys, "--subject", "ada", "--role", "learner")

    assert (code, out) == (2, "")
    assert "identity provider" in err
    assert "CAIRN_JWKS_URL" in err
    assert list(tmp_path.iterdir()) == []  # no secret made for nothing


async def test_token_without_a_configured_secret_uses_one_kept_in_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CAIRN_DATA_DIR", str(data_dir))

    first_code, first, _ = run_token(capsys, "--subject", "ada", "--role", "learner")
    secret_file = data_dir / SECRET_FILE
    kept = secret_file.read_text(encoding="utf-8").strip()
    second_code, second, _ = run_token(capsys, "--subject", "grace", "--role", "learner")

    assert (first_code, second_code) == (0, 0)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(kept.encode()) >= 32
    assert secret_file.read_text(encoding="utf-8").strip() == kept  # not made again
    settings = TokenSettings(secret=kept)
    assert (await verified(first, settings)).id == "ada"
    assert (await verified(second, settings)).id == "grace"
    assert sorted(path.name for path in data_dir.iterdir()) == [SECRET_FILE]  # no leftovers


@pytest.mark.parametrize("where", ["environment", "data folder"])
def test_token_refuses_a_short_secret_with_a_message(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    where: str,
) -> None:
    if where == "environment":
        monkeypatch.setenv("CAIRN_JWT_SECRET", "too-short")
    else:
        monkeypatch.setenv("CAIRN_DATA_DIR", str(tmp_path))
        (tmp_path / SECRET_FILE).write_text("too-short\n", encoding="utf-8")

    code, out, err = run_token(capsys, "--subject", "ada", "--role", "learner")

    assert (code, out) == (2, "")
    assert err.startswith("cairn: ")
    assert "32 bytes" in err


async def test_token_carries_the_configured_issuer_and_audience(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)
    monkeypatch.setenv("CAIRN_JWT_ISSUER", "https://cairn.example")
    monkeypatch.setenv("CAIRN_JWT_AUDIENCE", "cairn-api")

    code, token, _ = run_token(capsys, "--subject", "ada", "--role", "learner")
    matching = TokenSettings(secret=SECRET, issuer="https://cairn.example", audience="cairn-api")
    viewer = await verified(token, matching)

    assert code == 0
    claims = claims_of(token)
    assert (claims["iss"], claims["aud"]) == ("https://cairn.example", "cairn-api")
    assert viewer.id == "ada"


async def test_a_blank_issuer_or_audience_counts_as_unset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)
    monkeypatch.setenv("CAIRN_JWT_ISSUER", "")
    monkeypatch.setenv("CAIRN_JWT_AUDIENCE", "  ")

    code, token, err = run_token(capsys, "--subject", "ada", "--role", "learner")

    assert (code, err) == (0, "")
    claims = claims_of(token)
    assert "iss" not in claims
    assert "aud" not in claims
    assert (await verified(token, TokenSettings(secret=SECRET))).id == "ada"


async def test_token_puts_the_roles_where_the_roles_claim_says(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)
    monkeypatch.setenv("CAIRN_JWT_ROLES_CLAIM", "realm_access.roles")

    code, token, _ = run_token(capsys, "--subject", "ada", "--role", "educator")
    viewer = await verified(token, TokenSettings(secret=SECRET, roles_claim="realm_access.roles"))

    assert code == 0
    assert claims_of(token)["realm_access"] == {"roles": ["educator"]}
    assert viewer.roles == frozenset({Role.EDUCATOR})


def test_the_settings_read_token_variables_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"CAIRN_JWT_SECRET={SECRET}\nCAIRN_JWT_ISSUER=\n")

    tokens = main.Settings().token_settings()

    assert tokens.secret == SECRET
    assert tokens.issuer is None


def test_websocket_compression_is_served_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)
    app = main.create_app(main.Settings(), "mongodb://unused")

    plain = main.server_config(app, main.Settings())
    monkeypatch.setenv("CAIRN_WEBSOCKET_COMPRESSION", "true")
    compressed = main.server_config(app, main.Settings())

    assert (plain.ws_per_message_deflate, compressed.ws_per_message_deflate) == (False, True)


# The demo tokens

DEMO_LINE = re.compile(r"^  (?P<subject>\S+) \((?P<role>\w+)\): (?P<token>\S+)$")


async def test_demo_tokens_give_one_line_per_demo_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)
    tokens = main.Settings().token_settings()

    text = main.demo_tokens(tokens)

    heading, *lines = text.splitlines()
    assert "Headers" in heading
    assert '{"Authorization": "Bearer <token>"}' in heading
    assert len(lines) == len(main.DEMO_USERS)
    for line, (subject, role) in zip(lines, main.DEMO_USERS, strict=True):
        found = DEMO_LINE.match(line)
        assert found is not None, line
        assert (found["subject"], found["role"]) == (subject, str(role))
        viewer = await verified(found["token"], tokens)
        assert viewer.id == subject
        assert viewer.roles == frozenset({role})
        assert viewer.expires_at is not None
        lifetime = viewer.expires_at - datetime.now(UTC)
        assert timedelta(days=7) - timedelta(minutes=1) < lifetime <= timedelta(days=7)


def test_the_demo_users_are_the_seeded_people() -> None:
    assert dict(main.DEMO_USERS) == {
        "demo-ada": Role.LEARNER,
        "demo-grace": Role.LEARNER,
        "demo-parent": Role.PARENT,
        "demo-educator": Role.EDUCATOR,
        "demo-admin": Role.ADMIN,
    }


async def test_demo_tokens_follow_the_issuer_audience_and_roles_claim() -> None:
    tokens = TokenSettings(
        secret=SECRET, issuer="https://cairn.example", audience="cairn-api", roles_claim="cairn"
    )

    text = main.demo_tokens(tokens)

    for line in text.splitlines()[1:]:
        found = DEMO_LINE.match(line)
        assert found is not None, line
        viewer = await verified(found["token"], tokens)
        assert viewer.id == found["subject"]
        assert [str(role) for role in viewer.roles] == [found["role"]]


def test_there_are_no_demo_tokens_when_an_identity_provider_issues_them() -> None:
    assert main.demo_tokens(TokenSettings(jwks_url="https://idp.example/jwks")) == ""


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"CAIRN_JWT_SECRET": "short-secret-value"}, "CAIRN_JWT_SECRET"),
        ({"CAIRN_JWT_SECRET": "x" * 40, "CAIRN_JWKS_URL": "https://idp.example/jwks"}, ""),
    ],
)
def test_serve_refuses_bad_token_settings_naming_them_without_their_value(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    named: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    code = main.main(["serve"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("cairn: invalid settings: ")
    assert named in err
    assert "short-secret-value" not in err and "x" * 40 not in err


def test_serve_refuses_a_short_secret_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CAIRN_DATA_DIR", str(tmp_path))
    (tmp_path / SECRET_FILE).write_text("too-short\n", encoding="utf-8")

    assert main.main(["serve"]) == 2
    assert "32 bytes" in capsys.readouterr().err


def test_settling_the_heap_sets_what_is_held_aside_from_the_collector() -> None:
    held = [{"n": n} for n in range(1_000)]
    try:
        frozen = main.settle_heap()

        assert frozen >= len(held)
        assert gc.get_freeze_count() == frozen
        tracked = {id(value) for value in gc.get_objects()}
        assert not any(id(value) in tracked for value in held)
    finally:
        gc.unfreeze()


# The event loop


@pytest.fixture
def served_loops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`serve` replaced by one that notes the module of the loop it runs on."""
    loops: list[str] = []

    async def fake_serve(settings: main.Settings, *, seed_if_empty: bool) -> int:
        loops.append(type(asyncio.get_running_loop()).__module__.split(".")[0])
        return 0

    monkeypatch.setenv("CAIRN_JWT_SECRET", SECRET)
    monkeypatch.setattr(main, "serve", fake_serve)
    monkeypatch.setattr(main, "configure_logging", lambda *args: None)
    return loops


def test_serve_runs_on_uvloop_unless_told_to_use_asyncio(
    monkeypatch: pytest.MonkeyPatch, served_loops: list[str]
) -> None:
    assert main.main(["serve"]) == 0
    monkeypatch.setenv("CAIRN_EVENT_LOOP", "asyncio")
    assert main.main(["serve"]) == 0

    assert served_loops == ["uvloop", "asyncio"]


def test_serve_refuses_an_unknown_event_loop_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], served_loops: list[str]
) -> None:
    monkeypatch.setenv("CAIRN_EVENT_LOOP", "trio")

    assert main.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "CAIRN_EVENT_LOOP" in err and "'uvloop' or 'asyncio'" in err
    assert served_loops == []


def test_without_uvloop_the_service_runs_on_asyncio_and_logs_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as where it is not installed (Windows)

    with caplog.at_level(logging.WARNING, logger="cairn"):
        factory = main.loop_factory("uvloop")

    assert factory is asyncio.new_event_loop
    assert "uvloop is not installed" in caplog.text
