"""/api/factors: CRUD, validation on save, references, ownership, publish, clone,
favourites and usage, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers.idor import assert_no_idor

pytestmark = pytest.mark.timeout(120)


def _name(prefix: str = "f") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def _create(client: Any, headers: dict[str, str], **body: Any) -> Any:
    body.setdefault("name", _name())
    body.setdefault("expression", "Mean($close, 5) / $close")
    return await client.post("/api/factors", headers=headers, json=body)


async def test_crud_search_and_name_conflicts(client: Any, researcher: Any) -> None:
    h = researcher.headers
    name, tag = _name("mom"), _name("tag")
    resp = await _create(client, h, name=name, description="5-day momentum", tags=[tag, "x"])
    assert resp.status_code == 201, resp.text
    factor = resp.json()["data"]
    assert factor["owner_id"] == researcher.id and factor["kind"] == "expression"
    assert factor["lookback"] == 4 and factor["dependencies"] == []
    assert factor["is_public"] is False and factor["usage_count"] == 0
    fid = factor["id"]

    dup = await _create(client, h, name=name)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "FACTOR_NAME_TAKEN"

    got = (await client.get(f"/api/factors/{fid}", headers=h)).json()["data"]
    assert got["expression"] == "Mean($close, 5) / $close"
    by_tag = (await client.get(f"/api/factors?tag={tag}", headers=h)).json()
    assert [f["id"] for f in by_tag["data"]] == [fid] and by_tag["meta"]["total"] == 1
    by_text = (await client.get(f"/api/factors?q={name[4:]}&scope=mine", headers=h)).json()
    assert [f["id"] for f in by_text["data"]] == [fid]

    patched = await client.patch(
        f"/api/factors/{fid}", headers=h, json={"description": "new", "expression": "$close"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["description"] == "new"
    assert patched.json()["data"]["lookback"] == 0

    bad = await client.patch(f"/api/factors/{fid}", headers=h, json={"expression": "Mean($close"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "INVALID_EXPRESSION"
    after = (await client.get(f"/api/factors/{fid}", headers=h)).json()["data"]
    assert after["expression"] == "$close"  # a failed request writes nothing

    other = (await _create(client, h)).json()["data"]
    taken = await client.patch(f"/api/factors/{fid}", headers=h, json={"name": other["name"]})
    assert taken.status_code == 409

    assert (await client.delete(f"/api/factors/{fid}", headers=h)).status_code == 200
    gone = await client.get(f"/api/factors/{fid}", headers=h)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "FACTOR_NOT_FOUND"

    no_source = await client.post(
        "/api/factors", headers=h, json={"name": _name(), "kind": "python"}
    )
    assert no_source.status_code == 422
    bad_name = await _create(client, h, name="1abc")
    assert bad_name.status_code == 422


async def test_validation_on_save(client: Any, researcher: Any, dataset_factory: Any) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)

    async def rejected(error_code: str, **body: Any) -> dict[str, Any]:
        resp = await _create(client, h, **body)
        assert resp.status_code == 422, resp.text
        err = resp.json()["error"]
        assert err["code"] == error_code, err
        return dict(err["details"])

    syntax = await rejected("INVALID_EXPRESSION", expression="Mean($close, 5) +")
    assert syntax["kind"] == "syntax" and syntax["position"] == 17
    op = await rejected("INVALID_EXPRESSION", expression="Meen($close, 5)")
    assert op["kind"] == "unknown_operator" and op["position"] == 0
    window = await rejected("INVALID_EXPRESSION", expression="Mean($close, -3)")
    assert window["kind"] == "bad_window"
    ahead = await rejected("INVALID_EXPRESSION", expression="Ref($close, -5) / $close")
    assert ahead["kind"] == "lookahead" and ahead["position"] == 0
    # fields are checked against the dataset only when one is named
    field = await rejected("INVALID_EXPRESSION", expression="$close / $eps", dataset_id=ds)
    assert field["kind"] == "unknown_field" and field["position"] == 9
    assert (await _create(client, h, expression="$close / $eps")).status_code == 201
    broken = await rejected(
        "INVALID_FACTOR_CODE", kind="python", expression=None, code="factor = (close"
    )
    assert broken["line"] == 1
    python = await _create(client, h, kind="python", expression=None, code="factor = close / open")
    assert python.status_code == 201 and python.json()["data"]["lookback"] is None


async def test_references_expand_map_positions_and_reject_cycles(
    client: Any, researcher: Any
) -> None:
    h = researcher.headers
    base, top = _name("base"), _name("top")
    b = (await _create(client, h, name=base, expression="Mean($close, 5)")).json()["data"]
    resp = await _create(client, h, name=top, expression=f"$${base} / Ref($${base}, 2)")
    assert resp.status_code == 201, resp.text
    t = resp.json()["data"]
    assert t["dependencies"] == [base] and t["lookback"] == 6

    check = await client.post(
        "/api/factors/validate", headers=h, json={"expression": f"$${top} - $close"}
    )
    data = check.json()["data"]
    assert data["dependencies"] == [top] and data["fields"] == ["close"]
    assert data["expanded"] == "((Mean($close, 5)) / Ref((Mean($close, 5)), 2)) - $close"

    # an error after a reference is reported at its place in the text the user wrote
    text = f"$${base} + $close + Meen($close, 2)"
    err = await client.post("/api/factors/validate", headers=h, json={"expression": text})
    assert err.status_code == 422
    assert err.json()["error"]["details"]["position"] == text.index("Meen")

    unknown = await _create(client, h, expression="$$nobody + 1")
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "FACTOR_DEPENDENCY_ERROR"
    assert unknown.json()["error"]["details"]["name"] == "nobody"

    # base -> top -> base would be a cycle
    cycle = await client.patch(
        f"/api/factors/{b['id']}", headers=h, json={"expression": f"$${top} * 2"}
    )
    assert cycle.status_code == 422, cycle.text
    assert cycle.json()["error"]["code"] == "FACTOR_DEPENDENCY_ERROR"
    assert cycle.json()["error"]["details"]["cycle"] == [base, top, base]
    selfref = await client.patch(
        f"/api/factors/{b['id']}", headers=h, json={"expression": f"$${base} + 1"}
    )
    assert selfref.json()["error"]["details"]["cycle"] == [base, base]

    py = (await _create(client, h, kind="python", expression=None, code="factor = close")).json()
    via_py = await _create(client, h, expression=f"$${py['data']['name']} + 1")
    assert via_py.json()["error"]["code"] == "FACTOR_DEPENDENCY_ERROR"

    in_use = await client.delete(f"/api/factors/{b['id']}", headers=h)
    assert in_use.status_code == 409 and in_use.json()["error"]["details"]["dependents"] == [top]
    renamed = await client.patch(f"/api/factors/{b['id']}", headers=h, json={"name": _name()})
    assert renamed.status_code == 409 and renamed.json()["error"]["code"] == "FACTOR_IN_USE"


async def test_ownership_publish_clone_and_favourites(
    client: Any, researcher: Any, make_user: Any
) -> None:
    alice, bob = researcher, await make_user()
    base, top = _name("base"), _name("top")
    await _create(client, alice.headers, name=base, expression="Std($close, 10)")
    fid = await _create(client, alice.headers, name=top, expression=f"$${base} / $close")
    fid = fid.json()["data"]["id"]
    await assert_no_idor(
        client,
        alice.headers,
        bob.headers,
        read=f"/api/factors/{fid}",
        update=("PATCH", f"/api/factors/{fid}", {"description": "stolen"}),
        delete=f"/api/factors/{fid}",
        missing=f"/api/factors/{'0' * 32}",
    )
    for path in ("publish", "clone", "favourite"):
        method = "PUT" if path == "favourite" else "POST"
        resp = await client.request(method, f"/api/factors/{fid}/{path}", headers=bob.headers)
        assert resp.status_code == 404, (path, resp.text)

    published = await client.post(f"/api/factors/{fid}/publish", headers=alice.headers)
    assert published.status_code == 200 and published.json()["data"]["is_public"] is True
    seen = await client.get(f"/api/factors/{fid}", headers=bob.headers)
    assert seen.status_code == 200
    public = (await client.get("/api/factors?scope=public&size=200", headers=bob.headers)).json()
    assert fid in [f["id"] for f in public["data"]]
    for method, body in (("PATCH", {"description": "x"}), ("DELETE", None)):
        resp = await client.request(method, f"/api/factors/{fid}", headers=bob.headers, json=body)
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "FORBIDDEN"

    clone = await client.post(f"/api/factors/{fid}/clone", headers=bob.headers, json={})
    assert clone.status_code == 201, clone.text
    copy = clone.json()["data"]
    assert copy["owner_id"] == bob.id and copy["cloned_from"] == fid
    assert copy["is_public"] is False and copy["dependencies"] == []
    assert copy["expression"] == "(Std($close, 10)) / $close"  # alice's $$base expanded
    again = await client.post(f"/api/factors/{fid}/clone", headers=bob.headers, json={})
    assert again.status_code == 409
    renamed = await client.post(
        f"/api/factors/{fid}/clone", headers=bob.headers, json={"name": _name("mine")}
    )
    assert renamed.status_code == 201

    fav = await client.put(f"/api/factors/{fid}/favourite", headers=bob.headers)
    assert fav.status_code == 200 and fav.json()["data"]["is_favourite"] is True
    assert (await client.put(f"/api/factors/{fid}/favourite", headers=bob.headers)).is_success
    favs = (await client.get("/api/factors?favourites=true", headers=bob.headers)).json()
    assert [f["id"] for f in favs["data"]] == [fid] and favs["data"][0]["is_favourite"]
    mine = (await client.get(f"/api/factors/{fid}", headers=alice.headers)).json()["data"]
    assert mine["is_favourite"] is False  # favourites are per user
    await client.delete(f"/api/factors/{fid}/favourite", headers=bob.headers)
    favs = (await client.get("/api/factors?favourites=true", headers=bob.headers)).json()
    assert favs["data"] == []

    viewer = await make_user("viewer")
    denied = await _create(client, viewer.headers)
    assert denied.status_code == 403


async def test_usage_counts_and_recently_used(
    client: Any, researcher: Any, make_user: Any, dataset_factory: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    first = (await _create(client, h)).json()["data"]
    second = (await _create(client, h, expression="$close / Ref($close, 1) - 1")).json()["data"]
    for fid in (first["id"], second["id"], first["id"]):
        body = {"dataset_id": ds, "factor_id": fid, "symbols": ["S0"], "limit": 3}
        resp = await client.post("/api/indicators/compute", headers=h, json=body)
        assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["rows"][0]["value"] == pytest.approx(1.0)
    got = (await client.get(f"/api/factors/{first['id']}", headers=h)).json()["data"]
    assert got["usage_count"] == 2 and got["last_used_at"] is not None
    recent = (await client.get("/api/factors/recent", headers=h)).json()["data"]
    assert [(r["id"], r["my_uses"]) for r in recent] == [(first["id"], 2), (second["id"], 1)]
    stranger = await make_user()
    assert (await client.get("/api/factors/recent", headers=stranger.headers)).json()["data"] == []

    py = (await _create(client, h, kind="python", expression=None, code="factor = close")).json()
    body = {"dataset_id": ds, "factor_id": py["data"]["id"]}
    resp = await client.post("/api/indicators/compute", headers=h, json=body)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "COMPUTE_NOT_SUPPORTED"
