"""Catalog use cases: admins upsert content and skills; any authenticated viewer reads them."""

from __future__ import annotations

from collections.abc import Sequence

from domain.catalog import ContentItem, Skill, validate_content_item, validate_skill
from domain.errors import InvalidInput
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.reading import Page, check_page_size

MAX_UPSERT = 500


async def upsert_content(
    access: Access, repos: Repositories, items: Sequence[ContentItem]
) -> list[ContentItem]:
    """Validates every item first: one bad item stores nothing."""
    access.require_admin()
    _check_batch(items, "items")
    valid = [validate_content_item(item, f"items[{i}]") for i, item in enumerate(items)]
    _check_unique([item.id for item in valid], "items")
    known = await repos.skills.find_by_ids({s for item in valid for s in item.skill_ids})
    for i, item in enumerate(valid):
        for j, skill_id in enumerate(item.skill_ids):
            if skill_id not in known:
                raise InvalidInput(
                    f"items[{i}].skillIds[{j}]",
                    f"unknown skill '{skill_id}': add it with upsertSkills first",
                )
    await repos.content.upsert_many(valid)
    return valid


async def upsert_skills(
    access: Access, repos: Repositories, skills: Sequence[Skill]
) -> list[Skill]:
    access.require_admin()
    _check_batch(skills, "skills")
    valid = [validate_skill(skill, f"skills[{i}]") for i, skill in enumerate(skills)]
    _check_unique([skill.id for skill in valid], "skills")
    await repos.skills.upsert_many(valid)
    return valid


async def content_item(access: Access, loaders: Loaders, content_id: str) -> ContentItem | None:
    access.require_viewer()
    return await loaders.content.load(content_id)


async def skill(access: Access, loaders: Loaders, skill_id: str) -> Skill | None:
    access.require_viewer()
    return await loaders.skill.load(skill_id)


async def content_page(
    access: Access,
    repos: Repositories,
    *,
    certification: str | None,
    first: int,
    after: str | None,
) -> Page[ContentItem]:
    """Catalog items by id after the id `after`, optionally of one certification."""
    access.require_viewer()
    size = check_page_size(first)
    rows = await repos.content.page(certification=certification, after=after, limit=size + 1)
    return Page.of(rows, size)


async def skills_page(
    access: Access, repos: Repositories, *, first: int, after: str | None
) -> Page[Skill]:
    access.require_viewer()
    size = check_page_size(first)
    return Page.of(await repos.skills.page(after=after, limit=size + 1), size)


def _check_batch(values: Sequence[object], field: str) -> None:
    if not values:
        raise InvalidInput(field, "must hold at least one entry")
    if len(values) > MAX_UPSERT:
        raise InvalidInput(field, f"must hold at most {MAX_UPSERT} entries")


def _check_unique(ids: list[str], field: str) -> None:
    seen: set[str] = set()
    for index, ident in enumerate(ids):
        if ident in seen:
            raise InvalidInput(f"{field}[{index}].id", f"'{ident}' appears twice in this batch")
        seen.add(ident)
