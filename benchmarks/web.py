"""Web workbench performance against a running server (`make run`), in Debian's chromium.

    .venv/bin/python benchmarks/web.py --url http://127.0.0.1:8000 --data-dir var/data
    .venv/bin/python benchmarks/web.py            # starts its own `quantlab serve` (temp data dir)

Targets (issue 17): first-page JS <= 350 KB gzip; loopback first contentful paint < 1 s;
a 2,520-bar K-line with two indicator panes drawn < 300 ms after its data arrive; the
results page of a 500-symbol run interactive < 1.5 s. Also timed, with no floor in the issue:
the preprocessing editor's live preview (a step added -> histogram drawn) on the K-line
dataset and the compare page of two runs (navigation -> overlay drawn). The data come from
../shared/realdata (QUANTLAB_REALDATA): one Qbot A-share CSV for the K-line, the S&P 500
5-year set (505 symbols, imported 10 files per job) for the 500-symbol run (``--skip-500``
leaves it out).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("QUANTLAB_REALDATA", ROOT.parent / "shared" / "realdata"))
sys.path.insert(0, str(ROOT))


def sign_in(url: str, user: str, password: str) -> dict[str, Any]:
    resp = httpx.post(f"{url}/api/auth/token", data={"username": user, "password": password})
    resp.raise_for_status()
    return resp.json()


def wait_import(c: httpx.Client, record: dict[str, Any]) -> dict[str, Any]:
    while True:
        r = c.get(f"/api/imports/{record['id']}").json()["data"]
        if r["status"] in ("completed", "failed"):
            assert r["status"] == "completed", r
            return r
        time.sleep(1)


def import_files(c: httpx.Client, files: list[Path], name: str) -> str:
    dataset_id = None
    for i in range(0, len(files), 10):
        batch = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files[i : i + 10]]
        form = {"dataset_id": dataset_id} if dataset_id else {"dataset_name": name}
        r = c.post("/api/imports", files=batch, data=form)
        assert r.status_code == 202, r.text
        dataset_id = wait_import(c, r.json()["data"])["dataset_id"]
    assert dataset_id
    return dataset_id


def run_backtest(c: httpx.Client, dataset_id: str, strategy: dict[str, Any] | None = None) -> str:
    body = {
        "dataset_id": dataset_id,
        "preset": "us_equity",
        "strategy": strategy
        or {"kind": "scores", "score": "Mean($close, 5) / $close", "top_k": 50},
    }
    r = c.post("/api/backtests", json=body)
    assert r.status_code == 202, r.text
    bid = r.json()["data"]["id"]
    while c.get(f"/api/backtests/{bid}").json()["data"]["status"] not in ("completed", "failed"):
        time.sleep(2)
    return bid


def spa_goto(page: Any, path: str) -> None:
    """Client-side navigation (as a link does): a reload would refresh the token, and
    sign-in and refresh share a limit of 10 a minute per address."""
    page.evaluate(
        "p => { history.pushState({}, '', p); dispatchEvent(new PopStateEvent('popstate')); }",
        path,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", help="a running server (default: start one on a free port)")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default=os.environ.get("QUANTLAB_BENCH_PASSWORD"))
    ap.add_argument("--data-dir", type=Path, help="read the bootstrap admin password here")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-500", action="store_true")
    args = ap.parse_args()
    server = None
    if args.url is None:
        import signal
        import tempfile

        from tests.platform.test_restart import _free_port, _stop
        from tests.web.browser import start_server

        args.data_dir = Path(tempfile.mkdtemp(prefix="quantlab-web-bench-"))
        port = _free_port()
        server = start_server(args.data_dir, port)
        args.url = f"http://127.0.0.1:{port}"
    try:
        return measure(args)
    finally:
        if server is not None:
            _stop(server, signal.SIGTERM)


def measure(args: argparse.Namespace) -> int:
    if args.password is None and args.data_dir:
        from quantlab.auth.bootstrap import read_bootstrap_password

        args.password = read_bootstrap_password(args.data_dir)
    assert args.password, "give --password or --data-dir"
    tokens = sign_in(args.url, args.user, args.password)
    c = httpx.Client(
        base_url=args.url,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=600,
    )

    from playwright.sync_api import sync_playwright
    from tests.web.browser import chromium_path

    out: dict[str, Any] = {"load_average_start": os.getloadavg()}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])

        # 1. first page: every script the sign-in page loads, gzip -6 as a server would send
        page = browser.new_page()
        scripts: list[str] = []
        page.on("response", lambda r: r.request.resource_type == "script" and scripts.append(r.url))
        page.goto(args.url + "/", wait_until="networkidle")
        size = sum(len(gzip.compress(httpx.get(u).content, 6)) for u in scripts)
        out["first_page_js_gzip_kb"] = round(size / 1024, 1)
        out["first_page_scripts"] = len(scripts)
        page.close()

        # 2. first contentful paint on loopback, fresh context (cold cache) each time
        fcps = []
        for _ in range(args.runs):
            ctx = browser.new_context()
            pg = ctx.new_page()
            pg.goto(args.url + "/", wait_until="load")
            pg.wait_for_function(
                "performance.getEntriesByName('first-contentful-paint').length > 0"
            )
            fcps.append(
                pg.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
            )
            ctx.close()
        out["fcp_ms_median"] = round(statistics.median(fcps), 1)

        # signed-in context: the session keeps the refresh token in sessionStorage
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        pg = ctx.new_page()
        pg.goto(args.url + "/")
        pg.locator("#username").fill(args.user)
        pg.locator("#password").fill(args.password)
        pg.locator("button[type=submit]").click()
        pg.wait_for_selector("main h2")

        # 3. K-line: 2,527 bars of 000001.SZ with MACD and RSI panes (plus MA and BOLL)
        csv = REALDATA / "cn/qbot_tushare_qfq_2010_2020/000001.SZ.csv"
        ds = import_files(c, [csv], f"bench-kline-{int(time.time())}")
        draws = []
        for _ in range(args.runs):
            spa_goto(pg, "/")  # in-app, so the chart mounts afresh without a token refresh
            pg.wait_for_selector("main h2")
            spa_goto(pg, f"/datasets/{ds}/chart")
            pg.wait_for_selector("[data-testid=kline][data-drawn='1']", timeout=60_000)
            draws.append(pg.evaluate("window.__klineDrawMs"))
        out["kline_draw_ms_median"] = round(statistics.median(draws), 1)

        # 3b. preprocessing editor: the default step's preview, then one more step's preview
        previews = []
        for _ in range(args.runs):
            spa_goto(pg, f"/datasets/{ds}")
            pg.get_by_role("tab", name="预处理").or_(
                pg.get_by_role("tab", name="Preprocessing")
            ).click()
            pg.wait_for_selector(
                "[data-testid=preprocess-preview] [data-chart] canvas", timeout=60_000
            )
            t0 = time.perf_counter()
            pg.get_by_test_id("pipeline-step").first.get_by_role("button").click()  # remove it
            pg.wait_for_selector("[data-testid=preprocess-preview] [data-chart]", state="detached")
            pg.locator("[aria-label='添加步骤'], [aria-label='Add a step']").first.click()
            pg.keyboard.type("zscore")
            pg.keyboard.press("Enter")
            pg.wait_for_selector(
                "[data-testid=preprocess-preview] [data-chart] canvas", timeout=60_000
            )
            previews.append((time.perf_counter() - t0) * 1000)
        out["preprocess_preview_ms_median"] = round(statistics.median(previews), 1)
        out["preprocess_preview_note"] = "includes the editor's 400 ms debounce"

        # 3c. compare page of two runs on the K-line dataset
        cross = "Cross(Mean($close,{0}), Mean($close,{1}))"
        runs = [
            run_backtest(
                c,
                ds,
                {
                    "kind": "signals",
                    "entry": cross.format(fast, slow),
                    "exit": cross.format(fast, slow).replace("Cross(", "CrossDown("),
                },
            )
            for fast, slow in ((5, 20), (10, 60))
        ]
        compares = []
        for _ in range(args.runs):
            spa_goto(pg, "/")
            pg.wait_for_selector("[data-chart], main h2")
            t0 = time.perf_counter()
            spa_goto(pg, f"/backtests/compare?ids={','.join(runs)}")
            pg.wait_for_selector("[data-testid=compare-metrics] .ant-table-row", timeout=60_000)
            pg.wait_for_selector("[data-chart] canvas", timeout=60_000)
            compares.append((time.perf_counter() - t0) * 1000)
        out["compare_2_runs_ms_median"] = round(statistics.median(compares), 1)

        # 4. results page of a 500-symbol run: navigation -> tabs and equity chart drawn
        if not args.skip_500:
            files = sorted((REALDATA / "us/sp500_5yr").glob("*.csv"))
            ds500 = import_files(c, files, f"bench-sp500-{int(time.time())}")
            bid = run_backtest(c, ds500)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                pg.goto(f"{args.url}/backtests/{bid}")
                pg.wait_for_selector("[data-testid=results] [data-chart] canvas", timeout=60_000)
                pg.wait_for_function("document.readyState === 'complete'")
                times.append((time.perf_counter() - t0) * 1000)
            out["results_500_symbols"] = len(files)
            out["results_interactive_ms_median"] = round(statistics.median(times), 1)
        browser.close()

    out["targets"] = {
        "first_page_js_gzip_kb": 350,
        "fcp_ms": 1000,
        "kline_draw_ms": 300,
        "results_interactive_ms": 1500,
    }
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
