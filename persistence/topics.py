"""What subscribers can follow live."""

from __future__ import annotations

from typing import Any

from domain.achievements import Unlock
from domain.notifications import Notification
from domain.progress import ContentProgress
from persistence.achievements import unlock_from_document
from persistence.feed import Topic
from persistence.indexes import NOTIFICATIONS, PROGRESS, UNLOCKS
from persistence.notifications import notification_from_document
from persistence.progress import progress_from_document

PROGRESS_UPDATES: Topic[ContentProgress] = Topic(PROGRESS, "learnerId", progress_from_document)
# An unlock's seq counts 1, 2, 3... per learner, in commit order (the learner's totals are
# part of every unit that unlocks): this process's unlocks reach its subscribers early.
UNLOCKS_FEED: Topic[Unlock] = Topic(
    UNLOCKS, "learnerId", unlock_from_document, lossless=True, position=lambda u: u.seq
)
# Notifications have no position: a user's come from several writers (events, the sweep), so
# they are delivered by the change stream only (see resolvers.notifications.follow).
NOTIFICATIONS_FEED: Topic[Notification] = Topic(
    NOTIFICATIONS, "userId", notification_from_document, lossless=True
)
TOPICS: list[Topic[Any]] = [PROGRESS_UPDATES, UNLOCKS_FEED, NOTIFICATIONS_FEED]
