"""HTTP routes of the visual strategy builder (thin: parse, call one service function, wrap).

Stateless graph tools (schema, catalog, validate, compile, python, from-spec, qlib-yaml,
describe, preview) and drafts (autosave, snapshots, quick test, save as a strategy).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.builder import preview as preview_service
from quantlab.builder import service
from quantlab.builder.models import BuilderDraft, BuilderSnapshot
from quantlab.builder.schemas import (
    CatalogOut,
    CompiledOut,
    DescriptionOut,
    DraftCreate,
    DraftOut,
    DraftSave,
    DraftSummary,
    FromSpecBody,
    FromSpecOut,
    GraphBody,
    PreviewBody,
    PreviewOut,
    PythonOut,
    QlibBody,
    QlibOut,
    QuickTestBody,
    QuickTestResult,
    QuickTestStarted,
    SaveAsStrategy,
    SavedOut,
    SnapshotCreate,
    SnapshotOut,
    StrategyGraphOut,
    ValidationOut,
)
from quantlab.engine import builder
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Deleted,
    Envelope,
    Page,
    Pagination,
    ok,
    page,
)
from quantlab.platform.ratelimit import client_address

router = APIRouter(prefix="/api/builder", tags=["builder"], responses=ERROR_RESPONSES)


def _draft(row: BuilderDraft) -> dict[str, Any]:
    return {k: getattr(row, k) for k in DraftOut.model_fields} | {"results": row.results or []}


def _snapshot(row: BuilderSnapshot) -> dict[str, Any]:
    return {k: getattr(row, k) for k in SnapshotOut.model_fields}


# --- graph tools ----------------------------------------------------------------------------


@router.get("/schema", summary="JSON Schema of the builder graph", response_model=Envelope[dict])
async def graph_schema(user: CurrentUser) -> dict[str, Any]:
    return ok(builder.graph_schema())


@router.get(
    "/catalog",
    summary="The node catalog (and your saved factors)",
    response_model=Envelope[CatalogOut],
)
async def node_catalog(user: CurrentUser, session: DbSession) -> dict[str, Any]:
    factors = await service.saved_factors(session, user)
    return ok(
        {"version": builder.GRAPH_VERSION, "node_types": builder.catalog_rows(), "factors": factors}
    )


@router.post(
    "/validate",
    summary="Check a graph: issues with node/edge ids and fixes",
    response_model=Envelope[ValidationOut],
)
async def validate(body: GraphBody, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    factors = await service.factor_expressions(session, user, body.graph)
    issues = builder.validate(body.graph, factors=factors)
    valid = not any(i.severity == "error" or i.code == "not_compilable" for i in issues)
    return ok({"valid": valid, "issues": [i.as_dict() for i in issues]})


@router.post(
    "/compile", summary="Compile a graph to a run-spec body", response_model=Envelope[CompiledOut]
)
async def compile_graph(body: GraphBody, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    factors = await service.factor_expressions(session, user, body.graph)
    out = service.compile_or_422(body.graph, factors)
    return ok(
        {
            "body": out.body,
            "expressions": out.expressions,
            "shared": out.shared,
            "warnings": out.warnings,
        }
    )


@router.post(
    "/python",
    summary="A graph as readable Python (a code strategy)",
    response_model=Envelope[PythonOut],
)
async def to_python(body: GraphBody, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    factors = await service.factor_expressions(session, user, body.graph)
    out = service.python_or_422(body.graph, factors)
    return ok({"code": out.code, "strategy": out.strategy, "indicators": out.indicators})


@router.post(
    "/from-spec",
    summary="Open a run spec or strategy body as a graph",
    response_model=Envelope[FromSpecOut],
)
async def from_spec(body: FromSpecBody, user: CurrentUser) -> dict[str, Any]:
    graph, dropped = service.from_spec(body.spec)
    return ok({"graph": graph, "dropped": dropped})


@router.get(
    "/strategies/{strategy_id}/graph",
    summary="Open a saved strategy version in the builder (as drawn when saved from it)",
    response_model=Envelope[StrategyGraphOut],
)
async def strategy_graph(
    strategy_id: str,
    user: CurrentUser,
    session: DbSession,
    version: Annotated[int | None, Query(ge=1, description="default: the current version")] = None,
) -> dict[str, Any]:
    graph, dropped, source, number = await service.strategy_graph(
        session, user, strategy_id, version
    )
    return ok({"strategy_id": strategy_id, "strategy_version": number, "source": source,
               "graph": graph, "dropped": dropped})  # fmt: skip


@router.post(
    "/qlib-yaml",
    summary="A top-k graph as a Qlib workflow (or why not)",
    response_model=Envelope[QlibOut],
)
async def qlib_yaml(body: QlibBody, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    factors = await service.factor_expressions(session, user, body.graph)
    service.compile_or_422(body.graph, factors)
    out = builder.graph_qlib_yaml(
        body.graph,
        factors,
        market=body.market,
        benchmark=body.benchmark,
        start=str(body.start),
        end=str(body.end),
    )
    return ok(
        {"supported": out.supported, "reason": out.reason, "yaml": out.text, "config": out.config}
    )


@router.post(
    "/describe",
    summary="A graph in plain words (zh-CN and en)",
    response_model=Envelope[DescriptionOut],
)
async def describe(body: GraphBody, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    factors = await service.factor_expressions(session, user, body.graph)
    service.compile_or_422(body.graph, factors)
    return ok(builder.describe_graph(body.graph, factors))


@router.post(
    "/preview",
    summary="Evaluate one block on a sample of a dataset",
    response_model=Envelope[PreviewOut],
)
async def preview(
    body: PreviewBody, user: CurrentUser, session: DbSession, request: Request
) -> dict[str, Any]:
    data_dir = request.app.state.settings.data_dir
    return ok(await preview_service.preview(session, user, body, data_dir))


# --- drafts ---------------------------------------------------------------------------------


@router.get(
    "/drafts", summary="Your drafts (expired ones removed)", response_model=Page[DraftSummary]
)
async def list_drafts(user: CurrentUser, session: DbSession, params: Pagination) -> dict[str, Any]:
    items, total = await service.list_drafts(session, user, params)
    return page([_draft(r) for r in items], total, params)


@router.post(
    "/drafts",
    status_code=status.HTTP_201_CREATED,
    summary="Start a draft",
    response_model=Envelope[DraftOut],
)
async def create_draft(body: DraftCreate, user: WriteUser, session: DbSession) -> dict[str, Any]:
    return ok(_draft(await service.create_draft(session, user, body)))


@router.get(
    "/drafts/{draft_id}",
    summary="A draft with its last quick-test result",
    response_model=Envelope[DraftOut],
)
async def get_draft(draft_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    return ok(_draft(await service.get_draft(session, user, draft_id)))


@router.put(
    "/drafts/{draft_id}",
    summary="Autosave a draft (stale version: 409)",
    response_model=Envelope[DraftOut],
)
async def save_draft(
    draft_id: str, body: DraftSave, user: WriteUser, session: DbSession
) -> dict[str, Any]:
    return ok(_draft(await service.save_draft(session, user, draft_id, body)))


@router.delete("/drafts/{draft_id}", summary="Delete a draft", response_model=Envelope[Deleted])
async def delete_draft(draft_id: str, user: WriteUser, session: DbSession) -> dict[str, Any]:
    await service.delete_draft(session, user, draft_id)
    return ok({"id": draft_id, "deleted": True})


@router.get(
    "/drafts/{draft_id}/snapshots",
    summary="A draft's snapshots",
    response_model=Envelope[list[SnapshotOut]],
)
async def list_snapshots(draft_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    return ok([_snapshot(s) for s in await service.list_snapshots(session, user, draft_id)])


@router.post(
    "/drafts/{draft_id}/snapshots",
    status_code=status.HTTP_201_CREATED,
    summary="Snapshot a draft",
    response_model=Envelope[SnapshotOut],
)
async def create_snapshot(
    draft_id: str, body: SnapshotCreate, user: WriteUser, session: DbSession
) -> dict[str, Any]:
    return ok(_snapshot(await service.create_snapshot(session, user, draft_id, body)))


@router.post(
    "/drafts/{draft_id}/snapshots/{snapshot_id}/restore",
    summary="Restore a snapshot as the draft's next version",
    response_model=Envelope[DraftOut],
)
async def restore_snapshot(
    draft_id: str, snapshot_id: str, user: WriteUser, session: DbSession
) -> dict[str, Any]:
    return ok(_draft(await service.restore_snapshot(session, user, draft_id, snapshot_id)))


@router.post(
    "/drafts/{draft_id}/quick-test",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Quick test: a short backtest as a job (result kept on the draft)",
    response_model=Envelope[QuickTestStarted],
)
async def quick_test(
    draft_id: str, body: QuickTestBody, user: WriteUser, session: DbSession, request: Request
) -> dict[str, Any]:
    data_dir = request.app.state.settings.data_dir
    row, job_id, spec = await service.start_quick_test(session, user, draft_id, body, data_dir)
    request.app.state.jobs.wake()
    return ok({"draft_id": row.id, "job_id": job_id, "spec": spec})


@router.get(
    "/drafts/{draft_id}/quick-tests",
    summary="The draft's last quick-test results, newest first",
    response_model=Envelope[list[QuickTestResult]],
)
async def quick_tests(draft_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    return ok(await service.quick_tests(session, user, draft_id))


@router.post(
    "/drafts/{draft_id}/save",
    summary="Save the draft as a strategy (versioned)",
    response_model=Envelope[SavedOut],
)
async def save_as_strategy(
    draft_id: str, body: SaveAsStrategy, user: WriteUser, session: DbSession, request: Request
) -> dict[str, Any]:
    row, sid, version = await service.save_as_strategy(
        session, user, draft_id, body, client_address(request)
    )
    return ok({"strategy_id": sid, "strategy_version": version, "draft": _draft(row)})
