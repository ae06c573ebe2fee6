"""Point-in-time sums: per-key sums of event weights over the events strictly before a time.

The building block of `features.usage`: every usage feature is a few such sums (an asset's
impressions and opens, a partner's engagement with a type, ...) asked for many (key, time)
queries at once, so that a training example sees only the events before its own time and a
serving request (after every event) reads per-key totals.
"""

from __future__ import annotations

import numpy as np


class SumsBefore:
    """Sum of per-event weights by integer key, restricted to events strictly before a time.

    Events are sorted by (key, time) into one int64 composite `key * span + tick`; a query
    (key, t) is two binary searches. Queries after the last event (serving) take a fast path
    through the per-key totals.
    """

    def __init__(
        self,
        keys: np.ndarray,
        times_us: np.ndarray,
        weights: np.ndarray | None,
        *,
        t0: int,
        tick: int,
        span: int,
        n_cols: int = 1,
        presorted: bool = False,
        order: np.ndarray | None = None,
    ) -> None:
        """`presorted`: see `key_time_order`; `order`: that order, when the caller has it."""
        all_keys = np.asarray(keys, dtype=np.int64)
        all_times = np.asarray(times_us, dtype=np.int64)
        if order is None:
            order = key_time_order(
                all_keys, all_times, t0=t0, tick=tick, span=span, presorted=presorted
            )
        n = len(order)
        self.keys_sorted = all_keys[order]
        times_sorted = all_times[order]
        self.composite = self.keys_sorted * span + (times_sorted - t0) // tick
        self.cum = np.zeros((n + 1, n_cols))
        if weights is None:
            self.cum[1:] = np.arange(1, n + 1, dtype=np.float64)[:, None]
        else:
            w = np.asarray(weights, dtype=np.float64).reshape(len(all_keys), n_cols)[order]
            np.cumsum(w, axis=0, out=self.cum[1:])
        self.t0, self.tick, self.span = t0, tick, span
        self.t_last = int(times_sorted.max()) if n else -(2**62)
        # Per-key totals for the serving fast path (keys_sorted is sorted: a key starts where
        # it differs from the one before).
        first = np.flatnonzero(np.diff(self.keys_sorted, prepend=-1)) if n else np.zeros(0, int)
        self.unique_keys = self.keys_sorted[first]
        last = np.append(first[1:], n)
        self.totals = self.cum[last] - self.cum[first]
        # Where each key's events start, for keys 0..top+1 (top+1: past the end), when the
        # keys are small enough for a table: a query's lower bound is then a lookup instead
        # of a binary search with no locality (half the cost of a query). Made on the first
        # query before the last event (serving's queries never need it).
        top = int(self.unique_keys[-1]) if n else -1
        self._table_size = top + 2 if top + 2 <= max(4 * n, 1 << 16) else 0
        self._starts: np.ndarray | None = None

    def _key_starts(self, keys: np.ndarray) -> np.ndarray:
        """Position of the first event of each key (>= 0) in the sorted events: the first
        position at or after where that key would be."""
        if not self._table_size:
            return np.searchsorted(self.composite, keys * self.span, side="left")
        if self._starts is None:  # two threads may both make it: the same array
            self._starts = np.searchsorted(self.composite, np.arange(self._table_size) * self.span)
        return self._starts[np.minimum(keys, self._table_size - 1)]

    def before(self, keys: np.ndarray, times_us: np.ndarray) -> np.ndarray:
        """(n, n_cols) sums of weights of events with the same key and time < the query's.

        Keys < 0 (unknown) sum to 0.
        """
        keys = np.asarray(keys, dtype=np.int64)
        if len(self.composite) == 0 or len(keys) == 0:
            return np.zeros((len(keys), self.cum.shape[1]))
        times_us = np.asarray(times_us, dtype=np.int64)
        if times_us.min() > self.t_last:
            # Every event is before every query: per-key totals (serving takes this path).
            idx = np.searchsorted(self.unique_keys, keys)
            np.minimum(idx, len(self.unique_keys) - 1, out=idx)
            out = self.totals[idx]
            out[self.unique_keys[idx] != keys] = 0.0
            return out
        times_us = np.broadcast_to(times_us, keys.shape)
        out = np.zeros((len(keys), self.cum.shape[1]))
        valid = keys >= 0
        if not valid.any():
            return out
        k, t = keys[valid], times_us[valid]
        # ceil((t - t0) / tick): an event counts when its tick < the query's tick.
        qtick = np.clip(-((self.t0 - t) // self.tick), 0, self.span - 1)
        hi = np.searchsorted(self.composite, k * self.span + qtick, side="left")
        lo = self._key_starts(k)
        out[valid] = self.cum[hi] - self.cum[lo]
        return out

    def ranges(self, keys: np.ndarray, times_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[lo, hi) positions in the sorted events of each query's key, before its time."""
        keys = np.asarray(keys, dtype=np.int64)
        times_us = np.broadcast_to(np.asarray(times_us, dtype=np.int64), keys.shape)
        qtick = np.clip(-((self.t0 - times_us) // self.tick), 0, self.span - 1)
        safe = np.maximum(keys, 0)
        hi = np.searchsorted(self.composite, safe * self.span + qtick, side="left")
        lo = self._key_starts(safe)
        hi = np.where(keys >= 0, hi, lo)
        return lo, hi


def key_time_order(
    keys: np.ndarray, times_us: np.ndarray, *, t0: int, tick: int, span: int, presorted: bool
) -> np.ndarray:
    """Positions of the events with a key (>= 0), sorted stably by (key, time tick).

    `presorted`: `times_us` never decreases, so sorting by key alone (stably) gives that
    order, and small keys sort by radix (`stable_order`).
    """
    kept = np.flatnonzero(keys >= 0)
    if presorted:
        return kept[stable_order(keys[kept])]
    composite = keys[kept] * span + (times_us[kept] - t0) // tick
    return kept[np.argsort(composite, kind="stable")]


def stable_order(keys: np.ndarray) -> np.ndarray:
    """`np.argsort(keys, kind="stable")` of non-negative int64 keys, by 16-bit passes.

    NumPy sorts 16-bit integers stably by radix sort, about 8x faster than its merge sort of
    int64; keys below 2**32 take two such passes (low half, then high half: least significant
    digit first keeps the order exact).
    """
    if not len(keys):
        return np.zeros(0, dtype=np.intp)
    top = int(keys.max())
    if top < 2**16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if top < 2**32:
        order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
        high = (keys[order] >> 16).astype(np.uint16)
        return order[np.argsort(high, kind="stable")]
    return np.argsort(keys, kind="stable")
