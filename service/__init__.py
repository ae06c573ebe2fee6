"""The HTTP edge: FastAPI app, routers, auth, metrics and the channel manager console.

    recommender serve [--host 127.0.0.1] [--port 8000] [--workers N]   # or: make serve

`service.app.create_app(settings)` builds the app; the lifespan loads one immutable snapshot
per worker (`service.state`). Endpoints (OpenAPI at /docs), by the API key scope they need:

- portal:  POST /v1/recommendations, POST /v1/events, GET /v1/assets[/{id}],
           GET /v1/partners/{id}
- manager: GET/POST/DELETE /v1/overrides, GET /v1/partners?q=, GET /v1/models
- admin:   PUT/DELETE /v1/assets/{id}, PUT /v1/partners/{id},
           POST /v1/models/{version}/promote, POST /v1/models/rollback, GET /v1/audit
- none:    GET /healthz, /readyz, /metrics, /docs

Where things live: `routes/` (one router per resource: validate, call, shape), `operations/`
(what the service does, as plain functions the routes and the console both call: recommend,
overrides, models, audit), `console/` (one module per page, locale files, templates),
`runtime/` (workers, HTTP protocol, process tuning), `schemas/` (the request and response
models), `state.py` (the worker's snapshot and stores).

Settings are `RECO_*` environment variables (`service.config.Settings`). Imports the engine's
public API only; the engine never imports this package.
"""
