"""bench_snapshot's journal: a portal's traffic as the service would write it, valid for the
journal, in time order, with the display policy and the sizes the module docstring states."""

from __future__ import annotations

import pandas as pd

from bench.bench_snapshot import BATCH, CANDIDATES, portal_events
from recommender.storage.events import EventJournal


def test_the_portal_traffic_is_valid_ordered_and_shaped_as_stated(tmp_path):
    partners = [f"P{i}" for i in range(5)]
    assets = [f"A{i:03d}" for i in range(40)]
    deals = {"P0": ["D1", "D2"], "P1": ["D3"]}
    frames = list(portal_events(partners, assets, deals, 20_000, pd.Timestamp("2026-01-01")))
    events = pd.concat(frames, ignore_index=True)
    assert len(events) == 20_000 and all(len(f) <= BATCH for f in frames)
    assert events["event_id"].is_unique
    shown = events[events["type"] == "impression"]
    per_request = shown.groupby("request_id")["position"].agg(list)
    del per_request[shown["request_id"].iloc[-1]]  # the last may be cut at 20,000 events
    assert all(sorted(p) == list(range(10)) for p in per_request)
    # a (partner, stage) is shown at most CANDIDATES assets, whatever the number of requests
    lists = shown.groupby(["partner_id", "stage"])["asset_id"].nunique()
    assert lists.max() <= CANDIDATES and len(lists) > 20
    clicks = (events["type"] == "open").sum() / len(shown)
    assert 0.01 < clicks < 0.05
    assert (events["type"] == "deal_outcome").sum() > 0
    with EventJournal(tmp_path / "events.sqlite") as journal:
        for frame in frames:
            assert journal.append(frame, all_or_nothing=True).accepted == len(frame)
        stored = journal.read(columns=["event_id", "ts"])
    assert stored["ts"].is_monotonic_increasing and len(stored) == 20_000
