"""Learning paths use cases: the catalog's paths, a learner's way through one, their modules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.catalog import ContentItem
from domain.errors import InvalidInput
from domain.paths import (
    GENERAL_MODULE,
    LearningPath,
    ModuleProgress,
    PathProgress,
    StepStatus,
    module_progress,
    path_progress,
    path_status,
    validate_path,
)
from domain.progress import ContentProgress
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access

MAX_PATHS = 50
_CATALOG_ITEMS = 2_000


@dataclass(frozen=True, slots=True)
class LearnerPath:
    path: LearningPath
    steps: tuple[StepStatus, ...]
    progress: PathProgress
    items: dict[str, ContentItem]


async def paths(access: Access, loaders: Loaders) -> list[LearningPath]:
    access.require_viewer()
    return await loaders.paths.load("all")


async def upsert_paths(
    access: Access, repos: Repositories, values: Sequence[LearningPath]
) -> list[LearningPath]:
    """Validates every path first (their items must exist): one bad path stores none."""
    access.require_admin()
    if not 1 <= len(values) <= MAX_PATHS:
        raise InvalidInput("paths", f"must hold 1 to {MAX_PATHS} entries")
    known = await repos.content.find_by_ids({s.item_id for p in values for s in p.steps})
    valid = [validate_path(p, known, f"paths[{i}]") for i, p in enumerate(values)]
    seen: set[str] = set()
    for i, path in enumerate(valid):
        if path.id in seen:
            raise InvalidInput(f"paths[{i}].id", f"'{path.id}' appears twice")
        seen.add(path.id)
    await repos.paths.upsert_many(valid)
    return valid


async def learner_paths(
    access: Access, loaders: Loaders, learner_id: str, *, certification: str | None = None
) -> list[LearnerPath]:
    """The learner's standing on each path (of one certification, if given): each step's
    status and lock, how far along, and the next step."""
    await access.require_read(learner_id)
    chosen = [
        p
        for p in await loaders.paths.load("all")
        if certification is None or p.certification == certification
    ]
    item_ids = list(dict.fromkeys(s.item_id for p in chosen for s in p.steps))
    items = {i.id: i for i in await loaders.content.load_many(item_ids) if i is not None}
    progress = await _progress(loaders, learner_id, item_ids)
    return [
        LearnerPath(p, path_status(p, progress), path_progress(p, progress, items), items)
        for p in chosen
    ]


async def modules(
    access: Access, loaders: Loaders, repos: Repositories, learner_id: str, certification: str
) -> list[ModuleProgress]:
    """Progress per module of a certification: completion, scores, time, sessions (the distinct
    `sessionId`s of its items' latest events), readiness band."""
    await access.require_read(learner_id)
    items = await repos.content.page(certification=certification, after=None, limit=_CATALOG_ITEMS)
    ordered = await _catalog_order(loaders, certification, items)
    progress = await _progress(loaders, learner_id, [i.id for i in ordered])
    sessions: dict[str, set[str]] = {}
    for item in ordered:
        found = progress.get(item.id)
        if found is not None:
            sessions.setdefault(item.module or GENERAL_MODULE, set()).update(found.sessions)
    return module_progress(ordered, progress, {m: len(s) for m, s in sessions.items()})


async def _catalog_order(
    loaders: Loaders, certification: str, items: list[ContentItem]
) -> list[ContentItem]:
    """The certification's items in the order of its first path, the rest by id after them."""
    for path in await loaders.paths.load("all"):
        if path.certification == certification:
            rank = {step.item_id: n for n, step in enumerate(path.steps)}
            return sorted(items, key=lambda i: (rank.get(i.id, len(rank)), i.id))
    return items


async def _progress(
    loaders: Loaders, learner_id: str, item_ids: Sequence[str]
) -> dict[str, ContentProgress]:
    found = await loaders.progress.load_many([(learner_id, i) for i in item_ids])
    return {p.content_id: p for p in found if p is not None}
