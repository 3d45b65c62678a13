"""Bearer tokens: the header is parsed, the token verified with pinned algorithms, the viewer read.

Identity-provider mode runs against a JWKS served over HTTP on 127.0.0.1, with RSA and EC (P-256)
keys made here. Expiry is tested through `now=` and the leeway, never by waiting.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import json
import logging
import os
import socket
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from domain.access import ANONYMOUS, Role
from schema.tokens import (
    SECRET_FILE,
    InvalidToken,
    TokenSettings,
    TokenVerifier,
    issue_token,
    load_or_create_secret,
)

SECRET = "correct-horse-battery-staple-0123456789"  # 39 bytes
OTHER_SECRET = "another-shared-secret-for-forgeries-000"
LONG_SECRET = "x" * 64  # long enough to sign HS512 without a key-length warning


def now() -> datetime:
    return datetime.now(UTC)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def claims(**extra: Any) -> dict[str, Any]:
    """Valid claims for five minutes; `extra` adds or (with None) removes claims."""
    base: dict[str, Any] = {"sub": "ada", "exp": epoch(now() + timedelta(minutes=5))}
    base.update(extra)
    return {name: value for name, value in base.items() if value is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(token: str) -> str:
    return f"Bearer {token}"


def verifier(**settings: Any) -> TokenVerifier:
    return TokenVerifier(TokenSettings(**{"secret": SECRET, **settings}))


async def reason_for(tokens: TokenVerifier, authorization: str) -> str:
    with pytest.raises(InvalidToken) as raised:
        await tokens.viewer_for(authorization)
    return raised.value.reason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_token(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """An HMAC-SHA256 token signed with any key: PyJWT refuses to sign with a PEM key."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


# Issuing and reading back


async def test_an_issued_token_verifies_to_its_viewer() -> None:
    issued_at = now().replace(microsecond=0)
    token = issue_token(
        SECRET,
        subject="ada",
        roles=[Role.LEARNER, "parent", Role.LEARNER],
        ttl_seconds=600,
        now=issued_at,
    )

    viewer = await verifier().viewer_for(bearer(token))

    assert viewer.id == "ada"
    assert viewer.roles == frozenset({Role.LEARNER, Role.PARENT})
    assert viewer.expires_at == issued_at + timedelta(seconds=600)
    assert viewer.expires_at.tzinfo is UTC
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert payload["roles"] == ["learner", "parent"]
    assert payload["iat"] == payload["nbf"] == epoch(issued_at)
    assert "iss" not in payload and "aud" not in payload


async def test_an_issued_token_carries_issuer_audience_and_nested_roles() -> None:
    token = issue_token(
        SECRET,
        subject="grace",
        roles=["admin"],
        ttl_seconds=60,
        issuer="https://id.cairn.test",
        audience="cairn",
        roles_claim="realm_access.roles",
    )
    tokens = verifier(
        issuer="https://id.cairn.test", audience="cairn", roles_claim="realm_access.roles"
    )

    viewer = await tokens.viewer_for(bearer(token))

    assert viewer.roles == frozenset({Role.ADMIN})
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="cairn")
    assert payload["realm_access"] == {"roles": ["admin"]}
    assert payload["iss"] == "https://id.cairn.test"


@pytest.mark.parametrize("ttl_seconds", [0, -1, 31_536_001])
def test_issuing_refuses_a_ttl_out_of_range(ttl_seconds: int) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        issue_token(SECRET, subject="ada", roles=[], ttl_seconds=ttl_seconds)


def test_issuing_accepts_the_ttl_bounds() -> None:
    for ttl_seconds in (1, 31_536_000):
        assert issue_token(SECRET, subject="ada", roles=[], ttl_seconds=ttl_seconds)


def test_issuing_refuses_an_unknown_role_by_name() -> None:
    with pytest.raises(ValueError, match="'wizard'"):
        issue_token(SECRET, subject="ada", roles=["learner", "wizard"], ttl_seconds=60)


def test_issuing_refuses_a_short_secret_and_an_empty_subject() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        issue_token("short", subject="ada", roles=[], ttl_seconds=60)
    with pytest.raises(ValueError, match="subject"):
        issue_token(SECRET, subject="", roles=[], ttl_seconds=60)


# The Authorization header


@pytest.mark.parametrize("authorization", [None, "", "   "])
async def test_no_credential_is_the_anonymous_viewer(authorization: str | None) -> None:
    assert await verifier().viewer_for(authorization) is ANONYMOUS


@pytest.mark.parametrize("scheme", ["Bearer ", "bearer ", "BEARER   ", "  Bearer "])
async def test_the_bearer_scheme_is_case_insensitive_with_one_space_or_more(scheme: str) -> None:
    token = issue_token(SECRET, subject="ada", roles=["learner"], ttl_seconds=60)
    viewer = await verifier().viewer_for(scheme + token)
    assert viewer.id == "ada"


@pytest.mark.parametrize(
    "authorization",
    [
        "{token}",  # no scheme
        "Basic YWRhOnNlY3JldA==",
        "Basic {token}",
        "Bearer",
        "Bearer{token}",
        "Bearer {token} {token}",
        "Token {token}",
    ],
)
async def test_anything_but_bearer_and_one_token_is_refused(authorization: str) -> None:
    token = issue_token(SECRET, subject="ada", roles=["learner"], ttl_seconds=60)
    reason = await reason_for(verifier(), authorization.format(token=token))
    assert reason == 'the Authorization header must be "Bearer <token>"'
    assert token not in reason


async def test_a_header_over_8_kib_is_refused_unparsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def unexpected(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the token was parsed")

    monkeypatch.setattr(jwt, "get_unverified_header", unexpected)
    monkeypatch.setattr(jwt, "decode", unexpected)
    token = hs256(claims(padding="p" * 9000))

    assert await reason_for(verifier(), bearer(token)) == "the Authorization header is too long"


# Algorithms


async def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode(claims(), "", algorithm="none")  # "": no key
    reason = await reason_for(verifier(), bearer(token))
    assert reason == "the token's algorithm is not accepted"


async def test_an_rs256_token_is_refused_with_a_shared_secret(rsa_key: rsa.RSAPrivateKey) -> None:
    token = jwt.encode(claims(), rsa_key, algorithm="RS256")
    reason = await reason_for(verifier(), bearer(token))
    assert reason == "the token's algorithm is not accepted"


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_other_hmac_algorithms_are_refused_with_a_shared_secret(algorithm: str) -> None:
    token = jwt.encode(claims(), LONG_SECRET, algorithm=algorithm)
    reason = await reason_for(verifier(secret=LONG_SECRET), bearer(token))
    assert reason == "the token's algorithm is not accepted"


def test_the_algorithms_are_pinned_per_mode() -> None:
    assert verifier().algorithms == ("HS256",)
    jwks = TokenVerifier(TokenSettings(jwks_url="https://id.cairn.test/jwks"))
    assert jwks.algorithms == ("RS256", "ES256")


# Claims


async def test_a_token_without_expiry_is_refused() -> None:
    reason = await reason_for(verifier(), bearer(hs256(claims(exp=None))))
    assert reason == "the token has no expiry"


async def test_a_token_without_subject_is_refused() -> None:
    reason = await reason_for(verifier(), bearer(hs256(claims(sub=None))))
    assert reason == "the token has no subject"


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("", "the token has no subject"),
        ("   ", "the token has no subject"),
        ("a" * 201, "the token's subject is not valid"),
        (42, "the token's subject is not valid"),
    ],
)
async def test_a_subject_must_be_a_non_empty_string_of_200_at_most(
    subject: Any, reason: str
) -> None:
    assert await reason_for(verifier(), bearer(hs256(claims(sub=subject)))) == reason


async def test_a_subject_of_200_characters_is_accepted() -> None:
    viewer = await verifier().viewer_for(bearer(hs256(claims(sub="a" * 200))))
    assert viewer.id == "a" * 200


async def test_an_expired_token_is_refused_beyond_the_leeway() -> None:
    issued = now() - timedelta(seconds=60 + 31)  # expired 31 s ago
    token = issue_token(SECRET, subject="ada", roles=[], ttl_seconds=60, now=issued)
    assert await reason_for(verifier(), bearer(token)) == "the token has expired"


async def test_an_expired_token_is_accepted_within_the_leeway() -> None:
    issued = now() - timedelta(seconds=60 + 20)  # expired 20 s ago, leeway 30 s
    token = issue_token(SECRET, subject="ada", roles=[], ttl_seconds=60, now=issued)

    viewer = await verifier().viewer_for(bearer(token))

    assert viewer.id == "ada"
    assert viewer.expires_at is not None and viewer.expires_at < now()
    with pytest.raises(InvalidToken, match="expired"):
        await verifier(leeway_seconds=0).viewer_for(bearer(token))


async def test_a_token_not_valid_yet_is_refused_beyond_the_leeway() -> None:
    token = hs256(claims(iat=epoch(now()), nbf=epoch(now() + timedelta(seconds=60))))
    assert await reason_for(verifier(), bearer(token)) == "the token is not yet valid"


async def test_a_token_valid_in_a_moment_is_accepted_within_the_leeway() -> None:
    token = hs256(claims(nbf=epoch(now() + timedelta(seconds=10))))
    assert (await verifier().viewer_for(bearer(token))).id == "ada"


async def test_a_token_issued_in_the_future_is_refused() -> None:
    issued = now() + timedelta(minutes=5)
    token = issue_token(SECRET, subject="ada", roles=[], ttl_seconds=600, now=issued)
    assert await reason_for(verifier(), bearer(token)) == "the token is not yet valid"


async def test_the_issuer_is_checked_only_when_configured() -> None:
    ours = hs256(claims(iss="https://id.cairn.test"))
    theirs = hs256(claims(iss="https://elsewhere.test"))
    none = hs256(claims())
    checking = verifier(issuer="https://id.cairn.test")

    assert (await verifier().viewer_for(bearer(theirs))).id == "ada"
    assert (await checking.viewer_for(bearer(ours))).id == "ada"
    assert await reason_for(checking, bearer(theirs)) == "the token's issuer is not accepted"
    assert await reason_for(checking, bearer(none)) == "the token's issuer is not accepted"


async def test_the_audience_is_checked_only_when_configured() -> None:
    ours = hs256(claims(aud="cairn"))
    among = hs256(claims(aud=["billing", "cairn"]))
    theirs = hs256(claims(aud="billing"))
    none = hs256(claims())
    checking = verifier(audience="cairn")

    assert (await verifier().viewer_for(bearer(theirs))).id == "ada"
    assert (await checking.viewer_for(bearer(ours))).id == "ada"
    assert (await checking.viewer_for(bearer(among))).id == "ada"
    assert await reason_for(checking, bearer(theirs)) == "the token's audience is not accepted"
    assert await reason_for(checking, bearer(none)) == "the token's audience is not accepted"


# Signatures and malformed tokens


async def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = hs256(claims(), secret=OTHER_SECRET)
    reason = await reason_for(verifier(), bearer(token))
    assert reason == "the token's signature is invalid"


async def test_a_token_with_a_changed_payload_is_refused() -> None:
    header, _, signature = hs256(claims(sub="ada")).split(".")
    forged = f"{header}.{b64(json.dumps(claims(sub='root')).encode())}.{signature}"
    assert await reason_for(verifier(), bearer(forged)) == "the token's signature is invalid"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: "garbage",
        lambda token: "a.b.c",
        lambda token: token.rsplit(".", 1)[0],  # no signature
        lambda token: token[: token.index(".") + 10],  # cut in the payload
        lambda token: token[: token.index(".") - 5],  # cut in the header
        lambda token: "x" + token,
    ],
)
async def test_a_garbled_or_truncated_token_is_malformed(mangle: Any) -> None:
    token = hs256(claims())
    reason = await reason_for(verifier(), bearer(mangle(token)))
    assert reason == "the token is malformed"


async def test_a_non_numeric_expiry_is_malformed() -> None:
    token = hs256(claims(exp="tomorrow"))
    assert await reason_for(verifier(), bearer(token)) == "the token is malformed"


# Roles


@pytest.mark.parametrize(
    ("value", "roles"),
    [
        (["learner", "parent"], {Role.LEARNER, Role.PARENT}),
        ("educator admin", {Role.EDUCATOR, Role.ADMIN}),
        ("educator,admin", {Role.EDUCATOR, Role.ADMIN}),
        ("educator, admin  service", {Role.EDUCATOR, Role.ADMIN, Role.SERVICE}),
        (["learner", "wizard", "offline_access"], {Role.LEARNER}),
        ([1, None, {"role": "admin"}, ["admin"], "service"], {Role.SERVICE}),
        (["Admin", "ADMIN"], set()),  # role names are case-sensitive
        ("", set()),
        (42, set()),
        ({"admin": True}, set()),
        (None, set()),  # no claim
    ],
)
async def test_roles_are_the_known_names_in_the_claim(value: Any, roles: set[Role]) -> None:
    viewer = await verifier().viewer_for(bearer(hs256(claims(roles=value))))
    assert viewer.roles == frozenset(roles)


async def test_roles_can_be_read_from_a_dotted_path() -> None:
    token = hs256(claims(realm_access={"roles": ["educator", "uma_authorization"]}))
    tokens = verifier(roles_claim="realm_access.roles")

    assert (await tokens.viewer_for(bearer(token))).roles == frozenset({Role.EDUCATOR})
    assert (await verifier().viewer_for(bearer(token))).roles == frozenset()
    missing = hs256(claims(realm_access="educator"))
    assert (await tokens.viewer_for(bearer(missing))).roles == frozenset()


async def test_a_claim_named_with_dots_is_read_as_named() -> None:
    token = hs256(claims(**{"https://cairn.test/roles": ["parent"]}))
    tokens = verifier(roles_claim="https://cairn.test/roles")
    assert (await tokens.viewer_for(bearer(token))).roles == frozenset({Role.PARENT})


# Settings


def test_settings_need_exactly_one_of_a_secret_and_a_jwks_url() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TokenSettings()
    with pytest.raises(ValueError, match="exactly one"):
        TokenSettings(secret=SECRET, jwks_url="https://id.cairn.test/jwks")
    assert TokenSettings(secret=SECRET).secret == SECRET
    assert TokenSettings(jwks_url="https://id.cairn.test/jwks").jwks_url is not None


def test_settings_refuse_a_secret_shorter_than_32_bytes() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenSettings(secret="s" * 31)
    assert TokenSettings(secret="s" * 32).secret == "s" * 32


@pytest.mark.parametrize(
    "settings",
    [
        {"jwks_url": "file:///etc/passwd"},
        {"jwks_url": "id.cairn.test/jwks"},
        {"secret": SECRET, "roles_claim": ""},
        {"secret": SECRET, "roles_claim": "realm_access..roles"},
        {"secret": SECRET, "issuer": ""},
        {"secret": SECRET, "leeway_seconds": -1},
        {"jwks_url": "https://id.cairn.test/jwks", "jwks_cache_seconds": 0},
    ],
)
def test_settings_refuse_what_cannot_work(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TokenSettings(**settings)


def test_a_jwks_client_is_refused_with_a_shared_secret() -> None:
    client = jwt.PyJWKClient("https://id.cairn.test/jwks")
    with pytest.raises(ValueError, match="JWKS client"):
        TokenVerifier(TokenSettings(secret=SECRET), jwks_client=client)


# Identity-provider mode (JWKS)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 that counts its requests; `keys` and `body` can change."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.body: bytes | None = None  # served instead of the keys when set
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = outer.body or json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/.well-known/jwks.json"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def jwks(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> Iterator[JwksServer]:
    server = JwksServer()
    server.keys = [rsa_jwk(rsa_key, "rsa-1"), ec_jwk(ec_key, "ec-1")]
    yield server
    server.close()


def provider(jwks: JwksServer, **settings: Any) -> TokenVerifier:
    return TokenVerifier(TokenSettings(jwks_url=jwks.url, **settings))


def signed(key: Any, algorithm: str, kid: str | None, **extra: Any) -> str:
    """A token signed by `key`, naming it `kid` (no `kid` header with None)."""
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(claims(**extra), key, algorithm=algorithm, headers=headers)


async def test_rs256_and_es256_tokens_verify_with_the_providers_keys(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    tokens = provider(jwks, issuer="https://id.cairn.test", audience="cairn")
    extra = {"iss": "https://id.cairn.test", "aud": "cairn"}

    by_rsa = await tokens.viewer_for(
        bearer(signed(rsa_key, "RS256", "rsa-1", roles=["admin"], **extra))
    )
    by_ec = await tokens.viewer_for(bearer(signed(ec_key, "ES256", "ec-1", sub="ec", **extra)))

    assert (by_rsa.id, by_rsa.roles) == ("ada", frozenset({Role.ADMIN}))
    assert (by_ec.id, by_ec.roles) == ("ec", frozenset())
    assert jwks.requests == 1  # the key set is cached


async def test_a_keycloak_style_token_gives_its_realm_roles(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    tokens = provider(jwks, roles_claim="realm_access.roles")
    token = signed(rsa_key, "RS256", "rsa-1", realm_access={"roles": ["parent", "default"]})
    assert (await tokens.viewer_for(bearer(token))).roles == frozenset({Role.PARENT})


async def test_an_hmac_token_keyed_with_the_public_key_is_refused(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = handmade_token({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(), pem)

    reason = await reason_for(provider(jwks), bearer(token))

    assert reason == "the token's algorithm is not accepted"
    assert jwks.requests == 0  # refused before any key was looked up


async def test_an_unsigned_token_is_refused_by_the_provider_mode(jwks: JwksServer) -> None:
    token = jwt.encode(claims(), "", algorithm="none", headers={"kid": "rsa-1"})
    reason = await reason_for(provider(jwks), bearer(token))
    assert reason == "the token's algorithm is not accepted"


async def test_a_token_must_use_its_keys_algorithm(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = signed(rsa_key, "RS256", "ec-1")  # names the EC key
    reason = await reason_for(provider(jwks), bearer(token))
    assert reason == "the token's algorithm is not accepted"


async def test_a_token_signed_with_another_key_is_refused(jwks: JwksServer) -> None:
    impostor = ec.generate_private_key(ec.SECP256R1())
    token = signed(impostor, "ES256", "ec-1")
    reason = await reason_for(provider(jwks), bearer(token))
    assert reason == "the token's signature is invalid"


async def test_an_expired_provider_token_is_refused(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = signed(rsa_key, "RS256", "rsa-1", exp=epoch(now() - timedelta(minutes=1)))
    assert await reason_for(provider(jwks), bearer(token)) == "the token has expired"


async def test_a_token_naming_an_unknown_key_is_refused(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    tokens = provider(jwks, jwks_refresh_cooldown_seconds=0)
    for kid in ("rsa-9", None):
        reason = await reason_for(tokens, bearer(signed(rsa_key, "RS256", kid)))
        assert reason == "the token's signing key is unknown"


async def test_a_rotated_key_is_found_by_fetching_the_set_again(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    tokens = provider(jwks, jwks_refresh_cooldown_seconds=0)
    await tokens.viewer_for(bearer(signed(rsa_key, "RS256", "rsa-1")))
    assert jwks.requests == 1

    new_key = ec.generate_private_key(ec.SECP256R1())
    jwks.keys = [*jwks.keys, ec_jwk(new_key, "ec-2")]
    viewer = await tokens.viewer_for(bearer(signed(new_key, "ES256", "ec-2", sub="grace")))

    assert viewer.id == "grace"
    assert jwks.requests == 2  # the cached set missed it; the fresh one had it
    await tokens.viewer_for(bearer(signed(new_key, "ES256", "ec-2")))
    assert jwks.requests == 2


async def test_unknown_keys_refetch_the_set_at_most_once_per_cooldown(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    tokens = provider(jwks)  # the default cooldown: 30 s
    await tokens.viewer_for(bearer(signed(rsa_key, "RS256", "rsa-1")))

    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        reason = await reason_for(tokens, bearer(signed(rsa_key, "RS256", kid)))
        assert reason == "the token's signing key is unknown"

    assert jwks.requests == 1


async def test_an_unreachable_provider_is_its_own_reason_and_logged(
    rsa_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tokens = TokenVerifier(TokenSettings(jwks_url=f"http://127.0.0.1:{port}/jwks"))
    token = signed(rsa_key, "RS256", "rsa-1")
    caplog.set_level(logging.WARNING, logger="cairn.auth")

    reason = await reason_for(tokens, bearer(token))

    assert reason == "the identity provider's keys cannot be fetched"
    warnings = [r for r in caplog.records if r.name == "cairn.auth"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert f"127.0.0.1:{port}" in warnings[0].getMessage()
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[]", b'{"keys": []}'])
async def test_a_provider_serving_no_key_set_cannot_be_trusted(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    jwks.body = body
    caplog.set_level(logging.WARNING, logger="cairn.auth")

    reason = await reason_for(provider(jwks), bearer(signed(rsa_key, "RS256", "rsa-1")))

    assert reason == "the identity provider's keys cannot be fetched"
    assert any(r.name == "cairn.auth" for r in caplog.records)


async def test_an_injected_jwks_client_is_used(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    client = jwt.PyJWKClient(jwks.url, cache_jwk_set=True, lifespan=60)
    settings = TokenSettings(jwks_url="https://id.cairn.test/unused")
    tokens = TokenVerifier(settings, jwks_client=client)

    viewer = await tokens.viewer_for(bearer(signed(rsa_key, "RS256", "rsa-1")))

    assert viewer.id == "ada"
    assert jwks.requests == 1


# The secret file


def test_a_secret_is_created_private_in_a_new_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "cairn"

    secret = load_or_create_secret(data_dir)

    path = data_dir / SECRET_FILE
    assert path.read_text().strip() == secret
    assert len(secret) >= 43 and len(secret.encode()) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(data_dir) == [SECRET_FILE]  # no temporary file left behind
    TokenSettings(secret=secret)  # long enough to use


def test_the_secret_is_reused(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path)
    assert load_or_create_secret(tmp_path) == first
    assert load_or_create_secret(tmp_path) != load_or_create_secret(tmp_path / "other")


def test_a_secret_written_by_hand_is_read_stripped(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text(f"  {SECRET}\n\n")
    assert load_or_create_secret(tmp_path) == SECRET


def test_concurrent_creators_end_up_with_the_same_secret(tmp_path: Path) -> None:
    creators = 8
    barrier = threading.Barrier(creators)
    results: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        barrier.wait()
        try:
            results.append(load_or_create_secret(tmp_path))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(creators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == creators and len(set(results)) == 1
    assert os.listdir(tmp_path) == [SECRET_FILE]


def test_a_short_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("too-short\n")
    with pytest.raises(ValueError, match="shorter than 32 bytes") as raised:
        load_or_create_secret(tmp_path)
    assert "too-short" not in str(raised.value)


def test_a_secret_is_created_where_hard_links_are_not_supported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: Any, destination: Any) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)

    secret = load_or_create_secret(tmp_path)

    assert (tmp_path / SECRET_FILE).read_text().strip() == secret
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path) == secret
