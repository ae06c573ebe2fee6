"""The event log as it accumulates (columns of numpy arrays, times in days) and the EVENTS
frame it becomes: ids, timestamps, request ids and positions, in timestamp order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.generator.config import EVENT_TYPES, STAGES
from demo.generator.encoding import Assets, Partners
from features.schema import Outcome, values

__all__ = ["Events", "events_frame"]


class Events:
    """Columns of events accumulated as numpy arrays; times in days since the window start."""

    _FIELDS = (
        "t",
        "type",
        "partner",
        "asset",
        "deal",
        "request",
        "position",
        "stage",
        "value",
        "outcome",
        "amount",
        "propensity",
        "propensity_shown",
    )

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {f: [] for f in self._FIELDS}

    def add(self, t: np.ndarray, etype: str, partner: np.ndarray, **cols: np.ndarray) -> None:
        n = len(t)
        if n == 0:
            return
        defaults: dict[str, np.ndarray] = {
            "asset": np.full(n, -1, np.int64),
            "deal": np.full(n, -1, np.int64),
            "request": np.full(n, -1, np.int64),
            "position": np.full(n, -1, np.int64),
            "stage": np.full(n, -1, np.int64),
            "value": np.full(n, np.nan),
            "outcome": np.full(n, -1, np.int64),
            "amount": np.full(n, np.nan),
            "propensity": np.full(n, np.nan),
            "propensity_shown": np.full(n, np.nan),
        }
        defaults.update(cols)
        self.parts["t"].append(np.asarray(t, np.float64))
        self.parts["type"].append(np.full(n, EVENT_TYPES.index(etype), np.int64))
        self.parts["partner"].append(np.asarray(partner, np.int64))
        for name, arr in defaults.items():
            self.parts[name].append(np.asarray(arr))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for name, chunks in self.parts.items():
            out[name] = np.concatenate(chunks) if chunks else np.empty(0)
        return out

    def extend(self, ev: dict[str, np.ndarray]) -> None:
        """Add accumulated arrays (another `Events`' `arrays()`, or a selection of them)."""
        if len(ev["t"]):
            for name in self._FIELDS:
                self.parts[name].append(ev[name])

    def pop_before(self, t: float) -> dict[str, np.ndarray]:
        """The events before time `t` (days) as arrays; the others stay."""
        ev = self.arrays()
        early = ev["t"] < t
        self.parts = {f: [] for f in self._FIELDS}
        self.extend({name: column[~early] for name, column in ev.items()})
        return {name: column[early] for name, column in ev.items()}


def events_frame(
    ev: dict[str, np.ndarray],
    a: Assets,
    p: Partners,
    deal_ids: np.ndarray,
    start: pd.Timestamp,
    seed: int,
    *,
    first_event: int = 0,
) -> pd.DataFrame:
    """The EVENTS frame of the accumulated arrays: sorted by time, ids e{seed}-{i} (i from
    `first_event`) and r{seed}-{j} (j the request's number), positions and stages as nullable
    values, the impressions' propensities where the serving policy logged them (else NaN)."""
    n = len(ev["t"])
    ms = np.round(ev["t"] * 86_400_000).astype(np.int64)
    order = np.lexsort((ev["asset"], ev["position"], ev["type"], ev["request"], ms))

    def take(name: str) -> np.ndarray:
        return ev[name][order]

    def lookup(ids: np.ndarray, idx: np.ndarray) -> np.ndarray:
        table = np.empty(len(ids) + 1, dtype=object)  # last slot: None for "no value"
        table[: len(ids)] = ids
        return table[np.where(idx >= 0, idx, len(ids))]

    request = take("request").astype(np.int64)
    n_requests = int(request.max(initial=-1)) + 1
    request_ids = np.array([None] + [f"r{seed}-{j}" for j in range(n_requests)], dtype=object)
    position = take("position").astype(np.int64)
    stage = take("stage").astype(np.int64)
    outcome = take("outcome").astype(np.int64)
    frame = pd.DataFrame(
        {
            "event_id": [f"e{seed}-{i}" for i in range(first_event, first_event + n)],
            "ts": start + pd.to_timedelta(ms[order], unit="ms"),
            "type": np.array(EVENT_TYPES, dtype=object)[take("type").astype(np.int64)],
            "partner_id": p.ids[take("partner").astype(np.int64)],
            "asset_id": lookup(a.ids, take("asset").astype(np.int64)),
            "deal_id": lookup(deal_ids, take("deal").astype(np.int64)),
            "request_id": request_ids[request + 1],
            "position": pd.array(np.where(position >= 0, position, 0), dtype="Int64"),
            "stage": lookup(np.array(STAGES, dtype=object), stage),
            "value": take("value").astype(np.float64),
            "outcome": lookup(np.array(values(Outcome), dtype=object), outcome),
            "amount": take("amount").astype(np.float64),
            "propensity": take("propensity").astype(np.float64),
            "propensity_shown": take("propensity_shown").astype(np.float64),
        }
    )
    frame.loc[position < 0, "position"] = pd.NA
    return frame
