"""The catalog: list and read (portal), create/replace and delete (admin) without a restart."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from fastapi.responses import JSONResponse

from features.schema import ID_PATTERN, AssetStatus, AssetType, Language, Stage
from features.validation import SchemaError
from recommender import Snapshot, delete_assets, upsert_assets
from service.deps import AdminKeyDep, PortalKeyDep, SnapshotDep, StateDep
from service.errors import schema_error_details
from service.operations.audit import actor
from service.operations.errors import Conflict
from service.routes import ApiRoute
from service.schemas.assets import AssetPublic, AssetsPublic, AssetUpsert, asset_public
from service.schemas.common import API_RESPONSES, ErrorPublic, Slug

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/assets", tags=["assets"], responses=API_RESPONSES
)

AssetId = Annotated[str, Path(pattern=ID_PATTERN, description="the asset's id")]


def _lookup(snapshot: Snapshot, asset_id: str) -> AssetPublic:
    try:
        return asset_public(snapshot.catalog.asset(asset_id))
    except KeyError:
        raise HTTPException(status_code=404, detail=f"asset {asset_id!r} not found") from None


@router.get("", response_model=AssetsPublic, summary="List assets, filtered and paged")
def list_assets(
    snapshot: SnapshotDep,
    key: PortalKeyDep,
    type: Annotated[list[AssetType] | None, Query(max_length=len(AssetType))] = None,
    language: Language | None = None,
    stage: Stage | None = None,
    industry: Slug | None = None,
    product: Slug | None = None,
    status_: Annotated[AssetStatus | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(max_length=200, description="words in the title")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AssetsPublic:
    """Assets in catalog order; every filter given must match (`type` may repeat)."""
    assets = snapshot.catalog.assets
    keep = pd.Series(True, index=assets.index)
    if type:
        keep &= assets["type"].isin([t.value for t in type])
    if language is not None:
        keep &= assets["language"] == language.value
    if status_ is not None:
        published = assets["status"].fillna(AssetStatus.PUBLISHED.value)
        keep &= published == status_.value
    for column, wanted in (
        ("stages", stage.value if stage else None),
        ("industries", industry),
        ("products", product),
    ):
        if wanted is not None:
            keep &= assets[column].map(lambda items, w=wanted: w in items)
    if q:
        words = q.lower().split()
        titles = assets["title"].str.lower()
        for word in words:
            keep &= titles.str.contains(word, regex=False)
    matched = assets[keep.to_numpy()]
    page = matched.iloc[offset : offset + limit]
    return AssetsPublic(
        data=[asset_public(row) for row in page.to_dict("records")],
        count=len(matched),
        offset=offset,
        limit=limit,
    )


@router.get(
    "/{asset_id}",
    response_model=AssetPublic,
    summary="Read one asset",
    responses={404: {"model": ErrorPublic, "description": "no such asset"}},
)
def get_asset(asset_id: AssetId, snapshot: SnapshotDep, key: PortalKeyDep) -> AssetPublic:
    return _lookup(snapshot, asset_id)


@router.put(
    "/{asset_id}",
    response_model=AssetPublic,
    summary="Create or replace an asset (admin)",
    responses={
        201: {"description": "created", "model": AssetPublic},
        409: {"model": ErrorPublic, "description": "the body's asset_id names another asset"},
    },
)
def put_asset(
    asset_id: AssetId, body: AssetUpsert, state: StateDep, key: AdminKeyDep
) -> JSONResponse:
    """Validate, embed only what changed, update catalog and index, and swap in a snapshot
    that serves the new asset; 201 when it is new, 200 when it replaced one."""
    if body.asset_id is not None and body.asset_id != asset_id:
        raise Conflict(
            f"the body's asset_id {body.asset_id!r} differs from the path's {asset_id!r}"
        )
    record = body.model_dump(mode="json", exclude={"asset_id"})
    record["asset_id"] = asset_id
    existed = asset_id in state.snapshot.catalog.positions

    def write() -> None:
        upsert_assets(
            state.workspace, pd.DataFrame([record]), embedder=state.embedder, source="request"
        )
        state.overrides.audit(
            actor(key), "asset.put", asset_id, {"title": body.title, "new": not existed}
        )

    try:
        state.change("asset-put", write)
    except SchemaError as exc:
        raise HTTPException(status_code=422, detail=schema_error_details(exc)) from None
    public = _lookup(state.recommender.snapshot, asset_id)
    return JSONResponse(
        public.model_dump(mode="json"),
        status_code=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
    )


@router.delete(
    "/{asset_id}",
    status_code=204,
    summary="Delete an asset (admin)",
    responses={
        404: {"model": ErrorPublic, "description": "no such asset"},
        409: {"model": ErrorPublic, "description": "it is the last asset of the catalog"},
    },
)
def delete_asset(asset_id: AssetId, state: StateDep, key: AdminKeyDep) -> Response:
    """Remove the asset from catalog and index, and swap in a snapshot without it."""

    def remove() -> int:
        removed = delete_assets(state.workspace, [asset_id])
        if removed:
            state.overrides.audit(actor(key), "asset.delete", asset_id, {})
        return removed

    with state.reload_lock:
        if asset_id not in state.recommender.snapshot.catalog.positions:
            raise HTTPException(status_code=404, detail=f"asset {asset_id!r} not found")
        if len(state.recommender.snapshot.catalog) == 1:
            raise HTTPException(
                status_code=409, detail="the last asset of the catalog cannot be deleted"
            )
        try:
            state.change("asset-delete", remove)
        except (OSError, ValueError, RuntimeError) as exc:
            raise HTTPException(
                status_code=409,
                detail=f"the catalog on disk cannot be changed, so nothing was deleted: {exc}",
            ) from None
    return Response(status_code=204)
