"""What subscribers can follow live."""

from __future__ import annotations

from domain.progress import ContentProgress
from persistence.feed import Topic
from persistence.indexes import PROGRESS
from persistence.progress import progress_from_document

PROGRESS_UPDATES: Topic[ContentProgress] = Topic(PROGRESS, "learnerId", progress_from_document)
