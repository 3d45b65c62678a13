"""Rate limiting by cost: each client has a bucket of cost points that refills at a steady rate.

As GitHub's and Shopify's GraphQL APIs do, a request is charged what its cost analysis says
(`schema.cost`) before it runs, and refunded afterwards the difference between that estimate and
the objects it actually returned. A request that finds too few points in its client's bucket is
refused unrun with `RATE_LIMITED`, saying when enough points will be back (`retryAfter`).

A client is its viewer when it has one, else its network address. Buckets live in the process:
behind a load balancer that spreads one client over N processes, the client gets up to N times
the rate. Idle full buckets are forgotten, so memory stays bounded by the clients of the last
minutes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RATE_LIMITED = "RATE_LIMITED"
DEFAULT_CAPACITY = 20_000
DEFAULT_REFILL_PER_SECOND = 1_000.0
_MAX_BUCKETS = 100_000


@dataclass(frozen=True, slots=True)
class Charge:
    """The outcome of charging a bucket: whether it paid, what is left, when to retry."""

    allowed: bool
    remaining: int
    retry_after_seconds: int = 0


@dataclass
class _Bucket:
    points: float
    updated: float


@dataclass
class RateLimiter:
    capacity: int = DEFAULT_CAPACITY
    refill_per_second: float = DEFAULT_REFILL_PER_SECOND
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def charge(self, client: str, cost: int) -> Charge:
        """Takes `cost` points from the client's bucket if it has them."""
        bucket = self._refilled(client)
        if cost <= bucket.points:
            bucket.points -= cost
            return Charge(True, math.floor(bucket.points))
        # An operation dearer than the whole bucket would never pass: the cost limit keeps
        # operations under the capacity, so waiting always helps.
        missing = min(cost, self.capacity) - bucket.points
        wait = max(1, math.ceil(missing / self.refill_per_second))
        return Charge(False, math.floor(bucket.points), wait)

    def refund(self, client: str, points: int) -> int:
        """Gives back what an operation was charged but did not use; returns what is left."""
        bucket = self._refilled(client)
        bucket.points = min(float(self.capacity), bucket.points + max(0, points))
        return math.floor(bucket.points)

    def _refilled(self, client: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[client] = _Bucket(float(self.capacity), now)
        else:
            gained = (now - bucket.updated) * self.refill_per_second
            bucket.points = min(float(self.capacity), bucket.points + gained)
            bucket.updated = now
        return bucket

    def _forget_full(self, now: float) -> None:
        """Drops the buckets that have refilled: a new bucket starts full anyway."""
        full_after = self.capacity / self.refill_per_second
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if now - bucket.updated < full_after
        }
