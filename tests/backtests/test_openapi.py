"""Every backtest route declares its response shape in /openapi.json (a client is
generated from it): no JSON success response without a schema or with an untyped body."""

from __future__ import annotations

from typing import Any


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


async def test_every_backtest_route_has_a_typed_response(client: Any) -> None:
    doc = (await client.get("/openapi.json")).json()
    checked = 0
    for path, item in doc["paths"].items():
        if not path.startswith("/api/backtests"):
            continue
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for code, response in op["responses"].items():
                if not code.startswith("2") or code == "204":
                    continue
                content = response.get("content", {})
                json_body = content.get("application/json", {}).get("schema", {})
                if "application/json" not in content or json_body.get("format") == "binary":
                    # a file download (the JSON report is one of its formats)
                    assert path.endswith("/export/{fmt}"), (method, path, code)
                    continue
                schema = _resolve(doc, json_body)
                assert schema.get("properties"), (method, path, code, schema)
                data = schema["properties"].get("data")
                assert data, (method, path, "no data member")
                data = _resolve(doc, data)
                if data.get("type") == "array":
                    data = _resolve(doc, data["items"])
                typed = data.get("properties") or data.get("additionalProperties")
                assert typed or data.get("anyOf"), (method, path, data)
                checked += 1
    assert checked == 16
