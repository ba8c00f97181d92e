"""Validation of factor sources: ``$$name`` expansion over the owner's factors, the
expression engine's checks (syntax with positions, fields of a dataset, look-ahead) and
compiling Python code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets import service as dataset_service
from quantlab.engine import expr
from quantlab.engine.expr.ast import fields_of
from quantlab.factors.exceptions import InvalidExpression, InvalidFactorCode
from quantlab.factors.models import Factor
from quantlab.factors.references import Expanded, Lookup, expand
from quantlab.platform.ownership import Principal


async def owner_lookup(session: AsyncSession, owner_id: str) -> Lookup:
    """Name look-up over ``owner_id``'s factors, for expanding ``$$name`` references."""
    rows = await session.execute(
        select(Factor.name, Factor.kind, Factor.expression).where(Factor.owner_id == owner_id)
    )
    table = {name: (kind, text) for name, kind, text in rows}
    return table.get


async def dataset_fields(
    session: AsyncSession, user: Principal, dataset_id: str, version: int | None = None
) -> list[str]:
    """Fields of a readable dataset's version (latest by default)."""
    dataset = await dataset_service.get_dataset(session, user, dataset_id)
    row = await dataset_service.get_version(session, dataset, version)
    return list(row.fields)


def parse_expanded(expanded: Expanded, fields: Sequence[str] | None = None) -> expr.Node:
    """Validate an expanded expression; engine errors become 422s at the user's position."""
    try:
        return expr.validate(expanded.text, fields)
    except expr.ExprError as err:
        position = expanded.original_position(err.position)
        raise InvalidExpression.from_expr(err, expanded.original, position) from None


async def check_expression(
    session: AsyncSession,
    user: Principal,
    text: str,
    *,
    owner_id: str,
    self_name: str | None = None,
    dataset_id: str | None = None,
) -> tuple[Expanded, expr.Node]:
    """Expand references and validate: syntax, fields (when a dataset is named), look-ahead,
    dependencies and cycles."""
    expanded = expand(text, await owner_lookup(session, owner_id), self_name=self_name)
    fields = await dataset_fields(session, user, dataset_id) if dataset_id else None
    return expanded, parse_expanded(expanded, fields)


async def describe_expression(
    session: AsyncSession, user: Principal, text: str, dataset_id: str | None = None
) -> dict[str, Any]:
    """Validate ``text`` as the caller's factor would be and say what it needs."""
    expanded, node = await check_expression(
        session, user, text, owner_id=user.id, dataset_id=dataset_id
    )
    return {
        "expression": text,
        "expanded": expanded.text,
        "canonical": str(node),
        "fields": sorted(fields_of(node)),
        "dependencies": list(expanded.dependencies),
        "lookback": expr.lookback(node),
    }


def check_code(code: str) -> None:
    """Compile Python factor code (it runs only in the sandbox, never here)."""
    try:
        compile(code, "<factor>", "exec", dont_inherit=True)
    except SyntaxError as err:
        raise InvalidFactorCode(
            f"the code does not compile: {err.msg} (line {err.lineno})",
            details={"line": err.lineno, "column": err.offset, "message": err.msg},
        ) from None
