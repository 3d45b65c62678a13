"""Certifications: one document each, with its domains inline (a dozen at most)."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ReplaceOne

from domain.certifications import Certification, CertificationLevel, ExamDomain, StudyHours
from persistence.database import READ_BATCH, Database, Document
from persistence.indexes import CERTIFICATIONS


def certification_to_document(value: Certification) -> Document:
    return {
        "_id": value.id,
        "name": value.name,
        "level": value.level.value,
        "domains": [
            {"id": d.id, "name": d.name, "weight": d.weight, "skillIds": list(d.skill_ids)}
            for d in value.domains
        ],
        "passMark": value.pass_mark,
        "examItems": value.exam_items,
        "examMinutes": value.exam_minutes,
        "studyHours": {"least": value.study_hours.least, "most": value.study_hours.most},
        "prerequisites": list(value.prerequisites),
    }


def certification_from_document(doc: Document) -> Certification:
    hours = doc["studyHours"]
    return Certification(
        id=doc["_id"],
        name=doc["name"],
        level=CertificationLevel(doc["level"]),
        domains=tuple(
            ExamDomain(d["id"], d["name"], d["weight"], tuple(d["skillIds"]))
            for d in doc["domains"]
        ),
        pass_mark=doc["passMark"],
        exam_items=doc["examItems"],
        exam_minutes=doc["examMinutes"],
        study_hours=StudyHours(hours["least"], hours.get("most")),
        prerequisites=tuple(doc.get("prerequisites", ())),
    )


class CertificationRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[CERTIFICATIONS]

    async def all(self) -> list[Certification]:
        cursor = self._collection.find({}, batch_size=READ_BATCH).sort("_id", 1)
        return [certification_from_document(doc) async for doc in cursor]

    async def upsert_many(self, certifications: Sequence[Certification]) -> None:
        if certifications:
            ops = [
                ReplaceOne({"_id": c.id}, certification_to_document(c), upsert=True)
                for c in certifications
            ]
            await self._collection.bulk_write(ops, ordered=True)
