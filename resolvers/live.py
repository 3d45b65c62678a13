"""What serving live updates needs from the feed, for the GraphQL transport (`schema.live`).

A subscription's live values may be handed over to whoever serves it, once it has caught up
(`Handover`, `handing_over`): the WebSocket transport takes them to run one execution for every
subscriber of the same operation. See `persistence.feed`.
"""

from persistence.feed import (
    QUEUE_SIZE,
    Feed,
    Handover,
    SubscriberLagged,
    Subscription,
    Topic,
    accepts,
    handing_over,
)

__all__ = [
    "QUEUE_SIZE",
    "Feed",
    "Handover",
    "SubscriberLagged",
    "Subscription",
    "Topic",
    "accepts",
    "handing_over",
]
