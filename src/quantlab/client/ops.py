"""Every client operation, written once as a flow of calls (see :mod:`quantlab.client.calls`).

The sync :class:`~quantlab.client.Client` and the :class:`~quantlab.client.AsyncClient` expose
these under the same names. Response parsing lives here and only here, so a change of an API
shape is a change in one place.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from quantlab.client import endpoints as ep
from quantlab.client.calls import Answer, Call, Flow
from quantlab.client.models import (
    Backtest,
    Dataset,
    FactorEvaluation,
    Job,
    JobLog,
    Submitted,
    from_api,
    submitted,
)

PAGE_SIZE = 200  # the API's largest page
PREVIEW_PAGE_SIZE = 1000
VALUES_PAGE_SIZE = 10_000

SUFFIX_TYPES = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".txt": "text/plain",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".zip": "application/zip",
}


def paginate(
    endpoint: ep.Endpoint,
    path_params: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    *,
    limit: int | None = None,
    page_size: int = PAGE_SIZE,
) -> Flow[list[Any]]:
    """Every item of a paged list (or the first ``limit``), fetching page after page."""
    items: list[Any] = []
    page = 1
    size = min(page_size, limit) if limit else page_size
    while True:
        got: Answer = yield Call(
            endpoint, path_params or {}, params={**(params or {}), "page": page, "size": size}
        )
        batch = got.data or []
        items.extend(batch)
        total = got.meta.get("total")
        if limit is not None and len(items) >= limit:
            return items[:limit]
        if len(batch) < size or (total is not None and len(items) >= total):
            return items
        page += 1


# --- account ---------------------------------------------------------------------------


def me() -> Flow[dict[str, Any]]:
    """The signed-in user."""
    return (yield Call(ep.ME)).data  # type: ignore[no-any-return]


def create_token(
    name: str, read_only: bool = False, expires_at: str | None = None
) -> Flow[dict[str, Any]]:
    """Create a personal access token; the secret is in ``token`` of the answer, shown once."""
    body = {"name": name, "read_only": read_only, "expires_at": expires_at}
    return (yield Call(ep.CREATE_TOKEN, json=body)).data  # type: ignore[no-any-return]


# --- datasets --------------------------------------------------------------------------


def list_datasets(
    q: str | None = None, source: str | None = None, limit: int | None = None
) -> Flow[list[Dataset]]:
    """Datasets you can read (every page, or the first ``limit``)."""
    rows = yield from paginate(ep.DATASETS, params={"q": q, "source": source}, limit=limit)
    return [from_api(Dataset, r) for r in rows]


def get_dataset(dataset_id: str) -> Flow[Dataset]:
    """One dataset."""
    got = yield Call(ep.DATASET, {"dataset_id": dataset_id})
    return from_api(Dataset, got.data)


def preview(
    dataset_id: str,
    symbols: Iterable[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    version: int | None = None,
    limit: int | None = 1000,
) -> Flow[Any]:
    """Stored rows as a DataFrame indexed by (date, symbol); ``limit=None`` reads them all."""
    from quantlab.client import frames

    params = {
        "symbols": ",".join(symbols) if symbols else None,
        "start": start,
        "end": end,
        "version": version,
    }
    rows = yield from paginate(
        ep.DATASET_PREVIEW,
        {"dataset_id": dataset_id},
        params,
        limit=limit,
        page_size=PREVIEW_PAGE_SIZE,
    )
    return frames.rows_frame(rows, ("date", "symbol"))


def ohlcv(
    dataset_id: str,
    symbol: str,
    start: str | None = None,
    end: str | None = None,
    version: int | None = None,
    ma: Iterable[int] = (),
    indicators: Iterable[str] = (),
    max_points: int = 10_000,
) -> Flow[Any]:
    """Daily bars of one symbol as a DataFrame indexed by date (``MA<n>`` and pane columns)."""
    from quantlab.client import frames

    params = {
        "dataset_id": dataset_id,
        "symbol": symbol,
        "start": start,
        "end": end,
        "version": version,
        "ma": ",".join(str(n) for n in ma),
        "indicators": ",".join(indicators) or None,
        "max_points": max_points,
    }
    got = yield Call(ep.OHLCV, params=params)
    return frames.ohlcv_frame(got.data)


def export_dataset(
    dataset_id: str, path: str | os.PathLike[str], format: str = "csv", version: int | None = None
) -> Flow[Path]:
    """Save a dataset export (``csv`` zip, ``parquet`` or ``qlib`` zip) to ``path``."""
    got = yield Call(
        ep.DATASET_EXPORT,
        {"dataset_id": dataset_id},
        params={"format": format, "version": version},
        save_to=Path(path),
    )
    return got.data  # type: ignore[no-any-return]


def import_files(
    paths: Iterable[str | os.PathLike[str]],
    dataset_name: str | None = None,
    dataset_id: str | None = None,
    options: dict[str, Any] | None = None,
) -> Flow[Submitted]:
    """Upload local files (CSV/TSV, Excel, Parquet, zipped Qlib folder) as one import job."""
    files: list[tuple[str, str, bytes | Path, str]] = []
    for raw in paths:
        path = Path(raw)
        content_type = SUFFIX_TYPES.get(path.suffix.lower(), "application/octet-stream")
        files.append(("files", path.name, path, content_type))
    got = yield from _import(files, dataset_name, dataset_id, options)
    return got


def import_frame(
    frame: Any,
    dataset_name: str | None = None,
    dataset_id: str | None = None,
    options: dict[str, Any] | None = None,
    filename: str = "frame.parquet",
) -> Flow[Submitted]:
    """Upload a DataFrame (sent as Parquet; a named index becomes columns) as an import job."""
    import io

    buffer = io.BytesIO()
    has_named_index = any(name is not None for name in frame.index.names)
    (frame.reset_index() if has_named_index else frame).to_parquet(buffer, index=False)
    files: list[tuple[str, str, bytes | Path, str]] = [
        ("files", filename, buffer.getvalue(), SUFFIX_TYPES[".parquet"])
    ]
    got = yield from _import(files, dataset_name, dataset_id, options)
    return got


def _import(
    files: list[tuple[str, str, bytes | Path, str]],
    dataset_name: str | None,
    dataset_id: str | None,
    options: dict[str, Any] | None,
) -> Flow[Submitted]:
    form = {"dataset_name": dataset_name, "dataset_id": dataset_id}
    data = {k: v for k, v in form.items() if v is not None}
    if options:
        data["options"] = json.dumps(options)
    got = yield Call(ep.IMPORT, data=data, files=files)
    return submitted("import", got.data)


def get_import(import_id: str) -> Flow[dict[str, Any]]:
    """An import with its status, dataset id and validation report."""
    return (yield Call(ep.IMPORT_STATUS, {"import_id": import_id})).data  # type: ignore[no-any-return]


# --- factors ---------------------------------------------------------------------------


def factor_values(
    dataset_id: str,
    expression: str | None = None,
    factor_id: str | None = None,
    indicator: str | None = None,
    params: dict[str, Any] | None = None,
    symbols: Iterable[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    version: int | None = None,
) -> Flow[Any]:
    """Values of an expression, saved factor or indicator, indexed by (date, instrument).

    A Series for a single output (expressions, factors), a DataFrame for several.
    """
    from quantlab.client import frames

    body: dict[str, Any] = {
        "dataset_id": dataset_id,
        "expression": expression,
        "factor_id": factor_id,
        "indicator": indicator,
        "params": params,
        "symbols": list(symbols) if symbols else None,
        "start": start,
        "end": end,
        "version": version,
    }
    body = {k: v for k, v in body.items() if v is not None}
    rows: list[dict[str, Any]] = []
    outputs: list[str] = ["value"]
    while True:
        got = yield Call(ep.COMPUTE, json={**body, "limit": VALUES_PAGE_SIZE, "offset": len(rows)})
        outputs = list(got.data.get("outputs") or outputs)
        batch = got.data.get("rows") or []
        rows.extend(batch)
        if not batch or len(rows) >= int(got.data.get("total_rows", len(rows))):
            return frames.values_frame(rows, outputs)


def evaluate_factor(
    dataset_id: str,
    expression: str | None = None,
    factor_id: str | None = None,
    feature_set: str | None = None,
    horizons: Iterable[int] | None = None,
    quantiles: int | None = None,
    symbols: Iterable[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    version: int | None = None,
) -> Flow[Submitted]:
    """Start a factor evaluation (IC, Rank IC, quantile returns ...) as a job."""
    body: dict[str, Any] = {
        "dataset_id": dataset_id,
        "expression": expression,
        "factor_id": factor_id,
        "feature_set": feature_set,
        "horizons": list(horizons) if horizons else None,
        "quantiles": quantiles,
        "symbols": list(symbols) if symbols else None,
        "start": start,
        "end": end,
        "version": version,
    }
    got = yield Call(ep.EVALUATE, json={k: v for k, v in body.items() if v is not None})
    return submitted("evaluation", got.data)


def get_evaluation(evaluation_id: str) -> Flow[FactorEvaluation]:
    """A factor evaluation with its result (``.ic()``, ``.ic_summary()``)."""
    got = yield Call(ep.EVALUATION, {"evaluation_id": evaluation_id})
    return from_api(FactorEvaluation, got.data)


# --- backtests -------------------------------------------------------------------------


def run_backtest(spec: dict[str, Any] | str | os.PathLike[str]) -> Flow[Submitted]:
    """Start a backtest from a request document (a dict, or the path of a JSON file)."""
    body = spec if isinstance(spec, dict) else json.loads(Path(spec).read_text(encoding="utf-8"))
    got = yield Call(ep.BACKTEST_RUN, json=body)
    return submitted("backtest", got.data)


def list_backtests(
    status: str | None = None, dataset_id: str | None = None, limit: int | None = None
) -> Flow[list[Backtest]]:
    """Your backtests, newest first."""
    rows = yield from paginate(
        ep.BACKTESTS, params={"status": status, "dataset_id": dataset_id}, limit=limit
    )
    return [from_api(Backtest, r) for r in rows]


def get_backtest(backtest_id: str) -> Flow[Backtest]:
    """One backtest with its request, status and metrics."""
    got = yield Call(ep.BACKTEST, {"backtest_id": backtest_id})
    return from_api(Backtest, got.data)


def metrics(backtest_id: str) -> Flow[dict[str, Any]]:
    """A finished backtest's metrics as a dict (name → value)."""
    backtest = yield from get_backtest(backtest_id)
    return dict(backtest.metrics or {})


def equity(backtest_id: str) -> Flow[Any]:
    """Daily equity, cash, NAV and benchmark as a DataFrame indexed by date."""
    from quantlab.client import frames

    got = yield Call(ep.BACKTEST_EQUITY, {"backtest_id": backtest_id})
    return frames.points_frame(got.data)


def drawdown(backtest_id: str) -> Flow[Any]:
    """Daily drawdown (a fraction ≤ 0) as a DataFrame indexed by date."""
    from quantlab.client import frames

    got = yield Call(ep.BACKTEST_DRAWDOWN, {"backtest_id": backtest_id})
    frame = frames.points_frame(got.data)
    frame.attrs["details"] = got.data.get("details")
    return frame


def trades(backtest_id: str, symbol: str | None = None, side: str | None = None) -> Flow[Any]:
    """Every fill as a DataFrame (date, symbol, side, price, quantity, costs, pnl)."""
    from quantlab.client import frames

    rows = yield from paginate(
        ep.BACKTEST_TRADES, {"backtest_id": backtest_id}, {"symbol": symbol, "side": side}
    )
    return frames.rows_frame(rows)


def positions(backtest_id: str, date: str | None = None, group_by: str = "symbol") -> Flow[Any]:
    """Holdings on ``date`` (default the last day) as a DataFrame by symbol or industry."""
    from quantlab.client import frames

    got = yield Call(
        ep.BACKTEST_POSITIONS,
        {"backtest_id": backtest_id},
        params={"date": date, "group_by": group_by},
    )
    return frames.positions_frame(got.data)


def export_backtest(
    backtest_id: str, path: str | os.PathLike[str], format: str = "pdf"
) -> Flow[Path]:
    """Save a report (``pdf``, ``html``, ``xlsx``, ``json`` or a ``csv`` zip) to ``path``."""
    got = yield Call(
        ep.BACKTEST_EXPORT, {"backtest_id": backtest_id, "fmt": format}, save_to=Path(path)
    )
    return got.data  # type: ignore[no-any-return]


# --- tasks -----------------------------------------------------------------------------


def list_tasks(
    status: str | None = None, type: str | None = None, limit: int | None = None
) -> Flow[list[Job]]:
    """Your jobs, newest first."""
    rows = yield from paginate(ep.TASKS, params={"status": status, "type": type}, limit=limit)
    return [from_api(Job, r) for r in rows]


def get_task(job_id: str) -> Flow[Job]:
    """One job."""
    got = yield Call(ep.TASK, {"job_id": job_id})
    return from_api(Job, got.data)


def task_logs(
    job_id: str, level: str | None = None, q: str | None = None, limit: int | None = None
) -> Flow[list[JobLog]]:
    """A job's log lines, oldest first."""
    rows = yield from paginate(
        ep.TASK_LOGS, {"job_id": job_id}, {"level": level, "q": q}, limit=limit
    )
    return [from_api(JobLog, r) for r in rows]


def _control(endpoint: ep.Endpoint, job_id: str) -> Flow[Job]:
    got = yield Call(endpoint, {"job_id": job_id})
    return from_api(Job, got.data)


def cancel_task(job_id: str) -> Flow[Job]:
    """Cancel a job (a backtest keeps its partial results)."""
    return (yield from _control(ep.TASK_CANCEL, job_id))


def pause_task(job_id: str) -> Flow[Job]:
    """Pause a running job at its next checkpoint."""
    return (yield from _control(ep.TASK_PAUSE, job_id))


def resume_task(job_id: str) -> Flow[Job]:
    """Resume a paused job."""
    return (yield from _control(ep.TASK_RESUME, job_id))


def ws_ticket(job_id: str) -> Flow[str]:
    """A single-use ticket for the job's WebSocket."""
    got = yield Call(ep.TASK_TICKET, {"job_id": job_id})
    return str(got.data["ticket"])


def resource(kind: str, resource_id: str) -> Flow[Any]:
    """What a finished job produced: the backtest, evaluation, import or job itself."""
    if kind == "backtest":
        return (yield from get_backtest(resource_id))
    if kind == "evaluation":
        return (yield from get_evaluation(resource_id))
    if kind == "import":
        return (yield from get_import(resource_id))
    return (yield from get_task(resource_id))
