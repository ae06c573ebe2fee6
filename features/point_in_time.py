"""Point-in-time sums: per-key sums of event weights over the events strictly before a time.

The building block of `features.usage`: every usage feature is a few such sums (an asset's
impressions and opens, a partner's engagement with a type, ...) asked for many (key, time)
queries at once, so that a training example sees only the events before its own time and a
serving request (after every event) reads per-key totals.
"""

from __future__ import annotations

import threading

import numpy as np

# Guards the first sort of every SumsBefore (rare: once per instance, on the first query
# before its last event); module-level so that an instance pickles (a child process builds
# serving's usage features).
_SORT_LOCK = threading.Lock()


class SumsBefore:
    """Sum of per-event weights by integer key, restricted to events strictly before a time.

    Events are sorted by (key, time) into one int64 composite `key * span + tick`; a query
    (key, t) is two binary searches. Queries after the last event (serving) take a fast path
    through the per-key totals.

    The per-key totals are made at once (a bincount when the keys are small enough for one,
    else from the sort); the sort and its cumulative sums on the first query before the last
    event, which serving's queries never are: a snapshot's usage build skips them (most of
    its time on a large journal).
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
        self._keys = np.asarray(keys, dtype=np.int64)
        self._times = np.asarray(times_us, dtype=np.int64)
        self._weights = (
            None
            if weights is None
            else np.asarray(weights, dtype=np.float64).reshape(len(self._keys), n_cols)
        )
        self._presorted = presorted
        self._order = order
        self.n_cols = n_cols
        self.t0, self.tick, self.span = t0, tick, span
        self._sorted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._starts: np.ndarray | None = None
        self._table_size = 0
        kept = self._keys >= 0 if order is None else np.zeros(len(self._keys), dtype=bool)
        if order is not None:
            kept[order] = True
        self.n = int(kept.sum())
        self.t_last = int(self._times[kept].max()) if self.n else -(2**62)
        top = int(self._keys[kept].max()) if self.n else -1
        if top + 1 <= max(4 * self.n, 1 << 20):
            self._totals_by_count(kept, top)
        else:
            self._sort()

    def _totals_by_count(self, kept: np.ndarray, top: int) -> None:
        """Per-key totals with bincount (keys up to `top`), no sort."""
        keys = self._keys[kept]
        counts = np.bincount(keys, minlength=top + 1)
        self.unique_keys = np.flatnonzero(counts).astype(np.int64)
        if self._weights is None:
            self.totals = counts[self.unique_keys].astype(np.float64)[:, None]
        else:
            w = self._weights[kept]
            sums = [
                np.bincount(keys, weights=w[:, c], minlength=top + 1) for c in range(self.n_cols)
            ]
            self.totals = np.column_stack(sums).astype(np.float64)[self.unique_keys]

    def _sort(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys sorted by key and time, their composite, cumulative weights), made once."""
        if self._sorted is not None:
            return self._sorted
        if getattr(self, "_totals_only", False):
            raise RuntimeError("this sum keeps per-key totals only (SumsBefore.totals_only)")
        with _SORT_LOCK:
            if self._sorted is not None:
                return self._sorted
            order = self._order
            if order is None:
                order = key_time_order(
                    self._keys, self._times, t0=self.t0, tick=self.tick, span=self.span,
                    presorted=self._presorted,
                )  # fmt: skip
            n = len(order)
            keys_sorted = self._keys[order]
            composite = keys_sorted * self.span + (self._times[order] - self.t0) // self.tick
            cum = np.zeros((n + 1, self.n_cols))
            if self._weights is None:
                cum[1:] = np.arange(1, n + 1, dtype=np.float64)[:, None]
            else:
                np.cumsum(self._weights[order], axis=0, out=cum[1:])
            if not hasattr(self, "totals"):
                # keys_sorted is sorted: a key starts where it differs from the one before
                first = np.flatnonzero(np.diff(keys_sorted, prepend=-1)) if n else np.zeros(0, int)
                self.unique_keys = keys_sorted[first]
                self.totals = cum[np.append(first[1:], n)] - cum[first]
            # Where each key's events start, for keys 0..top+1 (top+1: past the end), when
            # the keys are small enough for a table: a query's lower bound is then a lookup
            # instead of a binary search with no locality (half the cost of a query).
            top = int(keys_sorted[-1]) if n else -1
            self._table_size = top + 2 if top + 2 <= max(4 * n, 1 << 16) else 0
            self._sorted = (keys_sorted, composite, cum)
            self._keys = self._times = self._weights = self._order = None  # type: ignore[assignment]
            return self._sorted

    def totals_only(self) -> SumsBefore:
        """This sum reduced to its per-key totals, its events dropped (a fraction of the
        size): every query is then answered as if after the last event."""
        if not hasattr(self, "totals"):
            self._sort()
        out = SumsBefore.__new__(SumsBefore)
        out.__dict__.update(
            {k: v for k, v in self.__dict__.items() if not k.startswith("_")},
            _keys=None, _times=None, _weights=None, _order=None, _presorted=False,
            _sorted=None, _starts=None, _table_size=0, _totals_only=True,
        )  # fmt: skip
        out.t_last = -(2**62)  # every query takes the totals
        return out

    @property
    def keys_sorted(self) -> np.ndarray:
        return self._sort()[0]

    @property
    def composite(self) -> np.ndarray:
        return self._sort()[1]

    @property
    def cum(self) -> np.ndarray:
        return self._sort()[2]

    def _key_starts(self, keys: np.ndarray) -> np.ndarray:
        """Position of the first event of each key (>= 0) in the sorted events: the first
        position at or after where that key would be."""
        composite = self.composite
        if not self._table_size:
            return np.searchsorted(composite, keys * self.span, side="left")
        if self._starts is None:  # two threads may both make it: the same array
            self._starts = np.searchsorted(composite, np.arange(self._table_size) * self.span)
        return self._starts[np.minimum(keys, self._table_size - 1)]

    def before(self, keys: np.ndarray, times_us: np.ndarray) -> np.ndarray:
        """(n, n_cols) sums of weights of events with the same key and time < the query's.

        Keys < 0 (unknown) sum to 0.
        """
        keys = np.asarray(keys, dtype=np.int64)
        if self.n == 0 or len(keys) == 0:
            return np.zeros((len(keys), self.n_cols))
        times_us = np.asarray(times_us, dtype=np.int64)
        if times_us.min() > self.t_last:
            # Every event is before every query: per-key totals (serving takes this path).
            idx = np.searchsorted(self.unique_keys, keys)
            np.minimum(idx, len(self.unique_keys) - 1, out=idx)
            out = self.totals[idx]
            out[self.unique_keys[idx] != keys] = 0.0
            return out
        times_us = np.broadcast_to(times_us, keys.shape)
        out = np.zeros((len(keys), self.n_cols))
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
