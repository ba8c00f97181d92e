"""Schemathesis over the whole API: the OpenAPI document must match what the server does.

Every operation of ``/openapi.json`` is fuzzed against a real server (``live_server``) with
schemathesis' default checks (no 5xx, status codes, content types, headers and bodies as
documented, schema-valid data accepted, invalid data rejected, unsupported methods answered
405 with a correct ``Allow``). Each generated request is sent twice: by ``owner`` (who owns
the objects the path names, for half of the valid cases) and by ``other`` (who must get the
same kind of documented answer, never another user's data or a 5xx).

The run is bounded (``FUZZ_EXAMPLES`` cases per operation; 10.5 min measured on a
2-core machine under a load average of ~20);
``QUANTLAB_FUZZ_EXAMPLES`` raises it for a deeper local run.
"""

from __future__ import annotations

import os
import random
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import LiveServer

FUZZ_EXAMPLES = int(os.environ.get("QUANTLAB_FUZZ_EXAMPLES", "3"))

# Path parameters that name the owner's objects; ``item_id`` depends on the collection.
_ITEM = {"/api/charts/configs/": "config_id", "/api/charts/annotations/": "annotation_id"}


def _document() -> dict[str, Any]:
    """The document the live server serves (same code): built here so that operations are
    collected as separate tests (schemathesis' fixture-based loader does not run on pytest 9).
    """
    import tempfile
    from pathlib import Path

    from quantlab.api.app import create_app
    from tests.conftest import make_settings

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(Path(tmp), f"sqlite+aiosqlite:///{tmp}/q.db"))
        return app.openapi()


schema = schemathesis.openapi.from_dict(_document())
# NUL characters are refused in every input by design (422 before any handler runs, see
# quantlab.platform.input_guard); the document cannot say so for every string field.
schema.config.generation.update(allow_x00=False)


def _owned(case: Any, live_server: LiveServer) -> None:
    """Point the path at the owner's real objects in half of the schema-valid cases."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not case.path_parameters:
        return
    if random.Random(repr((case.path, case.query, case.body))).random() < 0.5:
        return
    objects = live_server.owner.objects
    for name in list(case.path_parameters):
        key = name
        if name == "item_id":
            key = next((v for k, v in _ITEM.items() if case.path.startswith(k)), name)
        if key in objects and not (name == "name" and "feature-sets" in case.path):
            case.path_parameters[name] = objects[key]


# Operations whose valid inputs JSON Schema cannot describe: schema-valid text may still be
# refused (422/400) by a parser the schema cannot contain. For these only the "schema-valid
# request accepted" check is left out; every other check (no 5xx, documented statuses and
# bodies, invalid data rejected, methods) still runs.
_GRAMMAR = {
    # the factor expression language / Python source of a factor
    "POST /api/factors": "expression or code syntax",
    "PATCH /api/factors/{factor_id}": "expression or code syntax",
    "POST /api/factors/validate": "expression syntax",
    "POST /api/factors/evaluate": "expression syntax",
    "POST /api/indicators/compute": "expression syntax; indicator parameters per indicator",
    "POST /api/security/execute": "Python syntax",
    # job parameters are the job type's own schema (GET /api/tasks/types); cron field values
    "POST /api/tasks": "params per job type",
    "POST /api/tasks/schedules": "params per job type; cron field ranges",
    "PATCH /api/tasks/schedules/{schedule_id}": "params per job type; cron field ranges",
    # file contents and the JSON text of import options
    "POST /api/imports": "file contents",
    "POST /api/imports/inspect": "file contents",
    # steps compare two values (lower < upper) and name the dataset's columns
    "POST /api/preprocessing/preview": "cross-field rules, column names",
    "POST /api/preprocessing/execute": "cross-field rules, column names",
    "POST /api/preprocessing/templates": "cross-field rules",
    "PUT /api/preprocessing/templates/{template_id}": "cross-field rules",
}
_GRAMMAR.update(
    {
        # run specs: expressions in the factor language, Python code, dates inside the data
        "POST /api/backtests": "expression or code syntax; dates and symbols of the data",
        "POST /api/backtests/{backtest_id}/rerun": "the stored run's data may have changed",
        # strategy bodies are run specs checked structurally (expressions, exit paths, stops)
        "POST /api/strategies": "run-spec body: expressions and structural checks",
        "POST /api/strategies/validate": "run-spec body: expressions and structural checks",
        "PATCH /api/strategies/{strategy_id}": "run-spec body and parameter constraints",
        "POST /api/strategy-templates/{template_id}/use": "parameter ranges, steps, fast < slow",
        "POST /api/strategies/{strategy_id}/runs": "parameter constraints; dates of the data",
        # model runs: segments inside the data, a label that reads the future
        "POST /api/models": "segments within the data; label and feature expressions",
        # universe files: their contents
        "POST /api/datasets/{dataset_id}/universes": "file contents",
        # studies: exactly one of strategy, template or spec; ranges inside the strategy's
        # bounds and consistent (min <= max); two different parameters for a heat map
        "POST /api/studies": "one source; ranges within the strategy's bounds",
        "GET /api/studies/{study_id}/heatmap": "two different parameters of the study",
        "GET /api/studies/{study_id}/sensitivity": "a parameter of the study",
        # symbols must be in the dataset's version
        "GET /api/datasets/{dataset_id}/preview": "symbols of the data",
        # a model run's predictions become a factor once the run has completed
        "POST /api/models/{run_id}/factor": "the run must have completed",
        # builder graphs: node types, ports, parameter ranges and saved factors per block
        **{
            f"POST /api/builder/{op}": "graph: block types, ports, parameters, saved factors"
            for op in (
                "validate",
                "compile",
                "python",
                "from-spec",
                "qlib-yaml",
                "describe",
                "preview",
                "drafts",
            )
        },
        "PUT /api/builder/drafts/{draft_id}": "graph and the draft's current version",
        "POST /api/builder/drafts/{draft_id}/quick-test": "the draft's graph; dates of the data",
        "POST /api/builder/drafts/{draft_id}/save": "the draft's graph must compile",
    }
)


def _excluded(case: Any) -> list[Any]:
    label = f"{case.method} {case.operation.path}"
    if label in _GRAMMAR:
        return [positive_data_acceptance]
    return []


# Jobs the fuzzer queues run on the server's one worker; keep each one short (the values stay
# inside the documented ranges, so a valid case stays valid).
_JOB_LIMITS = {"seconds": 0.05, "steps": 3, "step_seconds": 0.01}


def _bounded(case: Any) -> None:
    """Shorten the built-in jobs a valid ``POST /api/tasks`` (or schedule) would queue."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    params = case.body.get("params")
    if case.method == "POST" and case.path.startswith("/api/tasks") and isinstance(params, dict):
        for key, cap in _JOB_LIMITS.items():
            value = params.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > cap:
                params[key] = type(value)(cap) if isinstance(value, float) else int(cap)


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_openapi_document(case: Any, live_server: LiveServer) -> None:
    _owned(case, live_server)
    _bounded(case)
    for account in (live_server.owner, live_server.other):
        case.call_and_validate(
            base_url=live_server.base_url,
            headers=account.headers,
            excluded_checks=_excluded(case),
            timeout=120,
        )
