"""Bearer tokens (JWT): from an `Authorization` header to a verified `Viewer`.

Two modes, exactly one configured:

- Shared secret: Cairn and whoever issues tokens share a secret of at least 32 bytes, and tokens
  are signed with HS256 (`issue_token` makes them, for development, tests and the demo; the
  secret can live in the data folder, see `load_or_create_secret`).
- Identity provider: tokens are signed by an OpenID Connect provider (Keycloak, Auth0, ...)
  with RS256 or ES256, and its public keys come from its JWKS URL, cached and fetched again
  when a token names a key the cached set does not have (the provider rotated its keys).

The algorithms are pinned per mode (HS256 alone; RS256 and ES256 alone), whatever a token's
header says: unsigned tokens (`alg: none`) and tokens that pass a public key off as an HMAC
secret are refused. Every token needs a subject (`sub`) and an expiry (`exp`); its issuer and
audience are checked when configured. Verification is PyJWT's; this module maps its errors to
reasons that are safe to show the client, and its claims to a `Viewer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import jwt
from jwt.exceptions import InvalidSubjectError
from jwt.types import Options

from domain.access import ANONYMOUS, Role, Viewer

log = logging.getLogger("cairn.auth")

MIN_SECRET_BYTES = 32
MAX_HEADER_CHARS = 8 * 1024
MAX_SUBJECT_CHARS = 200
MAX_TTL_SECONDS = 365 * 24 * 3600
SECRET_FILE = "jwt-secret"
SECRET_ALGORITHMS = ("HS256",)
JWKS_ALGORITHMS = ("RS256", "ES256")

_BEARER = re.compile(r"bearer +(\S+)", re.IGNORECASE)
_ROLE_SEPARATORS = re.compile(r"[\s,]+")
_ROLES = {role.value: role for role in Role}
_REGISTERED_CLAIMS = frozenset({"sub", "iat", "nbf", "exp", "iss", "aud", "jti"})

BAD_HEADER = 'the Authorization header must be "Bearer <token>"'
HEADER_TOO_LONG = "the Authorization header is too long"
MALFORMED = "the token is malformed"
EXPIRED = "the token has expired"
NOT_YET_VALID = "the token is not yet valid"
BAD_SIGNATURE = "the token's signature is invalid"
BAD_ISSUER = "the token's issuer is not accepted"
BAD_AUDIENCE = "the token's audience is not accepted"
BAD_ALGORITHM = "the token's algorithm is not accepted"
NO_SUBJECT = "the token has no subject"
BAD_SUBJECT = "the token's subject is not valid"
NO_EXPIRY = "the token has no expiry"
UNKNOWN_KEY = "the token's signing key is unknown"
REFUSED_KEY = "the token's signing key is not accepted"
KEYS_UNAVAILABLE = "the identity provider's keys cannot be fetched"


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """How tokens are verified. Exactly one of `secret` (HS256) and `jwks_url` (RS256, ES256)."""

    secret: str | None = None  # shared-secret mode (HS256)
    jwks_url: str | None = None  # identity-provider mode (RS256, ES256 keys from a JWKS URL)
    issuer: str | None = None  # checked (iss) when set
    audience: str | None = None  # checked (aud) when set
    # A claim name, or a dotted path into nested claims, e.g. "realm_access.roles" (Keycloak).
    # A top-level claim whose name has dots in it (e.g. "https://cairn.example/roles") wins.
    roles_claim: str = "roles"
    leeway_seconds: float = 30.0  # clock skew allowed on exp/nbf/iat
    jwks_cache_seconds: float = 300.0
    # An unknown key id fetches the set again at most this often (PyJWT's guard against tokens
    # with made-up key ids hammering the provider); 0: every time.
    jwks_refresh_cooldown_seconds: float = 30.0
    jwks_timeout_seconds: float = 10.0  # for one fetch of the key set

    def __post_init__(self) -> None:
        if (self.secret is None) == (self.jwks_url is None):
            raise ValueError(
                "Token settings need exactly one of a shared secret (HS256) "
                "and a JWKS URL (RS256, ES256)"
            )
        if self.secret is not None and len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"The token secret must be at least {MIN_SECRET_BYTES} bytes long")
        if self.jwks_url is not None:
            parts = urlsplit(self.jwks_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("The JWKS URL must be an http:// or https:// URL")
        if not self.roles_claim or "" in self.roles_claim.split("."):
            raise ValueError(f"The roles claim {self.roles_claim!r} is not a claim name or path")
        if self.issuer == "" or self.audience == "":
            raise ValueError("An issuer or audience, when set, must not be empty")
        if self.leeway_seconds < 0:
            raise ValueError("The token leeway must not be negative")
        if self.jwks_cache_seconds <= 0 or self.jwks_timeout_seconds <= 0:
            raise ValueError("The JWKS cache lifetime and timeout must be positive")
        if self.jwks_refresh_cooldown_seconds < 0:
            raise ValueError("The JWKS refresh cooldown must not be negative")

    @property
    def algorithms(self) -> tuple[str, ...]:
        return SECRET_ALGORITHMS if self.secret is not None else JWKS_ALGORITHMS


class InvalidToken(Exception):
    """A credential was presented but cannot be trusted. `reason` is safe to show the client:
    it never includes the token itself or key material."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenVerifier:
    """Turns `Authorization` header values into viewers, per `TokenSettings`."""

    def __init__(
        self, settings: TokenSettings, *, jwks_client: jwt.PyJWKClient | None = None
    ) -> None:
        self.settings = settings
        self._jwks_client: jwt.PyJWKClient | None = None
        if settings.jwks_url is not None:
            self._jwks_client = (
                jwks_client
                if jwks_client is not None
                else jwt.PyJWKClient(
                    settings.jwks_url,
                    cache_jwk_set=True,
                    lifespan=settings.jwks_cache_seconds,
                    timeout=settings.jwks_timeout_seconds,
                    cooldown_duration=settings.jwks_refresh_cooldown_seconds,
                )
            )
        elif jwks_client is not None:
            raise ValueError("A JWKS client is for identity-provider mode, not shared-secret mode")
        self._options: Options = {
            "require": ["exp", "sub"],
            "verify_aud": settings.audience is not None,
            "enforce_minimum_key_length": True,
        }

    @property
    def algorithms(self) -> tuple[str, ...]:
        """Pinned: ("HS256",) with a shared secret, ("RS256", "ES256") with a JWKS URL."""
        return self.settings.algorithms

    async def viewer_for(self, authorization: str | None) -> Viewer:
        """The viewer an `Authorization` header value proves: ANONYMOUS when there is none.

        Raises InvalidToken when a credential is there but is not `Bearer <token>` with a valid
        token: signed with a pinned algorithm by a trusted key, unexpired, with a subject, and
        from the configured issuer for the configured audience.
        """
        if authorization is None or not authorization.strip():
            return ANONYMOUS
        if len(authorization) > MAX_HEADER_CHARS:
            raise InvalidToken(HEADER_TOO_LONG)
        match = _BEARER.fullmatch(authorization.strip())
        if match is None:
            raise InvalidToken(BAD_HEADER)
        token = match.group(1)
        with _reasons():
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in self.algorithms:
                raise InvalidToken(BAD_ALGORITHM)  # refused before any key is looked up
            secret = self.settings.secret
            key = secret if secret is not None else await self._signing_key(token)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(self.algorithms),
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                leeway=self.settings.leeway_seconds,
                options=self._options,
            )
        return self._viewer(claims)

    async def _signing_key(self, token: str) -> jwt.PyJWK:
        """The provider's key the token names (`kid`), fetched off the event loop: PyJWKClient
        fetches with blocking urllib, on a cache miss or when its cached set has expired."""
        client = self._jwks_client
        assert client is not None
        try:
            return await asyncio.to_thread(client.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as error:
            self._keys_unavailable(error)
        except jwt.PyJWKClientError as error:
            if str(error).startswith("Unable to find a signing key"):
                raise InvalidToken(UNKNOWN_KEY) from None
            self._keys_unavailable(error)  # the endpoint answered something that is not a set
        except (jwt.PyJWKSetError, ValueError) as error:  # no usable key, or not JSON
            self._keys_unavailable(error)

    def _keys_unavailable(self, error: Exception) -> NoReturn:
        log.warning(
            "The identity provider's keys cannot be fetched from %s: %s: %s",
            self.settings.jwks_url,
            type(error).__name__,
            error,
        )
        raise InvalidToken(KEYS_UNAVAILABLE) from None

    def _viewer(self, claims: Mapping[str, Any]) -> Viewer:
        subject = claims["sub"]  # a string: PyJWT checked it
        if not subject.strip():
            raise InvalidToken(NO_SUBJECT)
        if len(subject) > MAX_SUBJECT_CHARS:
            raise InvalidToken(BAD_SUBJECT)
        expiry = claims["exp"]
        if isinstance(expiry, bool) or not isinstance(expiry, int | float):
            raise InvalidToken(MALFORMED)
        try:
            expires_at = datetime.fromtimestamp(expiry, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidToken(MALFORMED) from None
        roles = parse_roles(claim_at(claims, self.settings.roles_claim))
        return Viewer(id=subject, roles=roles, expires_at=expires_at)


@contextlib.contextmanager
def _reasons() -> Iterator[None]:
    """Turns PyJWT's errors into InvalidToken with a reason for the client."""
    try:
        yield
    except jwt.MissingRequiredClaimError as error:
        reason = {"exp": NO_EXPIRY, "sub": NO_SUBJECT, "iss": BAD_ISSUER, "aud": BAD_AUDIENCE}
        raise InvalidToken(reason.get(error.claim, MALFORMED)) from None
    except jwt.ExpiredSignatureError:
        raise InvalidToken(EXPIRED) from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken(NOT_YET_VALID) from None
    except jwt.InvalidIssuerError:
        raise InvalidToken(BAD_ISSUER) from None
    except jwt.InvalidAudienceError:
        raise InvalidToken(BAD_AUDIENCE) from None
    except jwt.InvalidAlgorithmError:
        raise InvalidToken(BAD_ALGORITHM) from None
    except jwt.InvalidSignatureError:
        raise InvalidToken(BAD_SIGNATURE) from None
    except InvalidSubjectError:
        raise InvalidToken(BAD_SUBJECT) from None
    except jwt.InvalidKeyError as error:  # a key below the minimum size, or unfit for the alg
        log.warning("A token's signing key is refused: %s", error)
        raise InvalidToken(REFUSED_KEY) from None
    except jwt.InvalidTokenError:  # undecodable, bad iat, unsupported critical header, ...
        raise InvalidToken(MALFORMED) from None


def claim_at(claims: Mapping[str, Any], name: str) -> Any:
    """The claim called `name`, else the one at the dotted path `name`; None when absent."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def parse_roles(value: Any) -> frozenset[Role]:
    """The known roles in a roles claim: a list of names, or one string of names separated by
    spaces or commas. Unknown names and anything that is not a string are ignored."""
    if isinstance(value, str):
        names: Iterable[Any] = _ROLE_SEPARATORS.split(value)
    elif isinstance(value, list | tuple):
        names = value
    else:
        return frozenset()
    return frozenset(_ROLES[name] for name in names if isinstance(name, str) and name in _ROLES)


def issue_token(
    secret: str,
    *,
    subject: str,
    roles: Iterable[Role | str],
    ttl_seconds: int,
    issuer: str | None = None,
    audience: str | None = None,
    roles_claim: str = "roles",
    now: datetime | None = None,
) -> str:
    """An HS256 token (for development, tests and the demo): `sub`, the roles as a list under
    `roles_claim` (nested when dotted), `iat`, `nbf`, `exp` = now + ttl, `iss`/`aud` when given.

    Raises ValueError for a ttl outside 1..31,536,000 seconds (a year), an unknown role, a
    secret shorter than 32 bytes, or a subject that verification would refuse."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"The token secret must be at least {MIN_SECRET_BYTES} bytes long")
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl_seconds must be between 1 and {MAX_TTL_SECONDS:,}")
    if not subject.strip() or len(subject) > MAX_SUBJECT_CHARS:
        raise ValueError(f"The subject must be a non-empty string of at most {MAX_SUBJECT_CHARS}")
    path = roles_claim.split(".")
    if "" in path or path[0] in _REGISTERED_CLAIMS:
        raise ValueError(f"The roles claim {roles_claim!r} is not a claim name or path")
    names: list[str] = []
    for role in roles:
        if role not in _ROLES:
            raise ValueError(f"Unknown role {str(role)!r}: roles are {', '.join(_ROLES)}")
        if str(role) not in names:
            names.append(str(role))
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    issued = int(now.timestamp())
    expires = int((now + timedelta(seconds=ttl_seconds)).timestamp())
    claims: dict[str, Any] = {"sub": subject, "iat": issued, "nbf": issued, "exp": expires}
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    nested: dict[str, Any] = claims
    for part in path[:-1]:
        nested = nested.setdefault(part, {})
    nested[path[-1]] = names
    return jwt.encode(claims, secret, algorithm="HS256")


def load_or_create_secret(data_dir: Path) -> str:
    """The shared secret kept in `data_dir/jwt-secret`, created (0600, 32 random bytes) when
    missing. Processes that race to create it all end up with the same secret: each writes its
    own to a temporary file and links it into place, and the links after the first one fail."""
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return _read_secret(path)
    secret = secrets.token_urlsafe(MIN_SECRET_BYTES)
    descriptor, temporary = tempfile.mkstemp(dir=data_dir, prefix=f".{SECRET_FILE}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:  # mkstemp's mode: 0600
            file.write(secret + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its secret
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
                raise
            _create_exclusively(path, secret)  # a file system without hard links
    finally:
        os.unlink(temporary)
    return _read_secret(path)


def _create_exclusively(path: Path, secret: str) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secret + "\n")


def _read_secret(path: Path) -> str:
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"The token secret in {path} is shorter than {MIN_SECRET_BYTES} bytes: "
            "replace it with a longer one, or delete the file to have one made"
        )
    return secret
