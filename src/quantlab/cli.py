"""The ``quantlab`` command line: serve, database migrations, users, workers, demo data, and
the client verbs (login, datasets, factors, backtest, tasks) from :mod:`quantlab.client.cli`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from quantlab.client import cli as client_cli

if TYPE_CHECKING:
    from quantlab.platform.settings import Settings

# Nothing heavy is imported here: ``quantlab --help`` and the client verbs must not pay for
# FastAPI, SQLAlchemy, Alembic or numba. Each command imports what it runs.


def get_settings() -> Settings:
    """The server settings (imported on first use)."""
    from quantlab.platform.settings import get_settings as _get_settings

    return _get_settings()


app = typer.Typer(help="quantlab: quant-research platform backend.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
client_cli.register(app)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default QUANTLAB_HOST)."),
    port: int | None = typer.Option(None, help="Port (default QUANTLAB_PORT)."),
    workers: int | None = typer.Option(None, help="Worker processes (default QUANTLAB_WORKERS)."),
    migrate_first: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Apply migrations first."
    ),
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    from quantlab.platform import migrate

    settings = get_settings()
    settings.check_production()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate_first:
        migrate.upgrade(settings.db_url)
    uvicorn.run(
        "quantlab.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker(
    concurrency: int | None = typer.Option(
        None, help="Jobs run at once by this worker (default QUANTLAB_JOB_WORKERS or CPU count)."
    ),
    loglevel: str = typer.Option("INFO", help="Celery log level."),
) -> None:
    """Run a Celery worker for QUANTLAB_JOB_RUNNER=celery (same settings as the server)."""
    from quantlab.platform.jobs.celery_runner import worker_main

    settings = get_settings()
    settings.check_production()
    size = concurrency or settings.job_workers or settings.max_running_jobs
    worker_main(settings, size, loglevel)


@app.command()
def demo(
    force: bool = typer.Option(False, help="Install another copy even if one exists."),
) -> None:
    """Install the clearly labelled synthetic demo dataset (public, owned by the first admin)."""
    import asyncio

    from quantlab.datasets.demo import install_demo
    from quantlab.platform import migrate
    from quantlab.platform.db import Database

    settings = get_settings()
    migrate.upgrade(settings.db_url)

    async def _run() -> str | None:
        database = Database(settings.db_url)
        try:
            return await install_demo(database.sessionmaker, settings.data_dir, force=force)
        finally:
            await database.dispose()

    dataset_id = asyncio.run(_run())
    if dataset_id is None:
        typer.echo(
            "no administrator exists yet: start the server once (it creates one) or run "
            "'quantlab user create --role admin', then run 'quantlab demo' again",
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(f"demo dataset: {dataset_id}")


@user_app.command("create")
def user_create(
    username: str = typer.Argument(..., help="Login name (3-64 of a-z 0-9 . _ -)."),
    role: str = typer.Option("researcher", help="admin, researcher or viewer."),
    email: str | None = typer.Option(None, help="Optional email (also a login)."),
    display_name: str = typer.Option("", help="Shown in the interface."),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the password from stdin (never from the command line).",
    ),
) -> None:
    """Create an account; without --password-stdin a one-time password is printed once."""
    import asyncio
    import sys

    from quantlab.auth import cli as auth_cli

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        user, generated = asyncio.run(
            auth_cli.create_user(get_settings(), username, role, email, display_name, password)
        )
    except Exception as exc:  # a QuantlabError carries a user-facing message
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created {user.role} {user.username} ({user.id})")
    if generated:
        typer.echo(f"one-time password (change it at first sign-in): {generated}")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from quantlab.platform import migrate

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.db_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument(..., help="Target revision, e.g. -1 or base."),
) -> None:
    """Revert migrations down to REVISION."""
    from quantlab.platform import migrate

    migrate.downgrade(get_settings().db_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's current revision."""
    from quantlab.platform import migrate

    migrate.current(get_settings().db_url)


@db_app.command("heads")
def db_heads() -> None:
    """Show the migration heads (there must be exactly one)."""
    from quantlab.platform import migrate

    for head in migrate.heads():
        typer.echo(head)


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m", help="What the migration does.")) -> None:
    """Autogenerate a migration from the models (database must be at head)."""
    from quantlab.platform import migrate

    migrate.revision(get_settings().db_url, message)


if __name__ == "__main__":
    app()
