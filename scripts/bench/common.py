"""What every measure shares: the quick switch, the data factory, the Bench handle, helpers."""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import strawberry

from domain.access import Role, Viewer
from domain.catalog import ContentItem, ContentKind, Difficulty, Skill
from domain.certifications import Certification, CertificationLevel, ExamDomain, StudyHours
from domain.events import MAX_BATCH, EventDraft, EventType, validate_event
from domain.learning import EventOutcome
from domain.progress import ContentProgress, advance
from persistence.database import CommandCounter, Database
from persistence.events import event_to_document
from resolvers.services import Services, utc_now
from schema.context import new_context

# CAIRN_BENCH_QUICK=1: a smaller run that checks the benchmark works (its figures mean little).
# Each measure picks its own quick sizes; the full run's sizes are the ones the README reports.
QUICK = os.environ.get("CAIRN_BENCH_QUICK", "") not in ("", "0")
SEED = 20260310
CATALOG_ITEMS = 50

ANALYTICS_FIELDS = (
    "contentViewed questionsAnswered itemsCompleted averageScore timeSpentHours "
    "completionRate totalEvents"
)

RECORD_EVENT = """
mutation($input: RecordEventInput!) { recordEvent(input: $input) { status } }
"""

# The mix of a learner's events: (type, weight).
EVENT_MIX = (
    (EventType.VIEWED, 30),
    (EventType.STARTED, 15),
    (EventType.ANSWERED, 45),
    (EventType.COMPLETED, 10),
)


# --- the data -----------------------------------------------------------------------------------


def build_certification() -> Certification:
    """SAA over the bench skills: four domains weighted as SAA-C03's."""
    return Certification(
        id="SAA",
        name="Solutions Architect (bench)",
        level=CertificationLevel.ASSOCIATE,
        domains=(
            ExamDomain("security", "Security", 0.30, ("iam", "kms", "shield")),
            ExamDomain("network", "Network", 0.26, ("vpc", "route53", "cloudfront")),
            ExamDomain("compute", "Compute", 0.24, ("ec2", "lambda", "ecs")),
            ExamDomain("storage", "Storage", 0.20, ("s3", "ebs", "efs")),
        ),
        pass_mark=0.72,
        exam_items=50,
        exam_minutes=130,
        study_hours=StudyHours(80, 120),
    )


def build_catalog() -> tuple[list[Skill], list[ContentItem]]:
    """Two certifications, a dozen skills, fifty items of mixed kinds and difficulties."""
    domains = {
        "compute": ("ec2", "lambda", "ecs"),
        "storage": ("s3", "ebs", "efs"),
        "network": ("vpc", "route53", "cloudfront"),
        "security": ("iam", "kms", "shield"),
    }
    skills = [
        Skill(id=skill_id, name=skill_id.upper(), domain=domain)
        for domain, ids in domains.items()
        for skill_id in ids
    ]
    skill_ids = [s.id for s in skills]
    kinds = (ContentKind.QUESTION,) * 3 + (
        ContentKind.LESSON,
        ContentKind.QUIZ,
        ContentKind.LAB,
        ContentKind.PRACTICE,
    )
    difficulties = tuple(Difficulty)
    items = []
    for n in range(CATALOG_ITEMS):
        certification = "SAA" if n % 3 else "CCP"
        first = skill_ids[n % len(skill_ids)]
        second = skill_ids[(n * 5 + 1) % len(skill_ids)]
        item_skills = (first,) if n % 4 == 0 or first == second else (first, second)
        items.append(
            ContentItem(
                id=f"{certification.lower()}-{n:03d}",
                title=f"{certification} item {n}: {first.upper()}",
                kind=kinds[n % len(kinds)],
                skill_ids=item_skills,
                category=first.upper(),
                difficulty=difficulties[n % len(difficulties)],
                certification=certification,
                module=next(d for d, ids in domains.items() if first in ids),
                estimated_minutes=5 + (n % 6) * 5,
            )
        )
    return skills, items


@dataclass
class EventFactory:
    """Realistic drafts: a mix of types, scores on answers, sessions, times in the past."""

    items: list[ContentItem]
    rng: random.Random

    def drafts(
        self,
        learner_ids: Sequence[str],
        count: int,
        *,
        start: datetime,
        end: datetime,
        tag: str,
    ) -> list[EventDraft]:
        span = (end - start).total_seconds()
        types = [t for t, _ in EVENT_MIX]
        weights = [w for _, w in EVENT_MIX]
        drafts = []
        for n in range(count):
            learner_id = learner_ids[n % len(learner_ids)]
            occurred_at = start + timedelta(seconds=self.rng.uniform(0, span))
            event_type = self.rng.choices(types, weights)[0]
            item = self.rng.choice(self.items)
            score: float | None = None
            correct: bool | None = None
            if event_type is EventType.ANSWERED:
                score = round(min(1.0, max(0.0, self.rng.gauss(0.72, 0.2))), 3)
                correct = score >= 0.7
            elif event_type is EventType.COMPLETED and self.rng.random() < 0.5:
                score = round(self.rng.uniform(0.5, 1.0), 3)
            drafts.append(
                EventDraft(
                    learner_id=learner_id,
                    event_id=f"{tag}-{n:06d}",
                    type=event_type,
                    content_id=item.id,
                    score=score,
                    correct=correct,
                    time_spent_seconds=round(self.rng.uniform(5, 600), 1),
                    occurred_at=occurred_at,
                    session_id=f"s-{learner_id}-{occurred_at:%Y%m%d}",
                )
            )
        return drafts


def as_graphql_input(draft: EventDraft) -> dict[str, Any]:
    """The JSON variables a client would send for the draft."""
    values: dict[str, Any] = {
        "learnerId": draft.learner_id,
        "eventId": draft.event_id,
        "type": draft.type.name,
        "contentId": draft.content_id,
        "timeSpentSeconds": draft.time_spent_seconds,
        "occurredAt": draft.occurred_at.isoformat() if draft.occurred_at else None,
        "sessionId": draft.session_id,
    }
    if draft.score is not None:
        values["score"] = draft.score
    if draft.correct is not None:
        values["correct"] = draft.correct
    return values


def as_documents(
    drafts: Sequence[EventDraft], items: dict[str, ContentItem], received_at: datetime
) -> list[dict[str, Any]]:
    """What the recorder would store for the drafts, outcome included."""
    documents = []
    for n, draft in enumerate(drafts):
        event = validate_event(
            draft, field_prefix=f"inputs[{n}]", received_at=received_at, known_content=True
        )
        start = ContentProgress(
            draft.learner_id, draft.content_id, items[draft.content_id].certification
        )
        outcome = EventOutcome(progress=advance(start, event))
        documents.append(event_to_document(event, outcome=outcome, received_at=received_at))
    return documents


def chunks(values: Sequence[EventDraft], size: int) -> list[Sequence[EventDraft]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


# --- measuring ----------------------------------------------------------------------------------


def percentile(samples: Sequence[float], pct: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:10,.0f} events/s"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


async def timed(action: Awaitable[object]) -> float:
    """Seconds to complete `action`, a coroutine that has not started yet."""
    started = time.perf_counter()
    await action
    return time.perf_counter() - started


# Who the measures ask as: a trusted backend, which reads and records for every learner.
BENCH_VIEWER = Viewer("bench", frozenset({Role.SERVICE}))


@dataclass
class Bench:
    """What a measure works with: the service's parts over the benchmark's database."""

    services: Services
    schema: strawberry.Schema
    database: Database
    uri: str  # the server's, for measures that start the service itself
    counter: CommandCounter
    factory: EventFactory
    items: dict[str, ContentItem]
    # Broken promises a measure saw without raising (it still reports its figures): the run
    # ends with a non-zero status when there are any.
    failures: list[str] = field(default_factory=list)

    async def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        result = await self.schema.execute(
            query,
            variable_values=variables,
            context_value=new_context(self.services, BENCH_VIEWER),
        )
        if result.errors:
            raise RuntimeError(f"GraphQL errors: {[e.formatted for e in result.errors]}")
        assert result.data is not None
        return result.data

    async def record(self, drafts: Sequence[EventDraft]) -> None:
        """The real write path, without GraphQL: the recorder in batches of 1,000."""
        for batch in chunks(drafts, MAX_BATCH):
            results = await self.services.recorder.record_many(batch, received_at=utc_now())
            failed = [r.error for r in results if r.error is not None]
            if failed:
                raise RuntimeError(f"{len(failed)} events failed, the first: {failed[0]}")

    def fail(self, problem: str) -> None:
        print(f"   FAILED: {problem}")
        self.failures.append(problem)
