"""Cairn: settings, wiring, the Starlette app and the command line.

python main.py serve [--seed-demo-if-empty]   run the service
python main.py seed-demo                       load the demo catalog and learners
python main.py token --subject ID --role ROLE  print a bearer token (shared-secret mode)
python main.py export-schema                   print the GraphQL SDL
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import uvicorn
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from domain.access import Role
from domain.errors import InvalidInput
from domain.guard import DEFAULT_GUARD, GuardSettings
from domain.leaderboards import DEFAULT_MODE, DEFAULT_SIZE, MAX_SIZE, Privacy
from domain.levels import DEFAULT_LEVELS, LevelBand, check_levels
from domain.mastery import DEFAULT_ANSWER_WINDOW
from domain.points import STREAK_DAY_POINTS
from domain.risk import RiskSettings
from domain.streaks import DEFAULT_AT_RISK_HOUR
from domain.webhooks import RetrySchedule
from persistence.availability import Availability, watch_pings
from persistence.database import Database, DatabaseUnsupported, create_client, open_database
from persistence.embedded import EmbeddedServer, EmbeddedServerError, embedded_mongodb, supervise
from persistence.feed import Feed
from persistence.indexes import ensure_indexes
from persistence.metrics import exposition
from persistence.repositories import Repositories
from persistence.topics import TOPICS
from persistence.transactions import RetryPolicy, TransactionRunner
from resolvers.aggregation import Aggregation
from resolvers.demo import DemoSeedError, seed_demo
from resolvers.demo.learners import ADMIN as DEMO_ADMIN
from resolvers.demo.learners import EDUCATOR as DEMO_EDUCATOR
from resolvers.demo.learners import PARENT as DEMO_PARENT
from resolvers.gamification import GamificationSettings, install_default_achievements
from resolvers.leaderboards import LeaderboardSettings
from resolvers.maintenance import (
    backfill_leaderboards,
    backfill_weekly_rollups,
    prepare_dashboards,
)
from resolvers.recording import Recorder, RecordingSettings
from resolvers.services import Services, utc_now
from resolvers.sweeps import NotificationSweep
from resolvers.webhooks import Outbox, WebhookDispatcher, WebhookSettings
from schema import build_schema
from schema.context import Context, new_context
from schema.cost import DEFAULT_MAX_QUERY_COST
from schema.http import (
    BODY_TIMEOUT_SECONDS,
    MAX_BODY_BYTES,
    MAX_WEBSOCKETS,
    MAX_WEBSOCKETS_PER_VIEWER,
    WEBSOCKET_INIT_SECONDS,
    RequestIds,
    graphql_routes,
)
from schema.logs import LogFormat, configure_logging
from schema.origins import WebSocketOrigins, allowed_hosts, parse_list
from schema.ratelimit import DEFAULT_CAPACITY, DEFAULT_REFILL_PER_SECOND, RateLimiter
from schema.slow_clients import HEADER_TIMEOUT_SECONDS, with_header_timeout
from schema.tokens import (
    MIN_SECRET_BYTES,
    TokenSettings,
    TokenVerifier,
    issue_token,
    load_or_create_secret,
)

ROOT = Path(__file__).resolve().parent
DEFAULT_RISK = RiskSettings()
DEFAULT_RETRIES = RetrySchedule()
log = logging.getLogger("cairn")

# The event loop `serve` runs on (`loop_factory`).
EventLoop = Literal["uvloop", "asyncio"]


class Settings(BaseSettings):
    """Read from CAIRN_* environment variables, or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="CAIRN_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    mongodb_uri: str | None = Field(
        default=None, description="Any MongoDB; unset: start the embedded SecantusDB server."
    )
    database: str = "cairn"
    data_dir: Path = Field(default=Path(".data"), description="The embedded server's data.")
    allowed_hosts: str = Field(
        default="",
        description="Host names the service answers to, comma-separated ('*': any); default: "
        "the loopback names when bound to loopback, else any.",
    )
    cors_origins: str = Field(
        default="",
        description="Origins of browser apps allowed to call the API and open WebSockets, "
        "comma-separated; default: the service's own origin only.",
    )
    max_body_bytes: int = Field(
        default=MAX_BODY_BYTES, ge=1024, description="Larger request bodies get 413, unread."
    )
    max_query_cost: int = Field(
        default=DEFAULT_MAX_QUERY_COST,
        ge=1,
        description="Operations costing more are refused unrun (README: Query cost).",
    )
    rate_limit_points: int = Field(
        default=DEFAULT_CAPACITY,
        ge=0,
        description="Cost points a client's bucket holds (0: no rate limit); at least the "
        "maximum query cost, so that every allowed operation can pass.",
    )
    rate_limit_per_second: float = Field(
        default=DEFAULT_REFILL_PER_SECOND,
        gt=0,
        description="Cost points a bucket regains a second.",
    )
    body_timeout_seconds: float = Field(
        default=BODY_TIMEOUT_SECONDS, gt=0, description="A slower request body gets 408."
    )
    header_timeout_seconds: float = Field(
        default=HEADER_TIMEOUT_SECONDS,
        gt=0,
        description="A connection whose request headers take longer is closed.",
    )
    max_websockets: int = Field(
        default=MAX_WEBSOCKETS, ge=1, description="Open WebSockets per process, at most."
    )
    max_websockets_per_viewer: int = Field(
        default=MAX_WEBSOCKETS_PER_VIEWER, ge=1, description="Open WebSockets per viewer, at most."
    )
    jwt_secret: str | None = Field(
        default=None,
        description="Shared secret of HS256 tokens (32 bytes or more); unset, and without a "
        "JWKS URL: generated into the data folder on first run.",
    )
    jwks_url: str | None = Field(
        default=None, description="An identity provider's JWKS URL: RS256 and ES256 tokens."
    )
    jwt_issuer: str | None = Field(default=None, description="Checked against `iss` when set.")
    jwt_audience: str | None = Field(default=None, description="Checked against `aud` when set.")
    jwt_roles_claim: str = Field(
        default="roles", description="The claim (or dotted path) holding the viewer's roles."
    )
    jwt_leeway_seconds: float = Field(
        default=30.0, ge=0, le=300, description="Clock skew allowed on exp and nbf."
    )
    websocket_compression: bool = Field(
        default=False,
        description="permessage-deflate for WebSocket clients that offer it (CPU and memory "
        "per connection for a little bandwidth on small live updates).",
    )
    event_loop: EventLoop = Field(
        default="uvloop",
        description="`uvloop` (libuv's loop: its sockets' reads and writes are C) or Python's "
        "own `asyncio` loop; where uvloop is not installed (Windows), the service says so and "
        "uses asyncio.",
    )
    websocket_init_seconds: float = Field(
        default=WEBSOCKET_INIT_SECONDS, gt=0, description="Time to send connection_init."
    )
    shutdown_timeout_seconds: float = Field(
        default=10.0, gt=0, le=600, description="How long SIGTERM waits for requests in flight."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: LogFormat = Field(
        default="text", description="`text` for a terminal, `json` for one object per line."
    )
    pass_threshold: float = Field(default=0.7, ge=0, le=1)
    streak_at_risk_hour: int = Field(default=DEFAULT_AT_RISK_HOUR, ge=0, le=23)
    streak_day_points: int = Field(default=STREAK_DAY_POINTS, ge=0, le=1000)
    levels: str = Field(
        default=",".join(f"{band.name}:{band.min_points}" for band in DEFAULT_LEVELS),
        description="Level names and the points each starts at, lowest first.",
    )
    # The reward guard (README: "The reward guard").
    guard_time_factor: float = Field(default=DEFAULT_GUARD.time_factor, ge=1)
    guard_default_max_minutes: int = Field(default=DEFAULT_GUARD.default_max_minutes, ge=1)
    guard_daily_max_hours: float = Field(default=DEFAULT_GUARD.daily_max_hours, gt=0, le=24)
    guard_cooldown_seconds: int = Field(default=DEFAULT_GUARD.cooldown_seconds, ge=0)
    guard_quiz_answer_gap_seconds: int = Field(default=DEFAULT_GUARD.quiz_answer_gap_seconds, ge=0)
    guard_max_rewarded: int = Field(default=DEFAULT_GUARD.max_rewarded, ge=1)
    guard_rate_window_minutes: int = Field(default=DEFAULT_GUARD.rate_window_minutes, ge=1)
    mastery_window: int = Field(default=DEFAULT_ANSWER_WINDOW, ge=1, le=100_000)
    # At-risk detection (README: "At risk").
    at_risk_inactive_days: int = Field(default=DEFAULT_RISK.inactive_days, ge=1)
    at_risk_score_drop: float = Field(
        default=DEFAULT_RISK.score_drop * 100, gt=0, le=100, description="Percentage points."
    )
    at_risk_min_scored: int = Field(default=DEFAULT_RISK.min_scored, ge=1)
    at_risk_readiness_below: float = Field(default=DEFAULT_RISK.readiness_below, ge=0, le=100)
    at_risk_exam_within_days: int = Field(default=DEFAULT_RISK.exam_within_days, ge=0)
    transaction_deadline_seconds: float = Field(default=30.0, gt=0)
    # Outbound notifications (README: "Webhooks").
    notification_service_url: str | None = Field(
        default=None,
        description="Where signed webhooks are posted; unset: no outbound messages are written.",
    )
    webhook_secret: str | None = Field(
        default=None,
        description="The webhooks' HMAC-SHA256 key (32 bytes or more); required with the URL.",
    )
    webhook_max_attempts: int = Field(default=DEFAULT_RETRIES.max_attempts, ge=1, le=100)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Streak-at-risk, weekly-summary and intervention notifications (README: "Notifications").
    notification_sweep_seconds: float = Field(
        default=300.0, ge=0, description="How often the sweep runs; 0 turns it off."
    )
    # Leaderboards (README: "Leaderboards").
    leaderboard_size: int = Field(
        default=DEFAULT_SIZE, ge=1, le=MAX_SIZE, description="The top list's default length."
    )
    leaderboard_mode: Privacy = Field(
        default=DEFAULT_MODE,
        description="The overall board's privacy mode, and a group's without its own: "
        "full_name, anonymous, rank_only or hidden.",
    )

    @field_validator(
        "jwt_secret",
        "jwks_url",
        "jwt_issuer",
        "jwt_audience",
        "notification_service_url",
        "webhook_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jwt_secret", "webhook_secret")
    @classmethod
    def _secret_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes long")
        return value

    @field_validator("notification_service_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        # The message leaves the value out: a URL may carry credentials.
        if value is not None:
            parts = urlsplit(value.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http:// or https:// URL with a host")
            return value.strip()
        return value

    @field_validator("leaderboard_mode", mode="before")
    @classmethod
    def _mode_in_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("levels")
    @classmethod
    def _levels_parse(cls, value: str) -> str:
        parse_levels(value)
        return value

    @model_validator(mode="after")
    def _bucket_holds_the_dearest_query(self) -> Settings:
        if 0 < self.rate_limit_points < self.max_query_cost:
            raise ValueError(
                "CAIRN_RATE_LIMIT_POINTS must be 0 or at least CAIRN_MAX_QUERY_COST, "
                "or some allowed operations could never run"
            )
        return self

    @model_validator(mode="after")
    def _one_key_mode(self) -> Settings:
        if self.jwt_secret and self.jwks_url:
            raise ValueError("set CAIRN_JWT_SECRET or CAIRN_JWKS_URL, not both")
        return self

    @model_validator(mode="after")
    def _webhooks_are_signed(self) -> Settings:
        if self.notification_service_url and not self.webhook_secret:
            raise ValueError(
                "CAIRN_WEBHOOK_SECRET must be set when CAIRN_NOTIFICATION_SERVICE_URL is: "
                "every webhook is signed with it"
            )
        return self

    def token_settings(self) -> TokenSettings:
        """The token checks; in shared-secret mode without a configured secret, the data
        folder's (created on first use)."""
        secret = None
        if self.jwks_url is None:
            secret = self.jwt_secret or load_or_create_secret(self.data_dir)
        return TokenSettings(
            secret=secret,
            jwks_url=self.jwks_url,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            roles_claim=self.jwt_roles_claim,
            leeway_seconds=self.jwt_leeway_seconds,
        )

    def rate_limiter(self) -> RateLimiter | None:
        if self.rate_limit_points == 0:
            return None
        return RateLimiter(self.rate_limit_points, self.rate_limit_per_second)

    @property
    def recording(self) -> RecordingSettings:
        guard = GuardSettings(
            time_factor=self.guard_time_factor,
            default_max_minutes=self.guard_default_max_minutes,
            daily_max_hours=self.guard_daily_max_hours,
            cooldown_seconds=self.guard_cooldown_seconds,
            quiz_answer_gap_seconds=self.guard_quiz_answer_gap_seconds,
            max_rewarded=self.guard_max_rewarded,
            rate_window_minutes=self.guard_rate_window_minutes,
        )
        return RecordingSettings(
            pass_threshold=self.pass_threshold,
            guard=guard,
            answer_window=self.mastery_window,
            levels=parse_levels(self.levels),
            streak_day_points=self.streak_day_points,
        )

    @property
    def risk(self) -> RiskSettings:
        return RiskSettings(
            inactive_days=self.at_risk_inactive_days,
            score_drop=self.at_risk_score_drop / 100,
            min_scored=self.at_risk_min_scored,
            readiness_below=self.at_risk_readiness_below,
            exam_within_days=self.at_risk_exam_within_days,
        )

    @property
    def webhooks(self) -> WebhookSettings | None:
        """The outbound channel's settings; None (off) without a notification service."""
        if self.notification_service_url is None or self.webhook_secret is None:
            return None
        return WebhookSettings(
            url=self.notification_service_url,
            secret=self.webhook_secret,
            schedule=RetrySchedule(max_attempts=self.webhook_max_attempts),
            timeout_seconds=self.webhook_timeout_seconds,
        )

    @property
    def leaderboards(self) -> LeaderboardSettings:
        return LeaderboardSettings(size=self.leaderboard_size, mode=self.leaderboard_mode)

    @property
    def gamification(self) -> GamificationSettings:
        return GamificationSettings(
            at_risk_hour=self.streak_at_risk_hour, levels=parse_levels(self.levels)
        )


def parse_levels(text: str) -> tuple[LevelBand, ...]:
    """`Novice:0,Apprentice:101,...` into level bands, checked."""
    bands = []
    for part in text.split(","):
        name, _, points = part.strip().rpartition(":")
        if not name or not points.strip().isdigit():
            raise ValueError(f"'{part}' is not NAME:POINTS")
        bands.append(LevelBand(name.strip(), int(points)))
    try:
        return check_levels(bands)
    except InvalidInput as error:
        raise ValueError(str(error)) from error


@asynccontextmanager
async def database_server(settings: Settings) -> AsyncIterator[EmbeddedServer | None]:
    """The embedded server for as long as the context lasts, or None with a configured MongoDB."""
    if settings.mongodb_uri:
        yield None
        return
    # The database stops after the requests in flight: half the shutdown budget each.
    stop_timeout = settings.shutdown_timeout_seconds / 2
    async with embedded_mongodb(settings.data_dir / "db", stop_timeout=stop_timeout) as server:
        yield server


@asynccontextmanager
async def database_uri(settings: Settings) -> AsyncIterator[str]:
    """The configured MongoDB's URI, or the embedded server's for as long as the context lasts."""
    async with database_server(settings) as server:
        uri = settings.mongodb_uri if server is None else server.uri
        assert uri is not None  # no configured URI means an embedded server
        yield uri


async def connect(uri: str, name: str) -> Database:
    database = await open_database(create_client(uri), name)
    await ensure_indexes(database)
    return database


def build_services(database: Database, settings: Settings) -> Services:
    repositories = Repositories.over(database)
    feed = Feed(database, TOPICS)
    policy = RetryPolicy(deadline_seconds=settings.transaction_deadline_seconds)
    transactions = TransactionRunner(repositories, policy)
    webhooks = settings.webhooks
    dispatcher = None
    if webhooks is not None:
        dispatcher = WebhookDispatcher(repositories.outbox, webhooks, clock=utc_now)
    outbox = Outbox(dispatcher)  # off (writes nothing) without a notification service
    aggregation = Aggregation(repositories, transactions, risk=settings.risk)
    recorder = Recorder(
        repositories,
        feed,
        settings.recording,
        runner=transactions,
        outbox=outbox,
        aggregation=aggregation,
    )
    return Services(
        repositories=repositories,
        feed=feed,
        recorder=recorder,
        clock=utc_now,
        gamification=settings.gamification,
        risk=settings.risk,
        outbox=outbox,
        leaderboards=settings.leaderboards,
    )


def settle_heap() -> int:
    """Called once the service has started: what it holds from then on (modules, the schema,
    settings, caches) is set aside from the cyclic garbage collector (`gc.freeze`), so a full
    collection walks only what requests make. Over the startup heap (some 110,000 objects) a
    full collection took 120-280 ms, and one came every few requests of a thousand events or
    200 learners; over what is left, about 10-50 ms. Returns how many objects were set aside."""
    gc.collect()  # what startup left behind goes first: frozen, it would never be collected
    gc.freeze()
    return gc.get_freeze_count()


def create_app(
    settings: Settings,
    uri: str,
    *,
    seed_if_empty: bool = False,
    embedded: EmbeddedServer | None = None,
    give_up: Callable[[], None] = lambda: None,
) -> Starlette:
    """The service's app. With `embedded`, a supervisor restarts that server when it dies and
    calls `give_up` when it cannot (the process should then exit non-zero)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await connect(uri, settings.database)
            stack.callback(database.client.close)
            availability = database.availability

            async def ping() -> object:
                return await database.client.admin.command("ping")

            watchers = [asyncio.create_task(watch_pings(availability, ping))]
            if embedded is not None:
                supervisor = supervise(embedded, availability, ping=ping, give_up=give_up)
                watchers.append(asyncio.create_task(supervisor))
            stack.push_async_callback(_cancel, watchers)
            services = build_services(database, settings)
            await install_default_achievements(services.repositories)
            await backfill_weekly_rollups(services.repositories)
            await backfill_leaderboards(
                services.repositories, services.transactions, now=services.clock()
            )
            await prepare_dashboards(
                services.aggregation, now=services.clock(), pass_threshold=settings.pass_threshold
            )
            stack.push_async_callback(services.projector.stop)
            await services.feed.start()
            stack.push_async_callback(services.feed.stop)
            dispatcher = services.outbox.dispatcher
            if dispatcher is not None:
                # Stopped before the feed and the database: deliveries in flight are recorded.
                dispatcher.start()
                stack.push_async_callback(dispatcher.stop)
            if seed_if_empty and await services.repositories.content.is_empty():
                # The demo's history is no news: the notification service is told nothing of it.
                summary = await seed_demo(
                    services.repositories,
                    services.recorder.without_outbound(),
                    now=services.clock(),
                )
                log.info("loaded the demo data: %s", summary)
            if settings.notification_sweep_seconds > 0:
                sweep = NotificationSweep(
                    services.repositories,
                    services.transactions,
                    services.feed,
                    outbox=services.outbox,
                    gamification=services.gamification,
                    risk=services.risk,
                    clock=services.clock,
                    interval_seconds=settings.notification_sweep_seconds,
                )
                sweep.start()
                stack.push_async_callback(sweep.stop)
            app.state.services = services
            log.debug("startup heap frozen: %d objects", settle_heap())
            yield

    async def get_context(connection: Request | WebSocket) -> Context:
        services: Services = connection.app.state.services
        client = connection.client.host if connection.client else None
        return new_context(services, client=client)

    def availability_of(connection: Request) -> Availability:
        services: Services = connection.app.state.services
        return services.repositories.database.availability

    async def live(request: Request) -> JSONResponse:
        availability = availability_of(request)
        if availability.gone:  # the database is gone for good: this process cannot serve
            return JSONResponse({"status": "failed", "reason": availability.reason}, 503)
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        availability = availability_of(request)
        if not availability.up:
            return JSONResponse({"status": "unavailable", "reason": availability.reason}, 503)
        services: Services = request.app.state.services
        try:
            await asyncio.wait_for(
                services.repositories.database.client.admin.command("ping"), timeout=1
            )
        except Exception as error:
            log.warning("readiness check failed: %s", error)
            return JSONResponse({"status": "unavailable", "reason": "no answer to ping"}, 503)
        return JSONResponse({"status": "ok"})

    def outage() -> str | None:
        state: Any = app.state
        services: Services | None = getattr(state, "services", None)
        if services is None:
            return None
        availability = services.repositories.database.availability
        return None if availability.up else availability.reason

    async def metrics(request: Request) -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    routes = [
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/metrics", metrics),
        *graphql_routes(
            build_schema(
                max_query_cost=settings.max_query_cost, rate_limiter=settings.rate_limiter()
            ),
            context_getter=get_context,
            tokens=TokenVerifier(settings.token_settings()),
            assets_dir=ROOT / "node_modules",
            outage=outage,
            max_body_bytes=settings.max_body_bytes,
            body_timeout_seconds=settings.body_timeout_seconds,
            max_websockets=settings.max_websockets,
            max_websockets_per_viewer=settings.max_websockets_per_viewer,
            websocket_init_seconds=settings.websocket_init_seconds,
        ),
    ]
    cors_origins = parse_list(settings.cors_origins)
    middleware = [
        # Outermost, so that everything done for a request is logged with its id.
        Middleware(RequestIds),
        Middleware(
            TrustedHostMiddleware,
            allowed_hosts=allowed_hosts(
                parse_list(settings.allowed_hosts), bind_host=settings.host
            ),
        ),
        Middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        ),
        Middleware(WebSocketOrigins, origins=cors_origins),
        # GraphiQL's bundle is 3.5 MB; compressed it loads in a blink.
        Middleware(GZipMiddleware, minimum_size=1024),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    return app


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT once it has shut down, which ends the process on the
    spot; the embedded database must be stopped first, so Cairn exits normally instead."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


DEMO_TOKEN_TTL = 7 * 24 * 3600
DEMO_USERS = (
    ("demo-ada", Role.LEARNER),
    ("demo-grace", Role.LEARNER),
    (DEMO_PARENT, Role.PARENT),
    (DEMO_EDUCATOR, Role.EDUCATOR),
    (DEMO_ADMIN, Role.ADMIN),
)


def demo_tokens(tokens: TokenSettings) -> str:
    """Ready-made tokens for the demo users, to paste into GraphiQL (shared-secret mode)."""
    if tokens.secret is None:
        return ""
    lines = [
        "Demo tokens (valid 7 days). In GraphiQL, open the Headers tab below the query and "
        'paste {"Authorization": "Bearer <token>"}:'
    ]
    for subject, role in DEMO_USERS:
        token = issue_token(
            tokens.secret,
            subject=subject,
            roles=[role],
            ttl_seconds=DEMO_TOKEN_TTL,
            issuer=tokens.issuer,
            audience=tokens.audience,
            roles_claim=tokens.roles_claim,
        )
        lines.append(f"  {subject} ({role}): {token}")
    return "\n".join(lines)


def loop_factory(choice: EventLoop) -> Callable[[], asyncio.AbstractEventLoop]:
    """How to make the event loop `serve` runs on: uvloop's when asked for and installed."""
    if choice == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop is not installed: serving on the asyncio event loop")
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def loop_name() -> str:
    """The running event loop's package: `uvloop` or `asyncio`."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def server_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves the app (`serve`, and the benchmark's live-update clients)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # uvicorn's loggers write through the root logger set up by `configure_logging`;
        # Cairn writes its own access line per GraphQL request (`cairn.access`).
        log_config=None,
        access_log=False,
        http=with_header_timeout(settings.header_timeout_seconds),
        # SIGTERM: requests in flight get this long, then open connections are closed.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_seconds / 2)),
        ws_per_message_deflate=settings.websocket_compression,
    )


async def serve(settings: Settings, *, seed_if_empty: bool) -> int:
    """Runs the service until SIGTERM or SIGINT (0), or until its database is lost (1)."""
    exit_code = 0
    async with database_server(settings) as embedded:
        uri = settings.mongodb_uri if embedded is None else embedded.uri
        assert uri is not None
        # Checked before the server starts, so a database Cairn cannot use (a standalone
        # server, say) ends the process with its message, not an application-startup traceback.
        probe = await connect(uri, settings.database)
        probe.client.close()
        server: _Server | None = None

        def give_up() -> None:
            nonlocal exit_code
            exit_code = 1
            if server is not None:
                server.should_exit = True

        app = create_app(
            settings, uri, seed_if_empty=seed_if_empty, embedded=embedded, give_up=give_up
        )
        config = server_config(app, settings)
        log.info(
            "GraphQL and GraphiQL at http://%s:%d/graphql (event loop: %s)",
            settings.host,
            settings.port,
            loop_name(),
        )
        if seed_if_empty:
            print(demo_tokens(settings.token_settings()), flush=True)
        server = _Server(config)
        await server.serve()
    return exit_code


async def seed(settings: Settings) -> None:
    async with database_uri(settings) as uri:
        database = await connect(uri, settings.database)
        services = build_services(database, settings)
        try:
            await install_default_achievements(services.repositories)
            recorder = services.recorder.without_outbound()
            summary = await seed_demo(services.repositories, recorder, now=utc_now())
            print(f"demo data: {summary}")
        finally:
            await services.projector.stop()
            database.client.close()


def print_token(settings: Settings, *, subject: str, roles: list[str], ttl: int) -> int:
    if settings.jwks_url:
        print(
            "cairn: tokens come from the identity provider (CAIRN_JWKS_URL is set); "
            "`token` signs with the shared secret only",
            file=sys.stderr,
        )
        return 2
    try:
        tokens = settings.token_settings()
        assert tokens.secret is not None
        token = issue_token(
            tokens.secret,
            subject=subject,
            roles=roles,
            ttl_seconds=ttl,
            issuer=tokens.issuer,
            audience=tokens.audience,
            roles_claim=tokens.roles_claim,
        )
    except ValueError as error:
        print(f"cairn: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cairn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the GraphQL service")
    serve_parser.add_argument(
        "--seed-demo-if-empty",
        action="store_true",
        help="load the demo data into an empty database",
    )
    commands.add_parser("seed-demo", help="load the demo catalog and learners (idempotent)")
    commands.add_parser("export-schema", help="print the schema's SDL")
    token_parser = commands.add_parser(
        "token", help="print a bearer token signed with the shared secret"
    )
    token_parser.add_argument("--subject", required=True, help="the user id (`sub`)")
    token_parser.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[role.value for role in Role],
        help="a role (repeat for several)",
    )
    token_parser.add_argument(
        "--ttl", type=int, default=3600, help="seconds until it expires (default 3600)"
    )
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        print(build_schema().as_str())
        return 0
    try:
        settings = Settings()
        if args.command == "serve":
            settings.token_settings()  # a bad secret file stops the start, with its message
    except ValidationError as error:
        # Each problem by its variable, without the value given: it may be a secret.
        for problem in error.errors():
            name = "_".join(str(part) for part in problem["loc"]).upper()
            where = f"CAIRN_{name}: " if name else ""
            print(f"cairn: invalid settings: {where}{problem['msg']}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"cairn: invalid settings: {error}", file=sys.stderr)
        return 2
    if args.command == "token":
        return print_token(settings, subject=args.subject, roles=args.role, ttl=args.ttl)
    configure_logging(settings.log_level, settings.log_format)
    try:
        with asyncio.Runner(loop_factory=loop_factory(settings.event_loop)) as runner:
            if args.command == "serve":
                return runner.run(serve(settings, seed_if_empty=args.seed_demo_if_empty))
            runner.run(seed(settings))
    except (EmbeddedServerError, DemoSeedError, DatabaseUnsupported) as error:
        print(f"cairn: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
