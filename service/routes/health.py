"""Liveness, readiness and Prometheus metrics (no API key: for the orchestrator and scraper)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from recommender import JournalUsageProvider, PostgresJournal, StoreUnavailable
from service.routes import ApiRoute
from service.schemas.health import DatabaseStatus, Health, Readiness, RebuildError, UsageStatus

router = APIRouter(route_class=ApiRoute, tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="A snapshot is loaded and requests can be served",
    responses={503: {"description": "not ready (starting or stopping)"}},
)
async def readyz(request: Request) -> Response:
    state = getattr(request.app.state, "service", None)
    if state is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    snapshot = state.recommender.snapshot
    warnings = [*state.warnings, *state.experiment_warnings]
    failed = None
    if state.rebuild_error is not None:
        reason, at = state.rebuild_error
        failed = RebuildError(
            reason=reason, failed_at=datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
        )
        warnings.append(
            f"the workspace changed but its snapshot cannot be built ({reason}); still serving "
            f"the previous one"
        )
    usage = None
    provider = snapshot.usage
    if isinstance(provider, JournalUsageProvider):
        usage = UsageStatus(
            events=provider.n_events,
            as_of=_iso_micros(provider.as_of_us - 1) if provider.n_events else None,
            refreshed_at=_iso(state.usage_refreshed_at),
            error=state.usage_error[0] if state.usage_error else None,
        )
        if state.usage_error is not None:
            warnings.append(
                f"the usage features cannot be refreshed ({state.usage_error[0]}); still "
                "serving the previous ones"
            )
    database = None
    if isinstance(state.journal, PostgresJournal):
        try:
            await run_in_threadpool(state.journal.ping)
            database = DatabaseStatus(backend="postgresql", url=state.journal.url, reachable=True)
        except StoreUnavailable as exc:
            database = DatabaseStatus(
                backend="postgresql", url=state.journal.url, reachable=False, error=str(exc)
            )
            warnings.append(
                "the shared database cannot be reached: recommendations keep serving; events, "
                "overrides and keys not seen recently get 503 until it is back"
            )
    body = Readiness(
        status="ready",
        model_version=snapshot.model_version,
        assets=len(snapshot.catalog),
        partners=len(snapshot.partners),
        snapshot_age_seconds=round(time.time() - snapshot.created_at, 3),
        warnings=warnings,
        rebuild_error=failed,
        usage=usage,
        database=database,
    )
    return JSONResponse(body.model_dump())


def _iso(unix: float | None) -> str | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")


def _iso_micros(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, UTC).isoformat(timespec="seconds")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    state = getattr(request.app.state, "service", None)
    if state is not None:
        registry.query_cache.labels(outcome="hit").set(state.query_cache.hits)
        registry.query_cache.labels(outcome="miss").set(state.query_cache.misses)
    return Response(registry.render(), media_type=registry.content_type)
