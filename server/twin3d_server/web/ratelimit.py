"""A sliding-window rate limit, keyed by anything (a user name, a client address)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class RateLimit:
    """At most ``attempts`` hits per key in ``window_s`` seconds.

    Examples
    --------
    >>> t = [0.0]
    >>> limit = RateLimit(2, 60, clock=lambda: t[0])
    >>> limit.hit("alice"), limit.hit("alice"), limit.hit("alice")
    (0.0, 0.0, 60.0)
    >>> t[0] = 61.0; limit.hit("alice")
    0.0
    """

    def __init__(self, attempts: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque] = {}

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        now = self.clock()
        hits = self._hits.get(key)
        if not hits:
            return 0.0
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return 0.0
        return 0.0 if len(hits) < self.attempts else hits[0] + self.window_s - now

    def hit(self, key: str) -> float:
        """Count an attempt; returns 0 when allowed, else the seconds to wait (the attempt is not counted)."""
        wait = self.retry_after(key)
        if wait > 0:
            return wait
        self._hits.setdefault(key, deque()).append(self.clock())
        return 0.0

    def forget_idle(self) -> None:
        """Drop keys whose window has passed (keeps memory bounded)."""
        for key in list(self._hits):
            self.retry_after(key)


def retry_after_header(wait_s: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))
