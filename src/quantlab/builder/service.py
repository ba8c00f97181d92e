"""Builder rules: graph tools with saved factors resolved, drafts (autosave with a version
number, 24 h expiry unless saved as a strategy, snapshots), quick tests as jobs, and saving
a draft as a strategy through the strategy library (which keeps its version history)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.builder import params as graph_params
from quantlab.builder.exceptions import (
    DraftNotFound,
    DraftStale,
    GraphUnsupported,
    InvalidGraph,
    SnapshotNotFound,
)
from quantlab.builder.models import BuilderDraft, BuilderSnapshot, BuilderStrategyGraph
from quantlab.builder.schemas import (
    DraftCreate,
    DraftSave,
    QuickTestBody,
    SaveAsStrategy,
    SnapshotCreate,
)
from quantlab.datasets import service as dataset_service
from quantlab.engine import builder
from quantlab.engine.builder import Graph, GraphError
from quantlab.factors import service as factor_service
from quantlab.factors.models import Factor
from quantlab.platform import audit
from quantlab.platform.db import utcnow
from quantlab.platform.envelope import PageParams
from quantlab.platform.jobs import service as job_service
from quantlab.platform.ownership import Principal, get_owned, visible
from quantlab.strategies import service as strategy_service
from quantlab.strategies.schemas import StrategyCreate, StrategyUpdate

DRAFT_TTL = timedelta(hours=24)
QUICK_TEST_JOB = "builder.quick_test"
MAX_DRAFTS_LISTED = 200
EMPTY_GRAPH: dict[str, Any] = {"nodes": [{"id": "out", "type": "strategy"}], "edges": []}


# --- graph tools ----------------------------------------------------------------------------


async def factor_expressions(
    session: AsyncSession, user: Principal, graph: Graph
) -> dict[str, str]:
    """The expressions of the saved factors the graph's ``factor`` blocks name (404 for a
    factor the caller cannot read, 422 for a code factor)."""
    out: dict[str, str] = {}
    for node in graph.nodes:
        if node.type != "factor":
            continue
        fid = node.params.get("factor_id")
        if not isinstance(fid, str) or fid in out:
            continue
        factor = await factor_service.get_factor(session, user, fid)
        if factor.kind != "expression" or not factor.expression:
            raise InvalidGraph(
                f"{node.id}: factor {factor.name!r} is Python code, not an expression",
                details={"issues": [{"code": "factor_not_expression", "node_id": node.id}]},
            )
        out[fid] = factor.expression
    return out


def graph_error(err: GraphError) -> InvalidGraph:
    """The 422 of a graph that does not compile."""
    return InvalidGraph(err.args[0], details={"issues": [i.as_dict() for i in err.issues]})


def compile_or_422(graph: Graph, factors: Mapping[str, str]) -> builder.CompiledGraph:
    """The compiled graph, or a 422 listing every issue."""
    try:
        return builder.compile_graph(graph, factors)
    except GraphError as err:
        raise graph_error(err) from None


def python_or_422(graph: Graph, factors: Mapping[str, str]) -> builder.PythonStrategy:
    """The graph as Python, or a 422 naming the blocks without a Python form."""
    try:
        return builder.graph_python(graph, factors)
    except GraphError as err:
        raise graph_error(err) from None
    except builder.UnsupportedPython as err:
        raise GraphUnsupported(str(err), details={"blocks": err.blocks}) from None


def from_spec(data: dict[str, Any]) -> tuple[Graph, list[str]]:
    """A spec (dataset optional) as a graph plus the sections the graph does not carry."""
    from pydantic import ValidationError

    from quantlab.engine.spec import RunSpec
    from quantlab.platform.errors import ValidationFailed

    try:
        spec = RunSpec.model_validate({"dataset_id": "builder", **data})
    except ValidationError as err:
        problems = [
            {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in err.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailed("the spec is not valid", details={"problems": problems}) from None
    try:
        graph = builder.graph_from_spec(spec)
        return graph, builder.dropped_fields(spec, graph)
    except builder.UnsupportedSpec as err:
        raise GraphUnsupported(str(err), details={"kind": spec.strategy.kind}) from None
    except GraphError as err:
        issues = [i.as_dict() for i in err.issues]
        raise GraphUnsupported(
            f"the spec has no valid graph: {err}", details={"issues": issues}
        ) from None


async def saved_factors(session: AsyncSession, user: Principal) -> list[dict[str, Any]]:
    """The caller's readable expression factors, as ``factor`` block choices."""
    stmt = visible(select(Factor), Factor, user).where(Factor.kind == "expression")
    rows = await session.scalars(stmt.order_by(Factor.name).limit(MAX_DRAFTS_LISTED))
    return [
        {"id": f.id, "name": f.name, "expression": f.expression, "description": f.description}
        for f in rows
    ]


# --- drafts ---------------------------------------------------------------------------------


async def _purge_expired(session: AsyncSession) -> None:
    await session.execute(
        delete(BuilderDraft).where(
            BuilderDraft.expires_at.is_not(None), BuilderDraft.expires_at < utcnow()
        )
    )


async def get_draft(session: AsyncSession, user: Principal, draft_id: str) -> BuilderDraft:
    """A live draft of the caller (404 for others' drafts and expired ones)."""
    row = await get_owned(
        session, BuilderDraft, draft_id, user, write=True, not_found=DraftNotFound
    )
    if row.expires_at is not None and row.expires_at < utcnow():
        await session.delete(row)
        await session.commit()
        raise DraftNotFound()
    return row


async def list_drafts(
    session: AsyncSession, user: Principal, params: PageParams
) -> tuple[list[BuilderDraft], int]:
    """The caller's live drafts, last saved first (expired drafts are removed first)."""
    from quantlab.platform.db import paginate

    await _purge_expired(session)
    await session.commit()
    stmt = select(BuilderDraft).where(BuilderDraft.owner_id == user.id)
    items, total = await paginate(
        session, stmt, params, BuilderDraft.updated_at.desc(), BuilderDraft.id
    )
    return list(items), total


async def create_draft(session: AsyncSession, user: Principal, data: DraftCreate) -> BuilderDraft:
    """A new draft (expires 24 h after its last save unless saved as a strategy)."""
    graph = (
        data.graph.model_dump(mode="json")
        if data.graph
        else Graph.model_validate({**EMPTY_GRAPH, "name": data.name}).model_dump(mode="json")
    )
    row = BuilderDraft(
        owner_id=user.id, name=data.name, graph=graph, version=1, expires_at=utcnow() + DRAFT_TTL
    )
    session.add(row)
    await session.commit()
    return row


async def save_draft(
    session: AsyncSession, user: Principal, draft_id: str, data: DraftSave
) -> BuilderDraft:
    """Autosave: last writer wins, but only from the current version (else 409)."""
    row = await get_draft(session, user, draft_id)
    if data.version != row.version:
        raise DraftStale(
            f"the draft is at version {row.version}; this edit started from {data.version}",
            details={"current_version": row.version, "your_version": data.version},
        )
    row.graph = data.graph.model_dump(mode="json")
    if data.name is not None:
        row.name = data.name
    row.version += 1
    row.updated_at = utcnow()
    if row.strategy_id is None:
        row.expires_at = utcnow() + DRAFT_TTL
    await session.commit()
    return row


async def delete_draft(session: AsyncSession, user: Principal, draft_id: str) -> None:
    """Delete a draft and its snapshots."""
    row = await get_draft(session, user, draft_id)
    await session.delete(row)
    await session.commit()


async def create_snapshot(
    session: AsyncSession, user: Principal, draft_id: str, data: SnapshotCreate
) -> BuilderSnapshot:
    """Keep a copy of the draft's current graph."""
    row = await get_draft(session, user, draft_id)
    snap = BuilderSnapshot(
        draft_id=row.id, draft_version=row.version, message=data.message, graph=row.graph
    )
    session.add(snap)
    await session.commit()
    return snap


async def list_snapshots(
    session: AsyncSession, user: Principal, draft_id: str
) -> list[BuilderSnapshot]:
    """The draft's snapshots, newest first."""
    row = await get_draft(session, user, draft_id)
    stmt = select(BuilderSnapshot).where(BuilderSnapshot.draft_id == row.id)
    rows = await session.scalars(stmt.order_by(BuilderSnapshot.created_at.desc()))
    return list(rows)


async def restore_snapshot(
    session: AsyncSession, user: Principal, draft_id: str, snapshot_id: str
) -> BuilderDraft:
    """Put a snapshot's graph back as the draft's next version."""
    row = await get_draft(session, user, draft_id)
    snap = await session.get(BuilderSnapshot, snapshot_id)
    if snap is None or snap.draft_id != row.id:
        raise SnapshotNotFound()
    row.graph = snap.graph
    row.version += 1
    row.updated_at = utcnow()
    if row.strategy_id is None:
        row.expires_at = utcnow() + DRAFT_TTL
    await session.commit()
    return row


async def save_as_strategy(
    session: AsyncSession, user: Principal, draft_id: str, data: SaveAsStrategy, client: str | None
) -> tuple[BuilderDraft, str, int]:
    """Save the draft's compiled graph as a strategy, or as a new version of the one it was
    saved as before; the draft then no longer expires."""
    row = await get_draft(session, user, draft_id)
    graph = Graph.model_validate(row.graph)
    factors = await factor_expressions(session, user, graph)
    named, schema = graph_params.tunable(graph)
    body = compile_or_422(named, factors).body
    name = data.name or row.name
    if row.strategy_id is None:
        create = StrategyCreate(
            name=name,
            description=data.description,
            body=body,
            tags=["builder"],
            param_schema=schema,
        )
        strategy = await strategy_service.create_strategy(session, user, create, client)
    else:
        update = StrategyUpdate(
            body=body,
            name=data.name,
            message=data.message or "builder save",
            param_schema=schema,
        )
        strategy = await strategy_service.update_strategy(
            session, user, row.strategy_id, update, client
        )
    session.add(
        BuilderStrategyGraph(
            strategy_id=strategy.id,
            strategy_version=strategy.version,
            draft_id=draft_id,
            graph=graph.model_dump(mode="json"),
        )
    )
    row = await get_draft(session, user, draft_id)
    row.strategy_id, row.expires_at = strategy.id, None
    audit.record(
        session,
        "builder.save",
        actor_id=user.id,
        resource_type="strategy",
        resource_id=strategy.id,
        details={"draft_id": row.id},
        client_address=client,
    )
    await session.commit()
    return row, strategy.id, strategy.version


async def strategy_graph(
    session: AsyncSession, user: Principal, strategy_id: str, version: int | None
) -> tuple[Graph, list[str], str, int]:
    """A strategy version as a graph: the graph it was saved from in the builder when there
    is one (exactly as drawn), else the graph of its spec; plus the spec sections the graph
    does not carry, where the graph came from (``saved`` / ``spec``) and the version."""
    strategy = await strategy_service.get_strategy(session, user, strategy_id)
    number = strategy.version if version is None else version
    body = strategy.body
    if number != strategy.version:
        body = (await strategy_service.get_version(session, strategy, number)).body
    saved = await session.scalar(
        select(BuilderStrategyGraph.graph).where(
            BuilderStrategyGraph.strategy_id == strategy.id,
            BuilderStrategyGraph.strategy_version == number,
        )
    )
    if saved is not None:
        return Graph.model_validate(saved), [], "saved", number
    graph, dropped = from_spec(body)
    return graph, dropped, "spec", number


async def quick_tests(
    session: AsyncSession, user: Principal, draft_id: str
) -> list[dict[str, Any]]:
    """The draft's last quick-test results, newest first."""
    row = await get_draft(session, user, draft_id)
    return list(row.results or [])


# --- quick test -----------------------------------------------------------------------------


async def start_quick_test(
    session: AsyncSession, user: Principal, draft_id: str, data: QuickTestBody, data_dir: Any
) -> tuple[BuilderDraft, str, dict[str, Any]]:
    """Compile the draft and queue a ``builder.quick_test`` job over the chosen period."""
    from quantlab.builder.schemas import PERIOD_DAYS
    from quantlab.engine.spec import RunSpec

    row = await get_draft(session, user, draft_id)
    graph = Graph.model_validate(row.graph)
    factors = await factor_expressions(session, user, graph)
    body = compile_or_422(graph, factors).body
    dataset = await dataset_service.get_dataset(session, user, data.dataset_id)
    version = await dataset_service.get_version(session, dataset, None)
    last = data.end or version_end(version)
    start = last - timedelta(days=PERIOD_DAYS[data.period])
    fields = {
        "dataset_id": dataset.id,
        "dataset_version": version.version,
        "start": start,
        "end": last,
        "universe": data.universe,
        "initial_capital": data.initial_capital,
    }
    try:
        spec = RunSpec.model_validate({**body, **fields})
    except ValueError as err:
        raise InvalidGraph(f"the compiled spec is not valid: {err}"[:2000]) from None
    spec_json = spec.model_dump(mode="json")
    job = await job_service.enqueue(
        session,
        job_type=QUICK_TEST_JOB,
        params={"draft_id": row.id, "spec": spec_json},
        owner_id=user.id,
        priority=2,
    )
    row.last_job_id = job.id
    await session.commit()
    return row, job.id, spec_json


def version_end(version: Any) -> Any:
    """The last day of a dataset version."""
    from datetime import date

    if not version.end:
        raise GraphUnsupported("the dataset version has no date range yet")
    return date.fromisoformat(str(version.end)[:10])
