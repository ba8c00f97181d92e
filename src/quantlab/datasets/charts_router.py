"""HTTP routes of chart data, chart configurations and annotations."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import PlainTextResponse, Response

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.datasets import chart_items, charts, service
from quantlab.datasets.chart_items import AnnotationIn, ChartConfigIn
from quantlab.datasets.schemas import AnnotationOut, ChartConfigOut, OhlcvOut
from quantlab.onboarding import service as onboarding_service
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Deleted,
    Envelope,
    IsoDate,
    Page,
    Pagination,
    file_responses,
    ok,
    page,
)
from quantlab.platform.errors import ValidationFailed

router = APIRouter(prefix="/api/charts", tags=["charts"], responses=ERROR_RESPONSES)

_PERIOD = r"(?:[1-9][0-9]?|[1-4][0-9][0-9]|500)"  # 1 … 500
MaQuery = Annotated[
    str,
    Query(
        max_length=100,
        pattern=rf"^({_PERIOD}(,{_PERIOD}){{0,7}})?$",
        description="up to 8 moving-average periods, 1-500, comma-separated",
    ),
]
_PANE = "(?:MACD|RSI|KDJ|BOLL|VOL|macd|rsi|kdj|boll|vol)"
PANES = rf"^({_PANE}(,{_PANE}){{0,2}})?$"


def _periods(raw: str) -> list[int]:
    try:
        values = [int(p) for p in raw.split(",") if p.strip()]
    except ValueError:
        raise ValidationFailed("ma must be comma-separated integers, e.g. 5,10,20,60") from None
    if len(values) > 8 or any(not 1 <= p <= 500 for p in values):
        raise ValidationFailed("ma takes at most 8 periods, each between 1 and 500")
    return values


def _panes(raw: str | None) -> list[str]:
    names = [p.strip().upper() for p in (raw or "").split(",") if p.strip()]
    if len(names) > 3:
        raise ValidationFailed("at most 3 indicator panes")
    return names


async def _version_path(
    session: Any, user: Any, dataset_id: str, version: int | None, request: Request
) -> Any:
    dataset = await service.get_dataset(session, user, dataset_id)
    row = await service.get_version(session, dataset, version)
    return request.app.state.settings.data_dir / row.path


@router.get(
    "/ohlcv",
    summary="Candles, volume, MA overlays and indicator panes",
    response_model=Envelope[OhlcvOut],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def ohlcv(
    user: CurrentUser,
    session: DbSession,
    request: Request,
    dataset_id: Annotated[str, Query(min_length=1, max_length=32)],
    symbol: Annotated[str, Query(min_length=1, max_length=40)],
    start: IsoDate | None = None,
    end: IsoDate | None = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    ma: MaQuery = "5,10,20,60",
    indicators: Annotated[
        str | None,
        Query(max_length=100, pattern=PANES, description="up to 3 of MACD,RSI,KDJ,BOLL,VOL"),
    ] = None,
    max_points: Annotated[int, Query(ge=10, le=10_000)] = 1000,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|csv)$")] = "json",
) -> Any:
    path = await _version_path(session, user, dataset_id, version, request)
    data = await asyncio.to_thread(
        charts.ohlcv,
        path,
        symbol,
        start=start,
        end=end,
        ma=_periods(ma),
        indicators=_panes(indicators),
        max_points=max_points,
    )
    if fmt == "csv":
        return PlainTextResponse(
            charts.to_csv(data),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{symbol}.csv"'},
        )
    return ok(data)


@router.get(
    "/ohlcv.png",
    summary="A candlestick chart as PNG",
    response_class=Response,
    responses=file_responses("the chart", "image/png"),
)
async def ohlcv_png(
    user: CurrentUser,
    session: DbSession,
    request: Request,
    dataset_id: Annotated[str, Query(min_length=1, max_length=32)],
    symbol: Annotated[str, Query(min_length=1, max_length=40)],
    start: IsoDate | None = None,
    end: IsoDate | None = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    ma: MaQuery = "5,10,20",
    width: Annotated[int, Query(ge=200, le=4000)] = 1200,
    height: Annotated[int, Query(ge=150, le=3000)] = 700,
) -> Response:
    path = await _version_path(session, user, dataset_id, version, request)
    prefs = await onboarding_service.get_preferences(
        request.app.state.db.sessionmaker, request.app.state.cache, user.id
    )
    png = await asyncio.to_thread(
        charts.render_png,
        path,
        symbol,
        start,
        end,
        _periods(ma),
        width,
        height,
        prefs.get("candle_colors", "auto"),
    )
    return Response(png, media_type="image/png")


@router.post(
    "/configs",
    status_code=status.HTTP_201_CREATED,
    summary="Save a chart configuration",
    response_model=Envelope[ChartConfigOut],
)
async def create_config(body: ChartConfigIn, user: WriteUser, session: DbSession) -> Any:
    return ok(chart_items.config_out(await chart_items.create_config(session, user, body)))


@router.get("/configs", summary="Your chart configurations", response_model=Page[ChartConfigOut])
async def list_configs(user: CurrentUser, session: DbSession, params: Pagination) -> Any:
    rows, total = await chart_items.list_configs(session, user, params)
    return page([chart_items.config_out(r) for r in rows], total, params)


@router.get(
    "/configs/{item_id}", summary="A chart configuration", response_model=Envelope[ChartConfigOut]
)
async def get_config(item_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(chart_items.config_out(await chart_items.get_config(session, user, item_id)))


@router.put(
    "/configs/{item_id}",
    summary="Replace a chart configuration",
    response_model=Envelope[ChartConfigOut],
)
async def update_config(
    item_id: str, body: ChartConfigIn, user: WriteUser, session: DbSession
) -> Any:
    return ok(chart_items.config_out(await chart_items.update_config(session, user, item_id, body)))


@router.delete(
    "/configs/{item_id}", summary="Delete a chart configuration", response_model=Envelope[Deleted]
)
async def delete_config(item_id: str, user: WriteUser, session: DbSession) -> Any:
    await chart_items.delete_item(
        session, await chart_items.get_config(session, user, item_id, write=True)
    )
    return ok({"id": item_id, "deleted": True})


@router.post(
    "/annotations",
    status_code=status.HTTP_201_CREATED,
    summary="Add an annotation",
    response_model=Envelope[AnnotationOut],
)
async def create_annotation(body: AnnotationIn, user: WriteUser, session: DbSession) -> Any:
    return ok(chart_items.annotation_out(await chart_items.create_annotation(session, user, body)))


@router.get("/annotations", summary="Your annotations", response_model=Page[AnnotationOut])
async def list_annotations(
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    dataset_id: Annotated[str | None, Query(max_length=32)] = None,
    symbol: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    rows, total = await chart_items.list_annotations(session, user, params, dataset_id, symbol)
    return page([chart_items.annotation_out(r) for r in rows], total, params)


@router.get(
    "/annotations/{item_id}", summary="An annotation", response_model=Envelope[AnnotationOut]
)
async def get_annotation(item_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(chart_items.annotation_out(await chart_items.get_annotation(session, user, item_id)))


@router.put(
    "/annotations/{item_id}",
    summary="Replace an annotation",
    response_model=Envelope[AnnotationOut],
)
async def update_annotation(
    item_id: str, body: AnnotationIn, user: WriteUser, session: DbSession
) -> Any:
    return ok(
        chart_items.annotation_out(
            await chart_items.update_annotation(session, user, item_id, body)
        )
    )


@router.delete(
    "/annotations/{item_id}", summary="Delete an annotation", response_model=Envelope[Deleted]
)
async def delete_annotation(item_id: str, user: WriteUser, session: DbSession) -> Any:
    await chart_items.delete_item(
        session, await chart_items.get_annotation(session, user, item_id, write=True)
    )
    return ok({"id": item_id, "deleted": True})
