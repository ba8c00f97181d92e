"""The ownership helper on a real owned table, proven with the IDOR helper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import Boolean, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from quantlab.api.app import create_app
from quantlab.api.routes import protected
from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.platform import migrate
from quantlab.platform.db import DbSession, IdMixin
from quantlab.platform.envelope import Pagination, ok, page
from quantlab.platform.ownership import get_owned, visible
from tests.conftest import create_test_user, make_settings
from tests.helpers.idor import assert_no_idor


class ProbeBase(DeclarativeBase):
    pass


class Note(IdMixin, ProbeBase):
    """An owned resource exactly as domains declare one."""

    __tablename__ = "probe_notes"
    owner_id: Mapped[str] = mapped_column(String(32), index=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(String(100))


class NoteIn(BaseModel):
    text: str
    is_public: bool = False


def _out(n: Note) -> dict[str, Any]:
    return {"id": n.id, "owner_id": n.owner_id, "text": n.text, "is_public": n.is_public}


notes = APIRouter(prefix="/api/probe-notes")


@notes.post("", status_code=201)
async def create(body: NoteIn, user: WriteUser, session: DbSession) -> dict[str, Any]:
    note = Note(owner_id=user.id, text=body.text, is_public=body.is_public)
    session.add(note)
    await session.commit()
    return ok(_out(note))


@notes.get("")
async def list_notes(user: CurrentUser, session: DbSession, params: Pagination) -> dict[str, Any]:
    stmt = visible(select(Note), Note, user)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.offset(params.offset).limit(params.size))).scalars()
    return page([_out(n) for n in rows], total, params)


@notes.get("/{note_id}")
async def read(note_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    return ok(_out(await get_owned(session, Note, note_id, user)))


@notes.patch("/{note_id}")
async def change(note_id: str, body: NoteIn, user: WriteUser, session: DbSession) -> dict[str, Any]:
    note = await get_owned(session, Note, note_id, user, write=True)
    note.text = body.text
    await session.commit()
    return ok(_out(note))


@notes.delete("/{note_id}")
async def delete(note_id: str, user: WriteUser, session: DbSession) -> dict[str, Any]:
    note = await get_owned(session, Note, note_id, user, write=True)
    await session.delete(note)
    await session.commit()
    return ok({"deleted": note_id})


@pytest.fixture(scope="module")
async def notes_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    tmp: Path = tmp_path_factory.mktemp("own")
    settings = make_settings(tmp, f"sqlite+aiosqlite:///{tmp / 'q.db'}", bootstrap_admin=False)
    await migrate.upgrade_async(settings.db_url)
    app = create_app(settings)
    protected(app, notes)
    async with app.router.lifespan_context(app):
        async with app.state.db.engine.begin() as conn:
            await conn.run_sync(ProbeBase.metadata.create_all)
        yield app


@pytest.fixture
async def c(notes_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=notes_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_private_resource_is_invisible_to_others(notes_app: Any, c: Any) -> None:
    alice = await create_test_user(notes_app)
    bob = await create_test_user(notes_app)
    note = (await c.post("/api/probe-notes", json={"text": "a"}, headers=alice.headers)).json()
    nid = note["data"]["id"]
    await assert_no_idor(
        c,
        alice.headers,
        bob.headers,
        read=f"/api/probe-notes/{nid}",
        update=("PATCH", f"/api/probe-notes/{nid}", {"text": "stolen"}),
        delete=f"/api/probe-notes/{nid}",
        missing=f"/api/probe-notes/{'0' * 32}",
    )
    listed = await c.get("/api/probe-notes", headers=bob.headers)
    assert nid not in [n["id"] for n in listed.json()["data"]]


async def test_public_is_readable_not_writable(notes_app: Any, c: Any) -> None:
    alice = await create_test_user(notes_app)
    bob = await create_test_user(notes_app)
    viewer = await create_test_user(notes_app, "viewer")
    body = {"text": "shared", "is_public": True}
    nid = (await c.post("/api/probe-notes", json=body, headers=alice.headers)).json()["data"]["id"]
    assert (await c.get(f"/api/probe-notes/{nid}", headers=bob.headers)).status_code == 200
    listed = await c.get("/api/probe-notes", headers=bob.headers)
    assert nid in [n["id"] for n in listed.json()["data"]]
    change = await c.patch(f"/api/probe-notes/{nid}", json={"text": "x"}, headers=bob.headers)
    assert change.status_code == 403
    assert (await c.delete(f"/api/probe-notes/{nid}", headers=bob.headers)).status_code == 403
    # viewers are read-only everywhere
    assert (await c.get(f"/api/probe-notes/{nid}", headers=viewer.headers)).status_code == 200
    made = await c.post("/api/probe-notes", json={"text": "v"}, headers=viewer.headers)
    assert made.status_code == 403 and made.json()["error"]["code"] == "INSUFFICIENT_ROLE"


async def test_admin_sees_and_changes_everything(notes_app: Any, c: Any) -> None:
    alice = await create_test_user(notes_app)
    admin = await create_test_user(notes_app, "admin")
    nid = (await c.post("/api/probe-notes", json={"text": "a"}, headers=alice.headers)).json()[
        "data"
    ]["id"]
    assert (await c.get(f"/api/probe-notes/{nid}", headers=admin.headers)).status_code == 200
    listed = await c.get("/api/probe-notes?size=200", headers=admin.headers)
    assert nid in [n["id"] for n in listed.json()["data"]]
    resp = await c.patch(
        f"/api/probe-notes/{nid}", json={"text": "moderated"}, headers=admin.headers
    )
    assert resp.status_code == 200
    assert (await c.delete(f"/api/probe-notes/{nid}", headers=admin.headers)).status_code == 200
    assert (await c.get(f"/api/probe-notes/{nid}", headers=alice.headers)).status_code == 404
