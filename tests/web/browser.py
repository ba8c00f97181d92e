"""Helpers of the browser tests: Debian's chromium through Playwright, axe-core, pixels."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = Path("/usr/bin/chromium")

# Sums non-background pixels of every canvas under ``root`` (read back from the GPU buffer):
# a chart that drew nothing is all white or transparent.
PAINTED_PIXELS_JS = """
(root) => {
  let painted = 0, colored = 0;
  for (const c of root.querySelectorAll('canvas')) {
    if (!c.width || !c.height) continue;
    const copy = document.createElement('canvas');
    copy.width = c.width; copy.height = c.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(c, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
      if (a > 0 && !(r > 245 && g > 245 && b > 245)) painted++;
      if (a > 0 && Math.abs(r - g) > 60) colored++;
    }
  }
  return {painted, colored};
}
"""

# True once no finite CSS transition or animation is running (spinners loop for ever and
# do not count).
SETTLED_JS = """
() => document.getAnimations().every(
  a => a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity)
"""


def start_server(data_dir: Path, port: int, timeout: float = 300) -> subprocess.Popen[bytes]:
    """``quantlab serve`` on ``port`` with its own data dir (SQLite), once it answers.

    Like tests/platform/test_restart.py, with a longer wait: on a loaded machine the first
    start (migrations, sandbox probe, numba imports) can pass 90 s.
    """
    env = {
        **os.environ,
        "QUANTLAB_DATA_DIR": str(data_dir),
        "QUANTLAB_PORT": str(port),
        "QUANTLAB_HOST": "127.0.0.1",
        "QUANTLAB_ENV": "development",
        "QUANTLAB_LOG_LEVEL": "WARNING",
        "QUANTLAB_SEED_DEMO": "false",
        "QUANTLAB_SANDBOX_PREWARM": "false",
    }
    for name in ("QUANTLAB_DATABASE_URL", "QUANTLAB_REDIS_URL", "QUANTLAB_SECRET_KEY"):
        env.pop(name, None)
    log = open(data_dir / f"server-{port}.log", "wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("quantlab")), "serve", "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=data_dir,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"server did not answer within {timeout:.0f} s: {log.name}")


def chromium_path() -> str:
    """Debian's chromium; the tests never download a browser."""
    found = shutil.which("chromium") or (str(CHROMIUM) if CHROMIUM.exists() else None)
    if found is None:
        raise AssertionError(
            "chromium is not installed: `make test` installs it (apt-get install chromium)"
        )
    return found


def painted(page: Any, selector: str) -> dict[str, int]:
    """Painted and coloured pixel counts of the canvases under ``selector``."""
    return page.locator(selector).first.evaluate(PAINTED_PIXELS_JS)


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core violations of impact serious or critical on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    # judge colours at rest: a button just enabled is still fading from its disabled grey
    page.wait_for_function(SETTLED_JS, timeout=15_000)
    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
