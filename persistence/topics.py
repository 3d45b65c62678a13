"""What subscribers can follow live."""

from __future__ import annotations

from typing import Any

from domain.achievements import Unlock
from domain.progress import ContentProgress
from persistence.achievements import unlock_from_document
from persistence.feed import Topic
from persistence.indexes import PROGRESS, UNLOCKS
from persistence.progress import progress_from_document

PROGRESS_UPDATES: Topic[ContentProgress] = Topic(PROGRESS, "learnerId", progress_from_document)
# An unlock's seq counts 1, 2, 3... per learner, in commit order (the learner's totals are
# part of every unit that unlocks): this process's unlocks reach its subscribers early.
UNLOCKS_FEED: Topic[Unlock] = Topic(
    UNLOCKS, "learnerId", unlock_from_document, lossless=True, position=lambda u: u.seq
)
TOPICS: list[Topic[Any]] = [PROGRESS_UPDATES, UNLOCKS_FEED]
