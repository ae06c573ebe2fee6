"""A channel manager's partners at a glance.

`portfolio(snapshot, journal, digests, partners, deals)` gives one `PortfolioRow` per partner:
its engagement (opens, downloads and shares) over the last 30 and 90 days and per week over
the last 12, its open deals by stage (deals with no `deal_outcome` event), how many relevant
assets it never opened (`awareness` over its typical deals), its last activity (any event but
an impression), and its last digest with how many of the digest's assets it engaged with
within 14 days of it. One read of the journal (the partners' own events, through the partner
index) serves every row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from features.schema import ENGAGEMENT_TYPES, EventType, Stage, values
from recommender.outreach.awareness import awareness
from recommender.outreach.store import DigestRecord, DigestStore
from recommender.ranking.snapshot import Snapshot
from recommender.storage.events import Journal
from recommender.types import PartnerProfile

WEEKS = 12
EFFECT_DAYS = 14  # a digest's asset counts as opened when engaged with within this many days


@dataclass(frozen=True)
class DigestEffect:
    """A digest and how it was received: its assets engaged with within `EFFECT_DAYS`."""

    digest_id: str
    created_at: datetime
    sent: int
    opened: int
    complete: bool  # the EFFECT_DAYS window has passed (the count is final)


@dataclass(frozen=True)
class PortfolioRow:
    partner_id: str
    name: str
    manager: str | None
    tier: str
    maturity: str
    languages: tuple[str, ...]
    engaged_30d: int
    engaged_90d: int
    weekly: tuple[int, ...]  # engagement per week, oldest first, the current week last
    open_deals: dict[str, int] = field(default_factory=dict)  # stage -> count, stage order
    never_opened: int = 0
    last_activity: datetime | None = None
    last_digest: DigestEffect | None = None

    @property
    def open_deal_count(self) -> int:
        return sum(self.open_deals.values())

    def to_record(self) -> dict[str, object]:
        """The row as flat values (the CSV export's columns)."""
        digest = self.last_digest
        return {
            "partner_id": self.partner_id,
            "name": self.name,
            "manager": self.manager or "",
            "tier": self.tier,
            "maturity": self.maturity,
            "languages": ";".join(self.languages),
            "engaged_30d": self.engaged_30d,
            "engaged_90d": self.engaged_90d,
            "weekly": ";".join(str(v) for v in self.weekly),
            "open_deals": self.open_deal_count,
            "open_deals_by_stage": ";".join(f"{s}:{n}" for s, n in self.open_deals.items()),
            "never_opened": self.never_opened,
            "last_activity": self.last_activity.isoformat(timespec="seconds")
            if self.last_activity
            else "",
            "last_digest_at": digest.created_at.isoformat(timespec="seconds") if digest else "",
            "last_digest_sent": digest.sent if digest else "",
            "last_digest_opened": digest.opened if digest else "",
        }


def manager_names(partners: Mapping[str, PartnerProfile]) -> list[str]:
    """The channel managers the partner table names, sorted."""
    return sorted({p.manager for p in partners.values() if p.manager})


def partners_of(
    partners: Mapping[str, PartnerProfile], manager: str | None
) -> list[PartnerProfile]:
    """The stored partners `manager` looks after (every partner for None), by name."""
    chosen = [p for p in partners.values() if manager is None or p.manager == manager]
    return sorted(chosen, key=lambda p: ((p.name or "").casefold(), p.partner_id or ""))


def portfolio(
    snapshot: Snapshot,
    journal: Journal,
    digests: DigestStore,
    partners: Sequence[PartnerProfile],
    *,
    deals: pd.DataFrame | None = None,
    now: datetime | None = None,
) -> list[PortfolioRow]:
    """One row per partner of `partners` (stored partners: each has a partner_id), in the
    order given; `deals` is the deal table (`load_deal_frame`), None when there is none."""
    now = now or datetime.now(UTC)
    ids = [str(p.partner_id) for p in partners]
    events = journal.partner_events(
        ids,
        types=[t for t in values(EventType) if t != EventType.IMPRESSION.value],
        columns=["partner_id", "asset_id", "deal_id", "type", "ts"],
    )
    naive_now = now.astimezone(UTC).replace(tzinfo=None)  # the journal's ts are naive UTC
    by_partner = {pid: frame for pid, frame in events.groupby("partner_id", sort=False)}
    closed = set(events.loc[events["type"] == EventType.DEAL_OUTCOME.value, "deal_id"].dropna())
    open_deals = _open_deals(deals, ids, closed)
    last_digests = {pid: found for pid in ids if (found := digests.last(pid)) is not None}
    rows = []
    for partner in partners:
        pid = str(partner.partner_id)
        mine = by_partner.get(pid, events.iloc[:0])
        engaged = mine[mine["type"].isin(ENGAGEMENT_TYPES)]
        age_days = (naive_now - engaged["ts"]).dt.total_seconds().to_numpy() / 86400.0
        weeks = np.floor(age_days / 7).astype(int)
        weekly = np.bincount(weeks[(weeks >= 0) & (weeks < WEEKS)], minlength=WEEKS)[::-1]
        opened = set(engaged["asset_id"].dropna())
        unopened, _ = awareness(snapshot, partner, opened, limit=None, now=now)
        last = mine["ts"].max() if len(mine) else None
        rows.append(
            PortfolioRow(
                partner_id=pid,
                name=partner.name or pid,
                manager=partner.manager,
                tier=partner.tier,
                maturity=partner.maturity,
                languages=tuple(partner.languages),
                engaged_30d=int(((age_days >= 0) & (age_days < 30)).sum()),
                engaged_90d=int(((age_days >= 0) & (age_days < 90)).sum()),
                weekly=tuple(int(v) for v in weekly),
                open_deals=open_deals.get(pid, {}),
                never_opened=len(unopened),
                last_activity=None if last is None else last.to_pydatetime().replace(tzinfo=UTC),
                last_digest=_effect(last_digests.get(pid), engaged, now),
            )
        )
    return rows


def _open_deals(
    deals: pd.DataFrame | None, partner_ids: Sequence[str], closed: set[str]
) -> dict[str, dict[str, int]]:
    """partner -> stage -> how many of its deals have no outcome yet, in stage order."""
    if deals is None or not len(deals) or "partner_id" not in deals:
        return {}
    mine = deals[deals["partner_id"].isin(partner_ids) & ~deals["deal_id"].isin(closed)]
    order = values(Stage)
    out: dict[str, dict[str, int]] = {}
    for (pid, stage), count in mine.groupby(["partner_id", "stage"]).size().items():
        out.setdefault(str(pid), {})[str(stage)] = int(count)
    return {
        pid: dict(
            sorted(stages.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
        )
        for pid, stages in out.items()
    }


def _effect(
    digest: DigestRecord | None, engaged: pd.DataFrame, now: datetime
) -> DigestEffect | None:
    """How many of `digest`'s assets the partner engaged with within EFFECT_DAYS of it."""
    if digest is None:
        return None
    start = digest.created_at.astimezone(UTC).replace(tzinfo=None)
    end = start + timedelta(days=EFFECT_DAYS)
    window = engaged[(engaged["ts"] >= start) & (engaged["ts"] < end)]
    opened = set(window["asset_id"].dropna()) & set(digest.asset_ids)
    return DigestEffect(
        digest_id=digest.digest_id,
        created_at=digest.created_at,
        sent=len(digest.asset_ids),
        opened=len(opened),
        complete=now >= digest.created_at + timedelta(days=EFFECT_DAYS),
    )
