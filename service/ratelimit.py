"""Token buckets: `rate` tokens/s on average, bursts of up to `burst`, one bucket per key.

Two uses. Per API key (`ServiceState.limiter`), each request takes a token. Per client
address (`ServiceState.auth_guard`), each failed authentication takes one (an invalid or
missing API key, a console sign-in with a bad key): an address without tokens left is refused
before its credentials are looked at, so that guessing keys gets nowhere, until it has earned
one back (`wait` looks without taking).

Kept in memory per worker process, with no coordination: each worker keeps its share of a
limit (`share_of`: rate and burst / (workers x replicas), the `replicas` setting), so that a
key reaches about the limit in total when the load balancer spreads its requests evenly (the
workers of one server take connections by address hash; see service/runtime/workers.py). A
key whose requests all land on one worker gets that worker's share only. At most `max_keys`
buckets are kept:
past that, the full ones (a key that has been quiet long enough) are forgotten first, as a
full bucket is what a new key starts with, then the longest unused.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """Token bucket per key. `rate <= 0` disables limiting."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000) -> None:
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.max_keys = max(1, int(max_keys))
        self._now = time.monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    @classmethod
    def share_of(cls, rate: float, burst: int, processes: int) -> RateLimiter:
        """One of `processes` workers' share of a limit of `rate` and `burst` in total."""
        processes = max(1, int(processes))
        return cls(rate / processes, max(1, math.ceil(burst / processes)))

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 if granted, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = self._now()
        with self._lock:
            tokens = self._tokens(key, now)
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                self._forget(now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def wait(self, key: str) -> float:
        """Seconds until `key` could take a token (0.0: now), without taking one."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            tokens = self._tokens(key, self._now())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate)

    def _forget(self, now: float) -> None:
        """Make room for one more bucket: drop the full ones, else the longest unused half."""
        full = [k for k, (tokens, last) in self._buckets.items()
                if tokens + (now - last) * self.rate >= self.burst]  # fmt: skip
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            by_use = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in by_use[: max(1, len(by_use) // 2)]:
                del self._buckets[key]

    @staticmethod
    def retry_after(wait: float) -> str:
        """A Retry-After header value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))
