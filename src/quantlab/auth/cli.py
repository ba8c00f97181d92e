"""What ``quantlab user create`` runs (kept here so the CLI module stays thin)."""

from __future__ import annotations

from quantlab.auth import service as auth_service
from quantlab.auth.models import User
from quantlab.auth.passwords import generate_password
from quantlab.platform import migrate
from quantlab.platform.db import Database
from quantlab.platform.settings import Settings


async def create_user(
    settings: Settings,
    username: str,
    role: str,
    email: str | None,
    display_name: str,
    password: str | None,
) -> tuple[User, str | None]:
    """Create an account on a migrated database; returns it and the generated password."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate.upgrade_async(settings.db_url)
    generated = None if password else generate_password()
    db = Database(settings.db_url)
    try:
        async with db.sessionmaker() as session:
            user = await auth_service.create_user(
                session,
                settings,
                username=username,
                password=password or generated or "",
                email=email,
                display_name=display_name,
                role=role,
                must_change_password=generated is not None,
                action="user.create.cli",
            )
    finally:
        await db.dispose()
    return user, generated
