"""A manager's partners at a glance (portfolio) and what to send them (digests), as the
console serves them; `recommender digest` makes the same digests from the command line.

    rows = portfolio_rows(state, snapshot, partners_of(snapshot.partners, "Olena Kovalenko"), now)
    digests = make_digests(state, snapshot, partners, base_url="https://reco.example.com")
    record_sent(state, digests, actor=actor(key), fmt="html")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from recommender import (
    PartnerDigest,
    PartnerProfile,
    PortfolioRow,
    Snapshot,
    build_digests,
    load_deal_frame,
    portfolio,
    record_digests,
)
from service.state import ServiceState

# the journal is "behind" when its newest event is this much older than now: the portfolio
# then offers to look at it as of that day (a demo, an export replayed into a test workspace)
STALE_AFTER = timedelta(days=30)


def journal_behind(state: ServiceState, now: datetime) -> datetime | None:
    """The newest event's time (UTC) when it is older than `STALE_AFTER`, else None."""
    newest = state.journal.newest()
    if newest is None:
        return None
    newest = newest.replace(tzinfo=UTC)
    return newest if now - newest > STALE_AFTER else None


def portfolio_rows(
    state: ServiceState, snapshot: Snapshot, partners: Sequence[PartnerProfile], now: datetime
) -> list[PortfolioRow]:
    """The portfolio of `partners` as of `now` (recommender.outreach.portfolio)."""
    deals = load_deal_frame(state.workspace)
    return portfolio(snapshot, state.journal, state.digests, partners, deals=deals, now=now)


def make_digests(
    state: ServiceState,
    snapshot: Snapshot,
    partners: Sequence[PartnerProfile],
    *,
    base_url: str,
    since: datetime | None = None,
    n: int = 5,
    now: datetime | None = None,
) -> list[PartnerDigest]:
    """A digest per partner, its links tracked under `settings.public_url`, else `base_url`."""
    return build_digests(
        snapshot, partners, state.digests, state.journal.seen_assets, since=since, n=n,
        signer=state.links, base_url=state.settings.public_url or base_url, now=now,
    )  # fmt: skip


def record_sent(
    state: ServiceState, digests: Sequence[PartnerDigest], *, actor: str, fmt: str
) -> None:
    """Store the digests as sent (audited): the next ones leave their assets out."""
    record_digests(state.digests, digests, actor=actor, fmt=fmt)
