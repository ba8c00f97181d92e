"""The template gallery: the system templates seeded from the engine's catalog (idempotent,
versioned) and their examples, each computed by the ``strategies.example`` job through
:func:`quantlab.engine.run` and refreshed when the dataset version, the template version
or the engine changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.backtests.service import ENGINE_VERSION
from quantlab.datasets import service as dataset_service
from quantlab.datasets.models import Dataset
from quantlab.engine.library import TEMPLATES, Template, apply, resolve
from quantlab.platform import audit
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.logging import get_logger
from quantlab.platform.ownership import Principal
from quantlab.strategies import cache as gallery_cache
from quantlab.strategies import views
from quantlab.strategies.exceptions import ExampleUnavailable
from quantlab.strategies.models import Strategy, StrategyExample, StrategyVersion
from quantlab.strategies.service import get_strategy

log = get_logger("quantlab.strategies")
EXAMPLE_JOB = "strategies.example"


def _template_row_values(t: Template) -> dict[str, Any]:
    values = resolve(t.parameters, t.constraints, {})
    return {
        "name": t.name.en,
        "description": t.description.en,
        "texts": {
            "name": {"zh-CN": t.name.zh, "en": t.name.en},
            "description": {"zh-CN": t.description.zh, "en": t.description.en},
        },
        "tags": list(t.tags),
        "category": t.category,
        "market": t.market,
        "body": apply(t.body, t.parameters, values),
        "param_schema": [p.model_dump(mode="json", by_alias=True) for p in t.parameters],
        "constraints": [c.model_dump(mode="json") for c in t.constraints],
        "requires_fields": list(t.requires_fields),
        "template_version": t.version,
    }


async def seed_templates(session: AsyncSession) -> int:
    """Insert missing system templates and update those whose catalog version changed
    (each update is a new strategy version); returns how many rows changed."""
    existing = {
        r.template_key: r
        for r in await session.scalars(select(Strategy).where(Strategy.template_key.is_not(None)))
    }
    changed = 0
    for key, template in TEMPLATES.items():
        values = _template_row_values(template)
        row = existing.get(key)
        if row is None:
            row = Strategy(
                owner_id=None,
                template_key=key,
                is_template=True,
                is_public=True,
                version=1,
                **values,
            )
            session.add(row)
            await session.flush()
            message = f"system template v{template.version}"
        elif row.template_version != template.version:
            for name, value in values.items():
                setattr(row, name, value)
            row.version += 1
            message = f"system template updated to v{template.version}"
        else:
            continue
        session.add(
            StrategyVersion(
                strategy_id=row.id,
                version=row.version,
                message=message,
                body=row.body,
                param_schema=row.param_schema,
                constraints=row.constraints,
            )
        )
        audit.record(
            session,
            "strategy.template_seed",
            resource_type="strategy",
            resource_id=row.id,
            details={"key": key, "version": template.version},
        )
        changed += 1
    try:
        await session.commit()
    except IntegrityError:  # another process seeded at the same moment
        await session.rollback()
        return 0
    return changed


async def request_example(
    session: AsyncSession, template: Strategy, dataset: Dataset, requester_id: str
) -> tuple[StrategyExample, bool]:
    """The template's example on the dataset's latest version: reused when current, else
    (re)computed by an ``strategies.example`` job. Returns the row and whether a job was
    enqueued. A template needing fields the dataset lacks records why instead."""
    version = await dataset_service.get_version(session, dataset)
    ex = await session.scalar(
        select(StrategyExample).where(
            StrategyExample.strategy_id == template.id, StrategyExample.dataset_id == dataset.id
        )
    )
    current = (version.version, template.version, ENGINE_VERSION)
    if ex is not None and (ex.dataset_version, ex.strategy_version, ex.engine_version) == current:
        if ex.result is not None or ex.error is not None or ex.job_id is not None:
            return ex, False
    if ex is None:
        ex = StrategyExample(strategy_id=template.id, dataset_id=dataset.id)
        session.add(ex)
    ex.dataset_version, ex.strategy_version, ex.engine_version = current
    ex.result, ex.error, ex.computed_at, ex.job_id = None, None, None, None
    missing = [f for f in template.requires_fields or [] if f not in version.fields]
    if missing:
        ex.error = (
            f"not available on this dataset: the template reads {', '.join(missing)}, "
            f"which it does not have (fields: {', '.join(version.fields)})"
        )
        await session.flush()
        return ex, False
    await session.flush()
    job = await job_service.enqueue(
        session,
        job_type=EXAMPLE_JOB,
        params={"example_id": ex.id},
        owner_id=requester_id,
        priority=0,
    )
    ex.job_id = job.id
    return ex, True


async def refresh_examples(
    session: AsyncSession, user: Principal, dataset_id: str, template_id: str | None = None
) -> tuple[int, int]:
    """(Re)compute the examples of one or every system template on a dataset the caller can
    read; returns how many templates were considered and how many jobs were enqueued
    (current examples are reused)."""
    dataset = await dataset_service.get_dataset(session, user, dataset_id)
    if template_id is not None:
        templates = [await get_strategy(session, user, template_id)]
        if not templates[0].is_template:
            raise ExampleUnavailable("examples are computed for templates only")
    else:
        templates = list(
            await session.scalars(
                select(Strategy).where(
                    Strategy.template_key.is_not(None), Strategy.deleted_at.is_(None)
                )
            )
        )
    queued = 0
    for template in templates:
        queued += (await request_example(session, template, dataset, user.id))[1]
    await session.commit()
    return len(templates), queued


async def examples_of(
    session: AsyncSession, user: Principal, template: Strategy
) -> list[dict[str, Any]]:
    """The template's examples on datasets the caller can read, with their status."""
    rows = list(
        await session.scalars(
            select(StrategyExample).where(StrategyExample.strategy_id == template.id)
        )
    )
    out = []
    for ex in rows:
        dataset = await session.get(Dataset, ex.dataset_id)
        if dataset is None or dataset.deleted_at is not None:
            continue
        if not (user.is_admin or dataset.owner_id == user.id or dataset.is_public):
            continue
        job = await session.get(Job, ex.job_id) if ex.job_id else None
        stale = (
            ex.strategy_version != template.version
            or ex.engine_version != ENGINE_VERSION
            or ex.dataset_version != dataset.latest_version
        )
        out.append(views.example_view(ex, job.status if job else None, stale))
    return out


async def ensure_demo_examples(session: AsyncSession) -> int:
    """Enqueue the examples of every template on the demo dataset that are missing or
    stale (start-up); returns how many jobs were enqueued."""
    demo = await session.scalar(
        select(Dataset).where(Dataset.source == "demo", Dataset.deleted_at.is_(None))
    )
    if demo is None or not demo.latest_version:
        return 0
    templates = await session.scalars(
        select(Strategy).where(Strategy.template_key.is_not(None), Strategy.deleted_at.is_(None))
    )
    enqueued = 0
    for template in list(templates):
        _, queued = await request_example(session, template, demo, demo.owner_id)
        enqueued += queued
    await session.commit()
    return enqueued


@asynccontextmanager
async def strategies_startup(app: Any) -> AsyncIterator[None]:
    """Start-up hook: seed the system templates; enqueue the demo examples that are due.
    With the database down the server starts anyway (so ``/api/ready`` can say what is
    wrong); the next start seeds."""
    try:
        async with app.state.db.sessionmaker() as session:
            changed = await seed_templates(session)
            queued = await ensure_demo_examples(session)
    except (DBAPIError, OSError) as exc:
        log.warning("strategy_templates_skipped", reason=type(exc).__name__)
    else:
        if changed or queued:
            log.info("strategy_templates_seeded", changed=changed, examples_enqueued=queued)
        cache = getattr(app.state, "cache", None)
        if changed and cache is not None:  # a shared Redis cache may hold pages of older rows
            await gallery_cache.changed(cache)
    yield
