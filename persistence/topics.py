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
UNLOCKS_FEED: Topic[Unlock] = Topic(UNLOCKS, "learnerId", unlock_from_document, lossless=True)
TOPICS: list[Topic[Any]] = [PROGRESS_UPDATES, UNLOCKS_FEED]
