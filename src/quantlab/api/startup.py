"""Start-up hooks run inside the app lifespan, in order (e.g. seed data, job runner)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

StartupHook = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def startup_hooks() -> list[StartupHook]:
    """The hooks of every domain, in the order they must run."""
    from quantlab.auth.bootstrap import auth_startup
    from quantlab.datasets.demo import demo_startup
    from quantlab.platform.cache import cache_startup
    from quantlab.platform.ratelimit import ratelimit_startup
    from quantlab.platform.runtime import freeze_startup_objects
    from quantlab.sandbox.startup import sandbox_startup
    from quantlab.strategies.gallery import strategies_startup
    from quantlab.tasks.startup import jobs_startup

    return [
        cache_startup,
        ratelimit_startup,
        auth_startup,
        demo_startup,
        strategies_startup,
        jobs_startup,
        sandbox_startup,
        freeze_startup_objects,  # last: everything alive now is long-lived
    ]
