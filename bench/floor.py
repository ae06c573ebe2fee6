"""The framework's floor: POST /v1/recommendations on the service's own stack, doing nothing.

    RECO_FLOOR_ANSWER=answer.json .venv/bin/python -m bench.floor --port 8099 --workers 2

The same request schema (`RecommendationRequest`, validated by FastAPI and pydantic as the
service validates it), the same API-key header, the same uvicorn HTTP protocol
(httptools with TCP_NODELAY), workers (one SO_REUSEPORT socket each) and event loop as
`recommender serve`, and the same response encoding (orjson, X-Model-Version): but no
middleware, no key lookup, no ranking and no journal. It answers every valid request with a
canned 10-item answer (RECO_FLOOR_ANSWER: a JSON file holding one real answer of the service,
as bench_http records it; otherwise a built-in one of the same shape) under a fresh request id.
It imports the service's schema and HTTP runtime, the one bench script that does: it is that
stack's floor.
What the service adds to a request is its figure minus this one's, measured in the same run
(bench/bench_http.py reports both side by side).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import Response

from service.schemas.recommendations import RecommendationRequest

ANSWER_ENV = "RECO_FLOOR_ANSWER"


def canned_answer(items: int = 10) -> dict[str, Any]:
    """An answer of the service's shape: `items` assets with a score and three reasons."""
    return {
        "request_id": "",
        "model_version": "floor",
        "items": [
            {
                "asset_id": f"A{i:04d}",
                "title": f"Case study {i}: payback of warehouse automation in 14 months",
                "type": "case_study",
                "language": "uk",
                "url": f"https://content.example.com/assets/A{i:04d}.pdf",
                "score": round(0.9 - i * 0.03, 6),
                "reasons": [
                    {"code": "stage", "text": "fits the negotiation stage"},
                    {"code": "industry", "text": "about manufacturing"},
                    {"code": "notes", "text": "matches the deal notes: ROI, payback"},
                ],
                "tracked_url": None,
            }
            for i in range(items)
        ],
    }


def create_app() -> FastAPI:
    """The floor app; its answer comes from the file named by RECO_FLOOR_ANSWER, if set."""
    path = os.environ.get(ANSWER_ENV)
    answer = json.loads(Path(path).read_text()) if path else canned_answer()
    version = str(answer.get("model_version", "floor"))
    app = FastAPI(title="floor", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/v1/recommendations")
    async def post_recommendations(
        body: RecommendationRequest,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Response:
        if not x_api_key:
            raise HTTPException(status_code=401, detail="missing X-API-Key")
        payload = {**answer, "request_id": uuid.uuid4().hex}
        return Response(
            orjson.dumps(payload),
            media_type="application/json",
            headers={"X-Model-Version": version},
        )

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    from service.runtime.http_protocol import PROTOCOL
    from service.runtime.workers import reuse_port_supported, serve_workers

    config: dict[str, Any] = {
        "app": "bench.floor:create_app",
        "factory": True,
        "http": PROTOCOL,
        "log_level": "warning",
        "access_log": False,
    }
    if args.workers > 1 and reuse_port_supported():
        return serve_workers(config, host=args.host, port=args.port, workers=args.workers)
    import uvicorn

    uvicorn.run(**config, host=args.host, port=args.port, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
