"""Schemathesis over the whole API: the OpenAPI document must match what the server does.

Every operation of ``/openapi.json`` is fuzzed against a real server (``live_server``) with
schemathesis' default checks (no 5xx, status codes, content types, headers and bodies as
documented, schema-valid data accepted, invalid data rejected, unsupported methods answered
405 with a correct ``Allow``). Each generated request is sent twice: by ``owner`` (who owns
the objects the path names, for half of the valid cases) and by ``other`` (who must get the
same kind of documented answer, never another user's data or a 5xx).

The run is bounded (``FUZZ_EXAMPLES`` cases per operation, about two minutes on two cores);
``QUANTLAB_FUZZ_EXAMPLES`` raises it for a deeper local run.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.api.conftest import LiveServer

FUZZ_EXAMPLES = int(os.environ.get("QUANTLAB_FUZZ_EXAMPLES", "8"))

# Path parameters that name the owner's objects; ``item_id`` depends on the collection.
_ITEM = {"/api/charts/configs/": "config_id", "/api/charts/annotations/": "annotation_id"}


@pytest.fixture(scope="session")
def api_schema(live_server: LiveServer) -> Any:
    # generous timeouts: the machine may be shared by several test runs
    return schemathesis.openapi.from_url(f"{live_server.base_url}/openapi.json", timeout=120)


schema = schemathesis.pytest.from_fixture("api_schema")


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


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_openapi_document(case: Any, live_server: LiveServer) -> None:
    _owned(case, live_server)
    for account in (live_server.owner, live_server.other):
        case.call_and_validate(
            base_url=live_server.base_url, headers=account.headers, timeout=120
        )
