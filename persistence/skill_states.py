"""Per-learner skill state, mastery probability included."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from bson import Binary

from domain.mastery import SkillState, TracedAnswer, logit
from persistence.database import (
    Database,
    Document,
    find_by_ids,
    find_in,
    pair_id,
    pair_ids,
)
from persistence.indexes import SKILL_STATES
from persistence.versioned import Session, write_versioned

Versioned = tuple[SkillState, int]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def answers_to_binary(answers: Sequence[TracedAnswer]) -> Binary:
    """The answer log, compact: per answer its time in microseconds (times two, plus one when
    right) then the log-odds after it, little-endian; 16 bytes an answer."""
    codes = [_micros(a.at) * 2 + (1 if a.correct else 0) for a in answers]
    odds = [a.log_odds for a in answers]
    return Binary(struct.pack(f"<{len(codes)}q{len(odds)}d", *codes, *odds))


def answers_from_binary(data: bytes) -> tuple[TracedAnswer, ...]:
    count = len(data) // 16
    values = struct.unpack(f"<{count}q{count}d", data)
    return tuple(
        TracedAnswer(
            at=_EPOCH + timedelta(microseconds=code >> 1),
            correct=bool(code & 1),
            log_odds=log_odds,
        )
        for code, log_odds in zip(values[:count], values[count:], strict=True)
    )


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def skill_state_to_document(state: SkillState) -> Document:
    return {
        "_id": pair_id(state.learner_id, state.skill_id),
        "learnerId": state.learner_id,
        "skillId": state.skill_id,
        "pKnown": state.p_known,  # for people and queries; the state is the log-odds
        "logOdds": state.log_odds,
        "baseLogOdds": state.base_log_odds,
        "answers": answers_to_binary(state.answers),
        "dropped": state.dropped,
        "attempts": state.attempts,
        "correct": state.correct,
        "scored": state.scored,
        "scoreSum": state.score_sum,
        "timeSpentSeconds": state.time_spent_seconds,
        "lastPractisedAt": state.last_practised_at,
        "masteredAt": state.mastered_at,
    }


def skill_state_from_document(doc: Document) -> SkillState:
    stored = doc.get("logOdds")
    # Documents stored before the log-odds were kept have only the probability.
    log_odds: float = logit(doc["pKnown"]) if stored is None else stored
    answers = doc.get("answers")
    return SkillState(
        learner_id=doc["learnerId"],
        skill_id=doc["skillId"],
        log_odds=log_odds,
        base_log_odds=doc.get("baseLogOdds", log_odds),
        answers=answers_from_binary(answers) if answers else (),
        dropped=doc.get("dropped", 0),
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
        cursor = find_by_ids(self._collection, pair_ids(keys), session=session)
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
        """Each learner's skill states, without their answer logs (only writes need those)."""
        found: dict[str, list[SkillState]] = {learner_id: [] for learner_id in learner_ids}
        sort = [("learnerId", 1), ("skillId", 1)]
        projection = {"answers": 0}
        async for doc in find_in(
            self._collection, "learnerId", learner_ids, projection=projection, sort=sort
        ):
            found[doc["learnerId"]].append(skill_state_from_document(doc))
        return found
