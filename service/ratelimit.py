"""Per-key token buckets: `rate` requests/s on average, bursts of up to `burst`.

Kept in memory per worker process, so with N workers a key may reach N x rate in total; the
limit protects each worker's CPU, which is what it is for.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """Token bucket per key id. `rate <= 0` disables limiting."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._now = time.monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 if granted, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = self._now()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """A Retry-After header value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))
