"""The closed loop: the simulated portal serves every request from the engine's own current
policy, and the engine learns from what it served.

The window is split into `config.rounds` periods of whole days. A period:

1. builds a snapshot of the workspace as it stands at the period's start: catalog, playbook,
   partners, the journal so far (usage features) and the model promoted at the end of the
   previous period (none in the first: the content scorer, i.e. the playbook prior, serves);
2. serves every request of the period on it (`Portal.serve`: the deal's context at its stage,
   the partner's stored profile, the request's time and id, the partners' already-seen assets
   as of the period's start, `Exploration(config.exploration, config.exploration_reserve,
   config.exploration_fallback)`):
   first the pre-sale requests and the post-sale requests of deals won earlier, then, once
   the deals that finished closing in the period have their outcome (won with a probability
   that rises with what they shared), the post-sale requests of the deals just won;
3. simulates behaviour on all those slates at once (`behaviour.respond`: examination, opens,
   downloads, shares, feedback), adds the period's organic opens and outcomes, and journals
   every event dated inside the period (impressions with the propensities the engine logged);
4. retrains on everything journaled so far (`recommender.train`) and promotes the new
   version, which serves the next period. Only the last period's training is evaluated
   (with the generator's oracle for the true-utility report); the others register the model
   without evaluation (`TrainConfig.evaluate`), which serves the same model in a third of
   the time. `closed_loop(evaluate_every_period=True)` evaluates each one.

Time: requests are dated in days since the window's start, rounded to the millisecond before
they are served, so the engine sees the same time the journal stores. Ids: request j (in
serving order: period by period, by time within each batch) is r{seed}-{j}; events are
e{seed}-{i} in journal order (period by period, by time within a period). Everything random
is drawn from the config's seed (`World.rng`), exploration from the request id, so the same
config gives the same journal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from demo.generator.behaviour import Behaviour, Requests, organic, respond, schedule_requests
from demo.generator.config import STAGES, GeneratorConfig
from demo.generator.deals import POST_SALE
from demo.generator.events import Events, events_frame
from demo.generator.oracle import GeneratorOracle
from demo.generator.portal import NoteVectors, Portal, quantize
from demo.generator.simulate import GeneratedData
from demo.generator.world import World
from features.schema import ENGAGEMENT_TYPES
from recommender import (
    DEFAULT_EMBEDDER,
    Embedder,
    EventJournal,
    Exploration,
    QueryCache,
    Recommender,
    Registry,
    Snapshot,
    TrainConfig,
    Workspace,
    build_snapshot,
    get_embedder,
    train,
)

__all__ = ["LoopResult", "Period", "closed_loop", "period_bounds"]


@dataclass
class Period:
    """One period of the loop: its days [start, end), the model that served it (None: the
    content scorer), the version trained at its end and promoted (None, and `not_trained`
    says why, when the log was too small to learn from), counts and timings (s)."""

    index: int
    start: float
    end: float
    served_by: str | None
    trained: str | None
    requests: int
    events: int
    not_trained: str | None = None  # why no version was trained (too small a log)
    seconds: dict[str, float] = field(default_factory=dict)
    # What the period served with, kept when closed_loop(keep_snapshots=True): its snapshot
    # and the partners' already-seen assets (to replay its requests).
    snapshot: Snapshot | None = None
    seen: dict[str, frozenset[str]] | None = None


@dataclass
class LoopResult:
    """What the loop made: the generated data (its events are the journal, in order), the
    world, the periods, every served request (request_id, deal, deal_id, partner_id, stage,
    t in days, period) and the exploration it served with."""

    data: GeneratedData
    world: World
    periods: list[Period]
    requests: pd.DataFrame
    exploration: Exploration
    seconds: float


def period_bounds(config: GeneratorConfig) -> list[float]:
    """The periods' boundaries in days since the window start: rounds + 1 whole days."""
    bounds = [float(round(config.days * r / config.rounds)) for r in range(config.rounds + 1)]
    if len(set(bounds)) != len(bounds):
        raise ValueError(
            f"rounds={config.rounds} periods do not fit in days={config.days}; "
            "each period needs at least one day"
        )
    return bounds


class _Loop:
    """The loop's state between periods (see the module docstring for what a period does)."""

    def __init__(
        self,
        workspace: Workspace,
        world: World,
        embedder: Embedder,
        train_config: TrainConfig,
        keep_snapshots: bool,
        evaluate_every_period: bool = False,
    ) -> None:
        self.ws = workspace
        self.evaluate_every_period = evaluate_every_period
        self.world = world
        self.config = world.config
        self.embedder = embedder
        self.train_config = train_config
        self.keep_snapshots = keep_snapshots
        self.portal = Portal(world)
        self.exploration = Exploration(
            rate=self.config.exploration,
            reserve=self.config.exploration_reserve,
            fallback=self.config.exploration_fallback,
        )
        self.oracle = GeneratorOracle(
            config=self.config,
            assets=world.assets,
            partners=world.partners,
            deals=world.deals_frame(world.sim.last_stage),
        )
        self.rng_behaviour = world.rng("behaviour")
        self.rng_organic = world.rng("organic")
        rng_requests = world.rng("requests")
        sim = world.sim
        self.pre = _quantized(schedule_requests(rng_requests, sim.visits, world.lam))
        self.closed = np.flatnonzero(sim.closing_done)
        # Every deal through closing may go on into post-sale; only the won ones will.
        self.post_visits = world.post_sale_visits(self.closed)
        self.post = _quantized(schedule_requests(rng_requests, self.post_visits, world.lam))
        # Deal notes, embedded in the background in the order the requests will need them.
        first = np.full(world.n_deals, np.inf)
        np.minimum.at(first, self.pre.deal, self.pre.t)
        np.minimum.at(first, self.post.deal, self.post.t)
        notes = sim.frame["notes"].iloc[np.argsort(first, kind="stable")]
        self.notes = NoteVectors(embedder, notes.dropna().astype(str).tolist())
        self.query_cache = QueryCache(self.notes, maxsize=max(4096, 2 * world.n_deals))
        self.pending = Events()
        world.dropped_outcomes(self.pending)
        self.behaviour = Behaviour.zeros(world.n_deals)
        self.won = np.zeros(world.n_deals, dtype=bool)
        self.seen: dict[str, set[str]] = {}
        self.next_request = 0
        self.next_event = 0
        self.frames: list[pd.DataFrame] = []
        self.request_log: list[pd.DataFrame] = []
        self.version: str | None = None

    # ---- one period ---------------------------------------------------------------------------
    def period(self, index: int, lo: float, hi: float, last: bool) -> Period:
        seconds: dict[str, float] = {}
        started = time.perf_counter()
        snapshot = build_snapshot(
            self.ws,
            embedder=self.embedder,
            query_cache=self.query_cache,
            model_version=self.version,
            use_model=self.version is not None,
        )
        engine = Recommender(snapshot)
        seen = {pid: frozenset(assets) for pid, assets in self.seen.items()}
        seconds["snapshot"] = time.perf_counter() - started

        t0 = time.perf_counter()
        first = self.next_request
        # Pre-sale requests, and post-sale requests of deals won in earlier periods.
        in_pre = (self.pre.t >= lo) & (self.pre.t < hi)
        in_post = (self.post.t >= lo) & (self.post.t < hi)
        batch = _merged(self.pre.take(in_pre), self.post.take(in_post & self.won[self.post.deal]))
        self._serve(engine, batch, index, seen)
        # Outcomes of the deals that finished closing in this period.
        closing = self.closed[(self.world.sim.closing_end[self.closed] >= lo)]
        closing = closing[self.world.sim.closing_end[closing] < hi]
        won = self.world.won(self.behaviour, closing)
        self.won[closing[won]] = True
        self.world.closing_outcomes(self.pending, closing, won)
        # Post-sale requests of the deals just won.
        just_won = np.zeros(self.world.n_deals, dtype=bool)
        just_won[closing[won]] = True
        self._serve(engine, self.post.take(in_post & just_won[self.post.deal]), index, seen)
        self._organic(lo, hi)
        seconds["serve"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        n_events = self._journal(np.inf if last else hi)
        seconds["journal"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        served_by = self.version
        self._write_deals(hi)
        trained, not_trained = self._retrain(last)
        seconds["train"] = time.perf_counter() - t0
        seconds["total"] = time.perf_counter() - started
        return Period(
            index=index,
            start=lo,
            end=hi,
            served_by=served_by,
            trained=trained,
            not_trained=not_trained,
            requests=self.next_request - first,
            events=n_events,
            seconds=seconds,
            snapshot=snapshot if self.keep_snapshots else None,
            seen=seen if self.keep_snapshots else None,
        )

    def _retrain(self, last: bool) -> tuple[str | None, str | None]:
        """Train on the journal so far and promote the new version; (its name, None), or
        (None, why) when the log is still too small to learn from (the model that served
        goes on serving: a tiny demo runs on the playbook). Evaluated in the last period, or
        in every one with `evaluate_every_period`."""
        if self.next_event == 0:
            return None, "no events logged yet"
        config = self.train_config
        if not (last or self.evaluate_every_period) and config.refit:
            config = replace(config, evaluate=False)
        try:
            result = train(
                self.ws,
                config=config,
                embedder=self.notes,  # type: ignore[arg-type]
                oracle=self.oracle,
            )
        except ValueError as exc:  # too few events, or none with something to learn from
            return None, str(exc)
        assert result.version is not None  # train(save=True) registers it
        Registry.of(self.ws).promote(result.version.name)
        self.version = result.version.name
        return self.version, None

    def _serve(
        self,
        engine: Recommender,
        requests: Requests,
        period: int,
        seen: dict[str, frozenset[str]],
    ) -> None:
        """Serve `requests` (sorted by time) on `engine` and simulate behaviour on the slates."""
        n = len(requests)
        if n == 0:
            return
        first = self.next_request
        ids = [self.portal.request_id(j) for j in range(first, first + n)]
        k = self.config.impressions_per_request
        slates = self.portal.serve(
            engine, requests, ids, k=k, exploration=self.exploration, seen=seen
        )
        w = self.world
        self.behaviour.add(
            respond(
                self.rng_behaviour,
                self.config,
                w.a,
                w.p,
                w.d,
                w.truth,
                requests,
                slates.shown,
                first,
                self.pending,
                slates.propensity,
                slates.propensity_shown,
            )
        )
        self.next_request += n
        self.request_log.append(
            pd.DataFrame(
                {
                    "request_id": ids,
                    "deal": requests.deal,
                    "deal_id": w.deal_ids[requests.deal],
                    "partner_id": w.p.ids[w.d.partner[requests.deal]],
                    "stage": requests.stage,
                    "t": requests.t,
                    "period": period,
                }
            )
        )

    def _organic(self, lo: float, hi: float) -> None:
        """The period's organic opens, inside the visits going on in it (pre-sale visits and
        the post-sale visits of deals won so far)."""
        w = self.world
        post = self.won[self.post_visits["deal"]]
        visits = {
            key: np.concatenate([w.sim.visits[key], self.post_visits[key][post]])
            for key in ("deal", "stage", "t0", "t1")
        }
        t0, t1 = np.maximum(visits["t0"], lo), np.minimum(visits["t1"], hi)
        inside = t1 > t0
        clipped = {key: value[inside] for key, value in visits.items()}
        clipped["t0"], clipped["t1"] = t0[inside], t1[inside]
        n = round(w.n_organic * (hi - lo) / w.days)
        organic(self.rng_organic, n, w.a, w.p, w.d, w.truth, clipped, self.pending)

    def _journal(self, before: float) -> int:
        """Journal the pending events dated before `before` (days); return how many."""
        w = self.world
        ev = self.pending.pop_before(before)
        frame = events_frame(
            ev, w.a, w.p, w.deal_ids, w.start, self.config.seed, first_event=self.next_event
        )
        if len(frame):
            with EventJournal(self.ws.events_path) as journal:
                journal.append(
                    frame,
                    known_assets=set(w.a.ids.tolist()),
                    known_partners=set(w.p.ids.tolist()),
                    all_or_nothing=True,
                    source="closed loop",
                )
        self.next_event += len(frame)
        self.frames.append(frame)
        engaged = frame[frame["type"].isin(ENGAGEMENT_TYPES) & frame["asset_id"].notna()]
        for pid, aid in zip(engaged["partner_id"], engaged["asset_id"], strict=True):
            self.seen.setdefault(str(pid), set()).add(str(aid))
        return len(frame)

    def _write_deals(self, until: float) -> None:
        """The deals table as a CRM holds it at `until`: deals created before, at the stage
        they had reached (post-sale once won)."""
        self.world.deals_frame(self.stages_at(until), created_before=until).to_parquet(
            self.ws.deals_path, index=False
        )

    def stages_at(self, until: float) -> np.ndarray:
        """Each deal's stage at `until` (days): the last stage visit begun before it."""
        sim = self.world.sim
        stage = np.array([STAGES.index(s) for s in sim.frame["stage"]], dtype=np.int64)
        started = sim.visits["t0"] < until
        np.maximum.at(stage, sim.visits["deal"][started], sim.visits["stage"][started])
        post = self.post_visits["deal"][self.post_visits["t0"] < until]
        stage[post[self.won[post]]] = POST_SALE
        return stage

    def result(self, periods: list[Period], seconds: float) -> LoopResult:
        w = self.world
        events = pd.concat(self.frames, ignore_index=True) if self.frames else None
        data = GeneratedData(
            assets=w.assets,
            partners=w.partners,
            deals=w.deals_frame(self.stages_at(np.inf)),
            events=events if events is not None else pd.DataFrame(),
            config=self.config,
        )
        requests = pd.concat(self.request_log, ignore_index=True) if self.request_log else None
        return LoopResult(
            data=data,
            world=w,
            periods=periods,
            requests=requests if requests is not None else pd.DataFrame(),
            exploration=self.exploration,
            seconds=seconds,
        )


def closed_loop(
    workspace: Workspace,
    config: GeneratorConfig,
    *,
    world: World | None = None,
    embedder: Embedder | None = None,
    train_config: TrainConfig | None = None,
    keep_snapshots: bool = False,
    evaluate_every_period: bool = False,
    report: Callable[[str], None] | None = None,
) -> LoopResult:
    """Generate the usage log of `config`'s world by serving it from the engine, in
    `config.rounds` periods with a retraining and promotion after each (module docstring).

    `workspace` must hold the world's catalog (ingested and indexed), its partners and a
    playbook, and no events yet; the loop writes its journal, its deals table and one model
    version per period (the last one promoted). `world` is `World.build(config)` when not
    given (pass it to serve another catalog than the config's). `keep_snapshots` keeps each
    period's snapshot in its `Period` (to replay requests). `evaluate_every_period` evaluates
    each period's model, not only the last one (the models are the same either way; see the
    module docstring). `report` receives one line per period. Raises `PortalError` for a
    request the engine cannot serve.
    """
    started = time.perf_counter()
    world = world or World.build(config)
    if world.config != config:
        raise ValueError("world was built from another config than the one given")
    if not workspace.has_catalog():
        raise ValueError(f"{workspace.root} has no catalog; ingest the world's assets first")
    if workspace.events_path.exists():
        with EventJournal(workspace.events_path) as journal:
            if journal.count():
                raise ValueError(
                    f"{workspace.events_path} already holds events; the closed loop starts "
                    "from an empty journal"
                )
    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    train_config = train_config or TrainConfig(progress=False)
    say = report or (lambda _line: None)
    loop = _Loop(workspace, world, embedder, train_config, keep_snapshots, evaluate_every_period)
    bounds = period_bounds(config)
    periods = []
    try:
        for r in range(config.rounds):
            period = loop.period(r, bounds[r], bounds[r + 1], last=r == config.rounds - 1)
            periods.append(period)
            say(_period_line(period, config.rounds))
    finally:
        loop.notes.close()
    return loop.result(periods, time.perf_counter() - started)


def _period_line(period: Period, rounds: int) -> str:
    s = period.seconds
    trained = (
        f"trained {period.trained}"
        if period.trained
        else f"no model trained ({period.not_trained})"
    )
    return (
        f"period {period.index + 1}/{rounds} (days {period.start:.0f}-{period.end:.0f}): "
        f"{period.requests} requests served by {period.served_by or 'the playbook'}, "
        f"{period.events} events; {trained} "
        f"(snapshot {s['snapshot']:.1f} s, serve {s['serve']:.1f} s, "
        f"journal {s['journal']:.1f} s, train {s['train']:.1f} s)"
    )


def _quantized(requests: Requests) -> Requests:
    return Requests(requests.deal, requests.stage, quantize(requests.t))


def _merged(a: Requests, b: Requests) -> Requests:
    """Two sets of requests as one, sorted by time (ties by deal)."""
    deal = np.concatenate([a.deal, b.deal])
    stage = np.concatenate([a.stage, b.stage])
    t = np.concatenate([a.t, b.t])
    order = np.lexsort((deal, t))
    return Requests(deal[order], stage[order], t[order])
