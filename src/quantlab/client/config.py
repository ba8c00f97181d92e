"""Where the client finds its server and token: arguments, environment, then the config file.

The file (``client.json`` under ``$XDG_CONFIG_HOME/quantlab``, default ``~/.config/quantlab``;
``QUANTLAB_CLIENT_CONFIG`` names another) is written by ``quantlab login`` with mode 0600 in a
0700 directory, since it holds a secret. ``QUANTLAB_SERVER_URL`` and ``QUANTLAB_TOKEN``
override what it says.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ENV_URL = "QUANTLAB_SERVER_URL"
ENV_TOKEN = "QUANTLAB_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_CONFIG = "QUANTLAB_CLIENT_CONFIG"
DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Profile:
    """A server and the credential to use there."""

    url: str
    token: str | None = None


def config_path() -> Path:
    """The config file's path (it need not exist)."""
    explicit = os.environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "quantlab" / "client.json"


def load_profile(url: str | None = None, token: str | None = None) -> Profile:
    """Arguments first, then the environment, then the config file, then the default URL."""
    stored: dict[str, str] = {}
    path = config_path()
    if path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        if isinstance(raw, dict):
            stored = {k: v for k, v in raw.items() if isinstance(v, str)}
    resolved_url = url or os.environ.get(ENV_URL) or stored.get("url") or DEFAULT_URL
    resolved_token = token or os.environ.get(ENV_TOKEN)
    if resolved_token is None and stored.get("url", "").rstrip("/") == resolved_url.rstrip("/"):
        resolved_token = stored.get("token")  # a stored token only goes to its own server
    return Profile(url=resolved_url.rstrip("/"), token=resolved_token)


def save_profile(profile: Profile) -> Path:
    """Write the profile to the config file, readable by its owner only."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"url": profile.url, "token": profile.token}, fh)
    os.chmod(tmp, 0o600)  # an existing temp file keeps its old mode through O_CREAT
    os.replace(tmp, path)
    return path
