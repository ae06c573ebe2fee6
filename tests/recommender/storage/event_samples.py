"""Event records for the journal's tests: valid events with fields to override, a mix of every
event type, and files of events in each import format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

T0 = pd.Timestamp("2026-03-01 09:00:00")
KNOWN = {"known_assets": {"a1", "a2"}, "known_partners": {"p1", "p2"}}


def ev(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid 'open' event, i minutes after T0, with fields replaced by `overrides`."""
    event = {
        "event_id": f"e{i}",
        "ts": (T0 + pd.Timedelta(minutes=i)).isoformat(),
        "type": "open",
        "partner_id": "p1",
        "asset_id": "a1",
    }
    event.update(overrides)
    return event


def mixed_events(n: int) -> list[dict[str, Any]]:
    """n valid events cycling through every event type, spread over several days."""
    out = []
    for i in range(n):
        ts = (T0 + pd.Timedelta(hours=7 * i)).isoformat()
        kind = i % 4
        if kind == 0:
            # kept items and, every other one, an explored reserve (see ranking.exploration);
            # every fourth impression was served in an interleaving experiment
            slot, shown = (0.95, 0.95) if i % 8 else (0.0025, 0.02)
            arm = {"experiment": "x1", "arm": "treatment"} if i % 16 == 4 else {}
            out.append(
                ev(i, ts=ts, type="impression", request_id=f"r{i // 8}", position=i % 8)
                | {"propensity": slot, "propensity_shown": shown}
                | arm
            )
        elif kind == 1:
            out.append(ev(i, ts=ts, type="feedback", value=-1.0, stage="discovery"))
        elif kind == 2:
            out.append(
                ev(i, ts=ts, type="deal_outcome", asset_id=None, deal_id="d1", outcome="won")
                | {"amount": 1250.5}
            )
        else:
            out.append(ev(i, ts=ts, type="share", asset_id="a2", partner_id="p2"))
    return out


def write_events(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` in the format its suffix names."""
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        with path.open("w") as fh:
            for record in frame.to_dict(orient="records"):
                clean = {k: v for k, v in record.items() if not (v is None or v != v)}
                fh.write(json.dumps(clean) + "\n")
    else:
        frame.to_parquet(path, index=False)
    return path


FORMATS = ["events.csv", "events.jsonl", "events.parquet"]
