"""Per-learner skill state, mastery probability included."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domain.mastery import SkillState
from persistence.atomic import Session, write_versioned
from persistence.database import READ_BATCH, Database, Document, pair_id, pair_ids
from persistence.indexes import SKILL_STATES

Versioned = tuple[SkillState, int]


def skill_state_to_document(state: SkillState) -> Document:
    return {
        "_id": pair_id(state.learner_id, state.skill_id),
        "learnerId": state.learner_id,
        "skillId": state.skill_id,
        "pKnown": state.p_known,
        "attempts": state.attempts,
        "correct": state.correct,
        "scored": state.scored,
        "scoreSum": state.score_sum,
        "timeSpentSeconds": state.time_spent_seconds,
        "lastPractisedAt": state.last_practised_at,
        "masteredAt": state.mastered_at,
    }


def skill_state_from_document(doc: Document) -> SkillState:
    return SkillState(
        learner_id=doc["learnerId"],
        skill_id=doc["skillId"],
        p_known=doc["pKnown"],
        attempts=doc.get("attempts", 0),
        correct=doc.get("correct", 0),
        scored=doc.get("scored", 0),
        score_sum=doc.get("scoreSum", 0.0),
        time_spent_seconds=doc.get("timeSpentSeconds", 0.0),
        last_practised_at=doc.get("lastPractisedAt"),
        mastered_at=doc.get("masteredAt"),
    )


class SkillStateRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[SKILL_STATES]

    async def load_for_update(
        self, keys: Iterable[tuple[str, str]], session: Session
    ) -> dict[tuple[str, str], Versioned]:
        """Skill states with their versions for (learner, skill) pairs, in one command."""
        cursor = self._collection.find(pair_ids(keys), session=session)
        return {
            (doc["learnerId"], doc["skillId"]): (skill_state_from_document(doc), doc["v"])
            async for doc in cursor
        }

    async def save(
        self, changes: Sequence[tuple[SkillState, int | None]], session: Session
    ) -> None:
        await write_versioned(
            self._collection,
            [(skill_state_to_document(s), version) for s, version in changes],
            session,
        )

    async def for_learners(self, learner_ids: Sequence[str]) -> dict[str, list[SkillState]]:
        found: dict[str, list[SkillState]] = {learner_id: [] for learner_id in learner_ids}
        query = {"learnerId": {"$in": list(learner_ids)}}
        cursor = self._collection.find(query, batch_size=READ_BATCH).sort(
            [("learnerId", 1), ("skillId", 1)]
        )
        async for doc in cursor:
            found[doc["learnerId"]].append(skill_state_from_document(doc))
        return found
