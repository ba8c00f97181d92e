"""Start-up wiring of the auth domain and the first-start administrator.

With no account in the database, start-up creates ``admin`` with a random password,
prints it once on stderr and writes it to ``<data_dir>/bootstrap-admin.txt`` (mode 0600).
Several workers starting together race safely: the unique username lets one win.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from quantlab.auth import service as auth_service
from quantlab.auth.exceptions import AccountExists
from quantlab.auth.passwords import generate_password
from quantlab.auth.throttle import LoginThrottle
from quantlab.auth.tokens import TokenCodec
from quantlab.platform.logging import get_logger

log = get_logger("quantlab.auth")

BOOTSTRAP_FILE = "bootstrap-admin.txt"
BOOTSTRAP_USERNAME = "admin"


def write_secret_file(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 (never widening an existing file's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


async def ensure_bootstrap_admin(app: Any) -> str | None:
    """Create the first admin when there are no users; returns its password, else None."""
    settings = app.state.settings
    async with app.state.db.sessionmaker() as session:
        try:
            if await auth_service.count_users(session) > 0:
                return None
        except (DBAPIError, OSError) as exc:  # not migrated, or the database is down:
            # start anyway so /api/ready can say what is wrong
            log.warning("bootstrap_admin_skipped", reason=type(exc).__name__)
            return None
        password = generate_password(24)
        try:
            user = await auth_service.create_user(
                session,
                settings,
                username=BOOTSTRAP_USERNAME,
                password=password,
                display_name="Administrator",
                role="admin",
                action="user.bootstrap_admin",
            )
        except AccountExists:  # another worker created it first
            return None
    path = settings.data_dir / BOOTSTRAP_FILE
    write_secret_file(path, f"username: {user.username}\npassword: {password}\n")
    # Printed once, on the console only: the structured log never carries it.
    print(
        f"\nquantlab: created the first administrator\n  username: {user.username}\n"
        f"  password: {password}\n  (also in {path}, mode 0600; delete it after signing in)\n",
        file=sys.stderr,
        flush=True,
    )
    log.info("bootstrap_admin_created", username=user.username, password_file=str(path))
    return password


@asynccontextmanager
async def auth_startup(app: Any) -> AsyncIterator[None]:
    """Start-up hook: token codec, sign-in throttle, first administrator."""
    settings = app.state.settings
    app.state.token_codec = TokenCodec(settings)
    app.state.token_codec.kid  # noqa: B018 - load the keys now: fail at start, not at sign-in
    app.state.login_throttle = LoginThrottle(app.state.limiter.storage, settings)
    if settings.bootstrap_admin:
        await ensure_bootstrap_admin(app)
    yield


def read_bootstrap_password(data_dir: Path) -> str:
    """The password in the bootstrap file (for scripts and tests)."""
    text = (data_dir / BOOTSTRAP_FILE).read_text()
    return text.split("password:", 1)[1].strip().splitlines()[0]
