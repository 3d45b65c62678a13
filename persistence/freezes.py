"""Streak freeze grants, kept under their idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.errors import BulkWriteError

from domain.streaks import FreezeGrant
from persistence.database import Database, Document, pair_id
from persistence.indexes import FREEZE_GRANTS
from persistence.versioned import ConcurrentUpdate, Session, is_duplicate


def grant_to_document(grant: FreezeGrant) -> Document:
    return {
        "_id": pair_id(grant.learner_id, grant.grant_id),
        "learnerId": grant.learner_id,
        "grantId": grant.grant_id,
        "requested": grant.requested,
        "granted": grant.granted,
        "held": grant.held,
        "reason": grant.reason,
        "grantedBy": grant.granted_by,
        "at": grant.at,
    }


def grant_from_document(doc: Document) -> FreezeGrant:
    return FreezeGrant(
        learner_id=doc["learnerId"],
        grant_id=doc["grantId"],
        requested=doc["requested"],
        granted=doc["granted"],
        held=doc["held"],
        reason=doc["reason"],
        granted_by=doc["grantedBy"],
        at=doc["at"],
    )


class FreezeGrantRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[FREEZE_GRANTS]

    async def find(self, learner_id: str, grant_id: str, session: Session) -> FreezeGrant | None:
        doc = await self._collection.find_one(
            {"_id": pair_id(learner_id, grant_id)}, session=session
        )
        return None if doc is None else grant_from_document(doc)

    async def insert_many(self, grants: Sequence[FreezeGrant], session: Session) -> None:
        """Stores grants; one already there means a concurrent retry stored it first."""
        if not grants:
            return
        try:
            await self._collection.insert_many(
                [grant_to_document(g) for g in grants], ordered=True, session=session
            )
        except BulkWriteError as error:
            if is_duplicate(error):
                raise ConcurrentUpdate(FREEZE_GRANTS) from error
            raise
