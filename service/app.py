"""Builds the FastAPI app: `create_app(settings)`; uvicorn runs it as a factory.

    uvicorn --factory service.app:create_app      # what `recommender serve` starts

Importing this module is cheap: the snapshot (catalog, index, model), the embedder, the event
journal and the stores are opened in the lifespan, once per worker, and closed (impressions
flushed) on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from service import console
from service.config import Settings, get_settings
from service.errors import install_error_handlers
from service.logs import configure_logging
from service.metrics import ServiceMetrics
from service.middleware import RequestMiddleware
from service.routes import (
    assets,
    audit,
    events,
    experiments,
    health,
    links,
    models,
    overrides,
    partners,
    recommendations,
)
from service.runtime.process import freeze_heap
from service.state import ServiceState

log = logging.getLogger("service")

# Every router of the app; the console adds its own here (one line).
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    recommendations.router,
    events.router,
    assets.router,
    partners.router,
    experiments.router,
    models.router,
    overrides.router,
    audit.router,
    links.router,  # /r/{token}: tracked links from digests and recommendations
    console.router,  # the channel manager console under /console (serves its own static files)
)

DESCRIPTION = """
Recommends enablement assets (white papers, case studies, calculators, battlecards...) for a
partner's deal, records what partners did with them, and lets channel managers and admins steer
the catalog, partners, overrides and models.

Every `/v1` call needs an API key (`X-API-Key: reco_...` or `Authorization: Bearer reco_...`)
of a sufficient scope: **portal** (recommendations, events, reading assets and partners) <
**manager** (overrides, partner search, models list) < **admin** (catalog, partners, models,
audit). Errors are JSON: 401 no valid key, 403 scope too low, 404 unknown id, 413 body too
large, 422 invalid field (with the allowed values), 429 rate limited (Retry-After).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app for `settings` (default: from `RECO_*` environment variables)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServiceState.open(settings, metrics)
        if settings.freeze_gc:
            freeze_heap()
        app.state.service = state
        log.info("ready", extra={"model_version": state.recommender.snapshot.model_version})
        try:
            yield
        finally:
            app.state.service = None
            state.close()
            log.info("stopped")

    app = FastAPI(
        title="Enablement recommender",
        version="0.1.0",
        summary="Content recommendations for sales and partner enablement",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.service = None
    install_error_handlers(app)
    console.install(app)  # the console's sign-in redirects and error pages
    app.add_middleware(RequestMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    return app
