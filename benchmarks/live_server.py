"""A real ``quantlab serve`` for the API benchmarks: fresh data dir, demo dataset seeded,
rate limits out of the way, signed in as the bootstrap administrator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_server() -> Iterator[tuple[Any, str]]:
    """``(client, demo dataset id)``: an ``httpx.Client`` signed in to a fresh server."""
    import httpx

    data_dir = Path(tempfile.mkdtemp(prefix="quantlab-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "QUANTLAB_DATA_DIR": str(data_dir),
        "QUANTLAB_PORT": str(port),
        "QUANTLAB_LOG_LEVEL": "WARNING",
        "QUANTLAB_SEED_DEMO": "true",
        "QUANTLAB_RATE_LIMITS": json.dumps({"default": "100000/minute"}),
    }
    quantlab = Path(sys.executable).with_name("quantlab")
    server = subprocess.Popen(
        [str(quantlab), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            while True:
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise SystemExit("quantlab serve exited during start-up")
                time.sleep(0.05)
            creds = dict(
                line.split(": ", 1)
                for line in (data_dir / "bootstrap-admin.txt").read_text().splitlines()
            )
            tokens = client.post("/api/auth/token", data=creds).json()
            client.headers["Authorization"] = f"Bearer {tokens.get('data', tokens)['access_token']}"
            datasets = client.get("/api/datasets").json()["data"]
            demo = next(d for d in datasets if "demo" in (d.get("tags") or []))
            yield client, demo["id"]
    finally:
        server.terminate()
        server.wait(30)
