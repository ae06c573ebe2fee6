"""The simulated portal asking the engine: each request of a world as the service would send
it (the deal's context at its stage, the partner's stored profile, the time, a request id,
exploration and the partner's already-seen assets), answered by `Recommender.recommend`.

What the engine returns becomes the slate the partner sees (`Slates`: asset indices of the
world and the propensities the engine logged for each slot); the partner's behaviour on it is
the generator's (`demo.generator.behaviour.respond`). `NoteVectors` embeds every deal note of
the world once, in batches, for serving and training alike.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from demo.generator.behaviour import Requests
from demo.generator.config import STAGES
from demo.generator.world import World
from recommender import (
    DealContext,
    Embedder,
    Exploration,
    PartnerProfile,
    Recommender,
    UnknownPartnerError,
    recommend_in_experiments,
)

__all__ = ["MS_PER_DAY", "NoteVectors", "Portal", "PortalError", "Slates", "quantize"]

MS_PER_DAY = 86_400_000


def quantize(t: np.ndarray) -> np.ndarray:
    """Times (days) rounded to the millisecond, as the journal stores them: a request is
    served at exactly the time its impressions are logged with."""
    return np.round(np.asarray(t, dtype=np.float64) * MS_PER_DAY) / MS_PER_DAY


class PortalError(RuntimeError):
    """A request the engine could not serve (a bug of the world or the engine: the closed loop
    serves every request, it never skips one)."""


@dataclass
class Slates:
    """What a batch of requests showed: (n_requests, k) arrays by slot. `shown` holds the
    world's asset indices (-1: the engine returned fewer items), `propensity` and
    `propensity_shown` what the engine logged for the slot (NaN where empty), `explored`
    whether exploration put a reserve there."""

    shown: np.ndarray
    propensity: np.ndarray
    propensity_shown: np.ndarray
    explored: np.ndarray
    # served inside an online experiment: its name per request (None: outside any), and the
    # arm or interleaving team of each slot
    experiment: np.ndarray | None = None
    arm: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int, k: int) -> Slates:
        return cls(
            shown=np.full((n, k), -1, dtype=np.int64),
            propensity=np.full((n, k), np.nan),
            propensity_shown=np.full((n, k), np.nan),
            explored=np.zeros((n, k), dtype=bool),
            experiment=np.full(n, None, dtype=object),
            arm=np.full((n, k), None, dtype=object),
        )


class Portal:
    """The requests of one world as the engine receives them (contexts built once per deal)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.asset_index = {str(a): i for i, a in enumerate(world.a.ids.tolist())}
        self._epoch = world.start.tz_localize(UTC).to_pydatetime()
        self._base: dict[int, DealContext] = {}
        self._contexts: dict[tuple[int, int], DealContext] = {}

    def request_id(self, j: int) -> str:
        """The id of the world's j-th request, as its events carry it."""
        return f"r{self.world.config.seed}-{j}"

    def now(self, t: float) -> datetime:
        """The UTC time of `t` days into the window (rounded to the millisecond)."""
        return self._epoch + timedelta(milliseconds=round(float(t) * MS_PER_DAY))

    def context(self, deal: int, stage: int) -> DealContext:
        """The deal's context (industry, products, competitors, buyer role, size, notes,
        language, id) at `stage` (an index of STAGES)."""
        key = (deal, stage)
        hit = self._contexts.get(key)
        if hit is not None:
            return hit
        base = self._base.get(deal)
        if base is None:
            row = self.world.sim.frame.iloc[deal]
            base = DealContext(
                stage=STAGES[stage],
                industry=row["industry"],
                products=tuple(row["products"]),
                size=float(row["size"]),
                competitors=tuple(row["competitors"]),
                buyer_role=row["buyer_role"],
                notes=row["notes"],
                language=row["language"],
                deal_id=str(row["deal_id"]),
            )
            self._base[deal] = base
        context = base if base.stage == STAGES[stage] else replace(base, stage=STAGES[stage])
        self._contexts[key] = context
        return context

    def partner_id(self, deal: int) -> str:
        return str(self.world.p.ids[self.world.d.partner[deal]])

    def serve(
        self,
        engine: Recommender,
        requests: Requests,
        request_ids: Sequence[str],
        *,
        k: int,
        exploration: Exploration | None = None,
        seen: Mapping[str, frozenset[str]] | None = None,
        experiments: bool = False,
    ) -> Slates:
        """Ask `engine` for every request (top `k`, the request's own id and time, the
        partner's stored profile and `seen` assets) and return the slates it served; with
        `experiments`, inside the running experiments of the engine's snapshot, as the service
        serves (`recommender.recommend_in_experiments`).

        A partner the engine does not know, or an asset that is not the world's, raises
        `PortalError`: every request of the world must be served."""
        out = Slates.empty(len(requests), k)
        partners: dict[str, PartnerProfile] = {}
        seen = seen or {}
        for i in range(len(requests)):
            deal, stage = int(requests.deal[i]), int(requests.stage[i])
            partner_id = self.partner_id(deal)
            partner = partners.get(partner_id)
            if partner is None:
                try:
                    partner = engine.resolve_partner(partner_id)
                except UnknownPartnerError as exc:
                    raise PortalError(
                        f"request {request_ids[i]}: the engine cannot serve partner "
                        f"{partner_id!r} (deal {self.world.deal_ids[deal]}): {exc}"
                    ) from exc
                partners[partner_id] = partner
            result = recommend_in_experiments(
                engine,
                self.context(deal, stage),
                partner,
                snapshot=engine.snapshot,
                n=k,
                seen=seen.get(partner_id, frozenset()),
                now=self.now(requests.t[i]),
                request_id=request_ids[i],
                exploration=exploration,
                experiments=experiments,
            )
            assert out.experiment is not None and out.arm is not None
            out.experiment[i] = result.experiment
            for slot, item in enumerate(result.items):
                index = self.asset_index.get(item.asset_id)
                if index is None:
                    raise PortalError(
                        f"request {request_ids[i]}: the engine served asset {item.asset_id!r}, "
                        "which is not in the world's catalog"
                    )
                out.shown[i, slot] = index
                out.propensity[i, slot] = item.propensity
                out.propensity_shown[i, slot] = item.propensity_shown
                out.explored[i, slot] = item.explored
                out.arm[i, slot] = item.arm
        return out


class NoteVectors:
    """An `Embedder` that knows the query vectors of a fixed set of texts (a world's deal
    notes, in the order the loop will need them) and delegates everything else.

    A background thread embeds the texts one batch at a time from construction on, on the
    core the serving loop leaves idle; a text asked for before its turn is embedded on the
    calling thread. Each text's vector is its own (the e5 encoder embeds a text alone), so
    what the loop gets does not depend on which thread got there first. Serving (through a
    `QueryCache`) and training (`DealText`) both read them from here: the notes of a
    3,000-deal world are embedded once per loop. `close()` stops the thread."""

    def __init__(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
    ) -> None:
        self.id = embedder.id
        self.dim = embedder.dim
        self._inner = embedder
        self._texts = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
        self._batch = batch_size
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="note-vectors", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        for lo in range(0, len(self._texts), self._batch):
            if self._stop.is_set():
                return
            with self._lock:
                part = [t for t in self._texts[lo : lo + self._batch] if t not in self._vectors]
            if part:
                self._store(part, self._inner.embed_queries(part))

    def _store(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        with self._lock:
            for text, vec in zip(texts, np.asarray(vectors, dtype=np.float32), strict=True):
                self._vectors.setdefault(text, vec)

    def close(self) -> None:
        """Stop the background thread (after its current batch)."""
        self._stop.set()
        self._thread.join()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._store(missing, self._inner.embed_queries(missing))
        with self._lock:
            return np.stack([self._vectors[t] for t in texts]).astype(np.float32)

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._inner.embed_passages(texts, progress=progress)
