"""Content items and skills."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import ReplaceOne

from domain.catalog import CatalogCounts, ContentItem, ContentKind, Difficulty, Skill
from domain.mastery import BktParams
from persistence.database import Database, Document, find_in
from persistence.indexes import CONTENT, SKILLS


def content_to_document(item: ContentItem) -> Document:
    return {
        "_id": item.id,
        "title": item.title,
        "kind": item.kind.value,
        "skillIds": list(item.skill_ids),
        "category": item.category,
        "difficulty": item.difficulty.value if item.difficulty else None,
        "certification": item.certification,
        "module": item.module,
        "estimatedMinutes": item.estimated_minutes,
    }


def content_from_document(doc: Document) -> ContentItem:
    difficulty = doc.get("difficulty")
    return ContentItem(
        id=doc["_id"],
        title=doc["title"],
        kind=ContentKind(doc["kind"]),
        skill_ids=tuple(doc.get("skillIds", ())),
        category=doc.get("category"),
        difficulty=Difficulty(difficulty) if difficulty else None,
        certification=doc.get("certification"),
        module=doc.get("module"),
        estimated_minutes=doc.get("estimatedMinutes"),
    )


def skill_to_document(skill: Skill) -> Document:
    bkt = skill.bkt
    return {
        "_id": skill.id,
        "name": skill.name,
        "domain": skill.domain,
        "bkt": None
        if bkt is None
        else {"prior": bkt.prior, "learn": bkt.learn, "guess": bkt.guess, "slip": bkt.slip},
    }


def skill_from_document(doc: Document) -> Skill:
    bkt = doc.get("bkt")
    return Skill(
        id=doc["_id"],
        name=doc["name"],
        domain=doc.get("domain"),
        bkt=BktParams(**bkt) if bkt else None,
    )


class ContentRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[CONTENT]

    async def find_by_ids(self, ids: Iterable[str], session: Any = None) -> dict[str, ContentItem]:
        cursor = find_in(self._collection, "_id", ids, session=session)
        return {doc["_id"]: content_from_document(doc) async for doc in cursor}

    async def upsert_many(self, items: Sequence[ContentItem]) -> None:
        if items:
            ops = [ReplaceOne({"_id": i.id}, content_to_document(i), upsert=True) for i in items]
            await self._collection.bulk_write(ops, ordered=True)

    async def page(
        self, *, certification: str | None, after: str | None, limit: int
    ) -> list[ContentItem]:
        query: Document = {}
        if certification is not None:
            query["certification"] = certification
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._collection.find(query).sort("_id", 1).limit(limit)
        return [content_from_document(doc) async for doc in cursor]

    async def counts(self) -> CatalogCounts:
        pipeline = [{"$group": {"_id": "$certification", "n": {"$sum": 1}}}]
        by_certification: dict[str, int] = {}
        total = 0
        async for row in self._collection.aggregate(pipeline):
            total += row["n"]
            if row["_id"] is not None:
                by_certification[row["_id"]] = row["n"]
        return CatalogCounts(total=total, by_certification=by_certification)

    async def is_empty(self) -> bool:
        return await self._collection.find_one({}, {"_id": 1}) is None

    async def skills_by_category(self) -> dict[str, frozenset[str]]:
        """Each catalog category and the skills its items teach (categories without are left
        out): the subjects of the Subject Master badge."""
        pipeline: list[Document] = [
            {"$match": {"category": {"$ne": None}}},
            {"$project": {"category": 1, "skillIds": 1}},
        ]
        found: dict[str, set[str]] = {}
        async for row in self._collection.aggregate(pipeline):
            skills = row.get("skillIds") or []
            if skills:
                found.setdefault(row["category"], set()).update(skills)
        return {category: frozenset(skills) for category, skills in found.items()}


class SkillRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[SKILLS]

    async def find_by_ids(self, ids: Iterable[str], session: Any = None) -> dict[str, Skill]:
        cursor = find_in(self._collection, "_id", ids, session=session)
        return {doc["_id"]: skill_from_document(doc) async for doc in cursor}

    async def upsert_many(self, skills: Sequence[Skill]) -> None:
        if skills:
            ops = [ReplaceOne({"_id": s.id}, skill_to_document(s), upsert=True) for s in skills]
            await self._collection.bulk_write(ops, ordered=True)

    async def page(self, *, after: str | None, limit: int) -> list[Skill]:
        query: Document = {} if after is None else {"_id": {"$gt": after}}
        cursor = self._collection.find(query).sort("_id", 1).limit(limit)
        return [skill_from_document(doc) async for doc in cursor]
