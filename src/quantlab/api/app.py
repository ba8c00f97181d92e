"""The application factory: middleware, error handlers, routers and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from quantlab import __version__
from quantlab.api.routes import include_routers
from quantlab.platform.db import Database
from quantlab.platform.handlers import install_error_handlers
from quantlab.platform.logging import configure_logging, get_logger
from quantlab.platform.middleware import RequestContextMiddleware
from quantlab.platform.settings import Settings, get_settings
from quantlab.webui import mount_webui

log = get_logger("quantlab.app")

UPLOAD_PREFIXES = ("/api/imports",)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build a quantlab application for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    settings.check_production()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            settings.secret()  # creates the development secret on first start
            app.state.db = Database(settings.db_url, settings.db_pool_size)
            stack.push_async_callback(app.state.db.dispose)
            app.state.redis = None
            if settings.redis_url:
                from redis.asyncio import Redis

                app.state.redis = Redis.from_url(settings.redis_url)
                stack.push_async_callback(app.state.redis.aclose)
            from quantlab.api.startup import startup_hooks

            for hook in startup_hooks():
                await stack.enter_async_context(hook(app))
            log.info(
                "started",
                version=__version__,
                env=settings.env,
                db=app.state.db.engine.dialect.name,
            )
            yield
            log.info("stopping")

    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(
        title="quantlab",
        version=__version__,
        description="Quant-research platform API: data, factors, backtests, jobs, sandbox.",
        lifespan=lifespan,
        debug=settings.debug,
    )
    app.state.settings = settings
    app.state.extra_readiness_checks = {}
    install_error_handlers(app)
    include_routers(app)
    mount_webui(app)  # the SPA fallback answers only what no route matched
    app.add_middleware(
        RequestContextMiddleware,
        max_json_bytes=settings.max_json_body_bytes,
        # a batch holds up to import_max_files files of max_upload_bytes each
        max_upload_bytes=settings.max_upload_bytes * settings.import_max_files + (1 << 20),
        upload_prefixes=UPLOAD_PREFIXES,
        max_json_depth=settings.max_json_depth,
        body_timeout_s=settings.body_read_timeout_seconds,
    )
    return app
