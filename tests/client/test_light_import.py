"""The client imports without the server's heavy dependencies, and every endpoint it calls
and every field it reads exists in the live server's OpenAPI document."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import httpx

from quantlab.client import Client, endpoints, models
from tests.client.conftest import LiveServer, dual_ma_spec

HEAVY = ("fastapi", "sqlalchemy", "numba", "alembic", "starlette", "pandas", "numpy")


def test_client_and_cli_import_without_server_dependencies() -> None:
    code = (
        "import sys\n"
        "import quantlab.client\n"
        "from quantlab.client import Client, AsyncClient, QuantlabAPIError\n"
        "import quantlab.client.cli, quantlab.cli\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "", f"imported at start: {out.stdout.strip()}"


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _data_properties(spec: dict[str, Any], endpoint: endpoints.Endpoint) -> set[str] | None:
    """Properties of the ``data`` object an endpoint's 2xx answer declares (None: untyped)."""
    operation = spec["paths"][endpoint.path][endpoint.method.lower()]
    for status, response in operation["responses"].items():
        if not status.startswith("2"):
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        data = _resolve(spec, schema).get("properties", {}).get("data")
        if data is None:
            return None
        data = _resolve(spec, data)
        if data.get("type") == "array":
            data = _resolve(spec, data["items"])
        return set(data.get("properties", {})) or None
    return None


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)} - {"raw"}


def test_endpoints_and_models_match_the_live_openapi_document(live: LiveServer) -> None:
    spec = httpx.get(f"{live.url}/openapi.json", timeout=30).json()
    missing = [
        f"{e.method} {e.path}"
        for e in endpoints.ALL
        if e.method.lower() not in spec["paths"].get(e.path, {})
    ]
    assert missing == [], missing
    assert len(endpoints.ALL) >= 30

    # a typed answer must declare every field the client's model reads
    for cls, endpoint in [(models.Job, endpoints.TASK), (models.JobLog, endpoints.TASK_LOGS)]:
        declared = _data_properties(spec, endpoint)
        assert declared is not None, f"{endpoint.path} is expected to be typed"
        assert _fields(cls) <= declared, (cls.__name__, _fields(cls) - declared)

    # and every model field must be present in a live object (typed or not yet)
    with Client(live.url, username="admin", password=live.password) as client:
        dataset_id = live.demo_dataset_id()
        dataset = client.get_dataset(dataset_id)
        assert _fields(models.Dataset) <= set(dataset.raw), _fields(models.Dataset) - set(
            dataset.raw
        )
        run = client.run_backtest(dual_ma_spec(dataset_id, ["000000.SZ"], "2022-06-01"))
        run.wait(progress=False, timeout=300)
        backtest = client.get_backtest(run.id)
        assert _fields(models.Backtest) <= set(backtest.raw), _fields(models.Backtest) - set(
            backtest.raw
        )
        job = client.get_task(run.job_id)
        assert _fields(models.Job) <= set(job.raw)
        for cls, endpoint in [
            (models.Dataset, endpoints.DATASET),
            (models.Backtest, endpoints.BACKTEST),
            (models.FactorEvaluation, endpoints.EVALUATION),
        ]:
            declared = _data_properties(spec, endpoint)
            if declared is not None:  # typed on this server: the model must fit it
                assert _fields(cls) <= declared, (cls.__name__, _fields(cls) - declared)
