"""Certification use cases: the certifications of the catalog, and a learner's readiness for one.

Readiness reads derived state only: the learner's skill states (one document per skill
practised), the certification, and, for the recommended items, the catalog's items of the
certification and the learner's progress on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.catalog import ContentItem
from domain.certifications import Certification, validate_certification
from domain.errors import InvalidInput
from domain.mastery import DEFAULT_BKT, BktParams
from domain.progress import ProgressStatus
from domain.readiness import DomainStanding, Readiness, SkillEvidence, assess
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access

MAX_CERTIFICATIONS = 50
ACTIONS_PER_DOMAIN = 3
WEAK_DOMAINS_NAMED = 3
READY_TO_BOOK = 80.0  # percent pass probability from which booking the exam is suggested
_DONE = (ProgressStatus.COMPLETED, ProgressStatus.MASTERED)
_CATALOG_ITEMS = 2_000


class ActionKind(StrEnum):
    STUDY_ITEM = "study_item"  # an unfinished item of a weak domain
    PRACTISE_DOMAIN = "practise_domain"  # a weak domain whose items are all done: practise more
    BOOK_EXAM = "book_exam"


@dataclass(frozen=True, slots=True)
class ReadinessAction:
    kind: ActionKind
    message: str
    domain_id: str | None = None
    content_id: str | None = None
    estimated_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class LearnerReadiness:
    readiness: Readiness
    actions: tuple[ReadinessAction, ...]


async def certifications(access: Access, loaders: Loaders) -> list[Certification]:
    access.require_viewer()
    return await loaders.certifications.load("all")


async def upsert_certifications(
    access: Access, repos: Repositories, values: Sequence[Certification]
) -> list[Certification]:
    """Validates every certification first (their skills must exist): one bad one stores none."""
    access.require_admin()
    if not 1 <= len(values) <= MAX_CERTIFICATIONS:
        raise InvalidInput("certifications", f"must hold 1 to {MAX_CERTIFICATIONS} entries")
    valid = [validate_certification(c, f"certifications[{i}]") for i, c in enumerate(values)]
    seen: set[str] = set()
    for i, certification in enumerate(valid):
        if certification.id in seen:
            raise InvalidInput(f"certifications[{i}].id", f"'{certification.id}' appears twice")
        seen.add(certification.id)
    known = await repos.skills.find_by_ids(
        {s for c in valid for d in c.domains for s in d.skill_ids}
    )
    for i, certification in enumerate(valid):
        for j, domain in enumerate(certification.domains):
            for k, skill in enumerate(domain.skill_ids):
                if skill not in known:
                    raise InvalidInput(
                        f"certifications[{i}].domains[{j}].skillIds[{k}]",
                        f"unknown skill '{skill}': add it with upsertSkills first",
                    )
    await repos.certifications.upsert_many(valid)
    return valid


async def readiness_for(
    access: Access,
    loaders: Loaders,
    repos: Repositories,
    learner_id: str,
    certification_id: str,
    *,
    now: datetime,
) -> LearnerReadiness | None:
    """The learner's readiness for the certification; None for a certification not in the
    catalog."""
    await access.require_read(learner_id)
    found = {c.id: c for c in await loaders.certifications.load("all")}
    certification = found.get(certification_id)
    if certification is None:
        return None
    return await readiness_of(loaders, repos, learner_id, certification, now=now)


async def readiness_by_certification(
    access: Access, loaders: Loaders, repos: Repositories, learner_id: str, *, now: datetime
) -> list[LearnerReadiness]:
    """Readiness for every certification of the catalog, by id."""
    await access.require_read(learner_id)
    return [
        await readiness_of(loaders, repos, learner_id, certification, now=now)
        for certification in await loaders.certifications.load("all")
    ]


async def readiness_of(
    loaders: Loaders,
    repos: Repositories,
    learner_id: str,
    certification: Certification,
    *,
    now: datetime,
) -> LearnerReadiness:
    """Readiness without the access check, for use cases that made it."""
    skill_ids = [s for d in certification.domains for s in d.skill_ids]
    states = {s.skill_id: s for s in await loaders.skill_states.load(learner_id)}
    skills = await loaders.skill.load_many(skill_ids)
    params: dict[str, BktParams] = {
        skill.id: skill.bkt for skill in skills if skill is not None and skill.bkt is not None
    }
    evidence = {
        skill_id: SkillEvidence(states[skill_id].p_known, states[skill_id].attempts)
        for skill_id in skill_ids
        if skill_id in states
    }
    readiness = assess(certification, evidence, params=DEFAULT_BKT, at=now, skill_params=params)
    actions = await _actions(loaders, repos, learner_id, readiness)
    return LearnerReadiness(readiness, actions)


async def _actions(
    loaders: Loaders, repos: Repositories, learner_id: str, readiness: Readiness
) -> tuple[ReadinessAction, ...]:
    """The weakest domains first, each with the unfinished items that practise it, named."""
    certification = readiness.certification
    weak = readiness.weak_areas[:WEAK_DOMAINS_NAMED]
    actions: list[ReadinessAction] = []
    if weak:
        items = await repos.content.page(
            certification=certification.id, after=None, limit=_CATALOG_ITEMS
        )
        progress = await loaders.progress.load_many([(learner_id, item.id) for item in items])
        done = {
            item.id
            for item, p in zip(items, progress, strict=True)
            if p is not None and p.status in _DONE
        }
        for standing in weak:
            actions.extend(_domain_actions(standing, items, done))
    if readiness.pass_probability >= READY_TO_BOOK and not weak:
        actions.append(
            ReadinessAction(
                ActionKind.BOOK_EXAM,
                f"Predicted pass probability {readiness.pass_probability:.0f} %: "
                f"book the {certification.name} exam.",
            )
        )
    return tuple(actions)


def _domain_actions(
    standing: DomainStanding, items: Sequence[ContentItem], done: set[str]
) -> list[ReadinessAction]:
    domain = standing.domain
    skills = set(domain.skill_ids)
    open_items = [
        item for item in items if item.id not in done and skills.intersection(item.skill_ids)
    ]
    mastery = f"{standing.mastery:.0%} mastered"
    if not open_items:
        return [
            ReadinessAction(
                ActionKind.PRACTISE_DOMAIN,
                f"{domain.name} ({mastery}, {domain.weight:.0%} of the exam): every item is "
                "done; practise its questions again.",
                domain_id=domain.id,
            )
        ]
    return [
        ReadinessAction(
            ActionKind.STUDY_ITEM,
            f"{domain.name} ({mastery}, {domain.weight:.0%} of the exam): {item.title}",
            domain_id=domain.id,
            content_id=item.id,
            estimated_minutes=item.estimated_minutes,
        )
        for item in open_items[:ACTIONS_PER_DOMAIN]
    ]
