"""Who may use the objects a job's parameters name: checked when a user-submittable job
(or a schedule) is created, and again in the worker just before the job runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform.errors import Forbidden
from quantlab.platform.jobs.registry import JobType
from quantlab.platform.ownership import Principal, get_owned

# The accounts table, seen only for the two columns that decide rights (platform code does
# not import the auth domain).
_users = table("users", column("id"), column("role"), column("is_active"))


@dataclass(frozen=True, slots=True)
class JobOwner:
    """The rights of a job's owner, read from the accounts table when the job runs."""

    id: str
    is_admin: bool
    read_only: bool


class JobOwnerRevoked(Forbidden):
    code = "JOB_OWNER_REVOKED"
    status = 403
    description = "The job's owner is deactivated or may no longer change the objects it names."


def _ids(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


async def check_owned_params(
    session: AsyncSession, entry: JobType, params: BaseModel, user: Principal
) -> None:
    """Raise the domain's 404 (or 403 for someone else's public object to be changed)
    unless ``user`` may use every object id among ``params``."""
    for ref in entry.owned:
        for object_id in _ids(getattr(params, ref.field)):
            resource = await get_owned(
                session, ref.model, object_id, user, write=ref.write, not_found=ref.not_found
            )
            if getattr(resource, "deleted_at", None) is not None:
                table_name = getattr(ref.model, "__tablename__", "resource")
                raise ref.not_found(f"{table_name} {object_id} not found")


async def job_owner(session: AsyncSession, owner_id: str) -> JobOwner:
    """The owner's current rights (403 ``JOB_OWNER_REVOKED`` when deactivated or gone)."""
    row = (
        await session.execute(
            select(_users.c.role, _users.c.is_active).where(_users.c.id == owner_id)
        )
    ).first()
    if row is None or not row.is_active:
        raise JobOwnerRevoked("the job's owner is deactivated")
    return JobOwner(owner_id, row.role == "admin", row.role == "viewer")


async def check_run_access(
    session: AsyncSession, entry: JobType, params: BaseModel, owner_id: str
) -> None:
    """At run time: the owner may still use every object the parameters name."""
    if not entry.owned:
        return
    owner = await job_owner(session, owner_id)
    if owner.read_only and any(ref.write for ref in entry.owned):
        raise JobOwnerRevoked("the job's owner may no longer change data (read-only role)")
    await check_owned_params(session, entry, params, owner)
