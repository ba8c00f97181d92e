"""Builder canvas performance in Debian's chromium: frames per second while panning a
200-node graph (issue 18's floor: above 30 fps), read from the page's animation frames and
the browser's performance timeline (long tasks) during the pan.

    .venv/bin/python benchmarks/web_builder.py            # starts its own `quantlab serve`
    .venv/bin/python benchmarks/web_builder.py --url http://127.0.0.1:8000 --data-dir var/data

The graph is 10 rows of a price field feeding a chain of 19 one-input blocks (200 nodes,
190 edges), saved as a draft through the API and opened at /builder/{id}.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# counts animation frames and long tasks until window.__panStop() is called
RECORD_JS = """
() => {
  const frames = [];
  const long = [];
  let on = true;
  const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => long.push(e.duration)));
  obs.observe({ type: 'longtask', buffered: false });
  const tick = (t) => { if (!on) return; frames.push(t); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  window.__panStop = () => { on = false; obs.disconnect(); return { frames, long }; };
}
"""


def graph_200(catalog: dict[str, Any]) -> dict[str, Any]:
    """200 nodes: per row a data block and a chain of 19 blocks with one series input."""
    types = catalog["node_types"]
    source = next(t for t in types if t["category"] == "data" and not t["inputs"] and t["outputs"])
    chain = next(
        t
        for t in types
        if len(t["inputs"]) == 1
        and t["inputs"][0]["type"] == "series"
        and [o["type"] for o in t["outputs"]] == ["series"]
    )
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    out_src, out_chain = source["outputs"][0]["name"], chain["outputs"][0]["name"]
    for row in range(10):
        prev = f"r{row}_0"
        nodes.append({"id": prev, "type": source["type"], "position": {"x": 0, "y": row * 150}})
        for col in range(1, 20):
            nid = f"r{row}_{col}"
            nodes.append(
                {"id": nid, "type": chain["type"], "position": {"x": col * 240, "y": row * 150}}
            )
            edges.append(
                {
                    "id": f"e{row}_{col}",
                    "source": prev,
                    "source_port": out_src if col == 1 else out_chain,
                    "target": nid,
                    "target_port": chain["inputs"][0]["name"],
                }
            )
            prev = nid
    return {"name": "bench 200", "nodes": nodes, "edges": edges}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", help="a running server (default: start one on a free port)")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default=os.environ.get("QUANTLAB_BENCH_PASSWORD"))
    ap.add_argument("--data-dir", type=Path, help="read the bootstrap admin password here")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each pan")
    args = ap.parse_args()
    server = None
    if args.url is None:
        import tempfile

        from tests.platform.test_restart import _free_port
        from tests.web.browser import start_server

        args.data_dir = Path(tempfile.mkdtemp(prefix="quantlab-builder-bench-"))
        port = _free_port()
        server = start_server(args.data_dir, port)
        args.url = f"http://127.0.0.1:{port}"
    try:
        return measure(args)
    finally:
        if server is not None:
            import signal

            from tests.platform.test_restart import _stop

            _stop(server, signal.SIGTERM)


def measure(args: argparse.Namespace) -> int:
    if args.password is None and args.data_dir:
        from quantlab.auth.bootstrap import read_bootstrap_password

        args.password = read_bootstrap_password(args.data_dir)
    assert args.password, "give --password or --data-dir"
    token = httpx.post(
        f"{args.url}/api/auth/token", data={"username": args.user, "password": args.password}
    ).json()["access_token"]
    c = httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    catalog = c.get("/api/builder/catalog").json()["data"]
    resp = c.post("/api/builder/drafts", json={"name": "bench 200", "graph": graph_200(catalog)})
    assert resp.status_code == 201, resp.text
    draft = resp.json()["data"]["id"]

    from playwright.sync_api import sync_playwright
    from tests.web.browser import chromium_path

    out: dict[str, Any] = {"nodes": 200, "edges": 190}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        pg = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        pg.goto(args.url + "/")
        pg.locator("#username").fill(args.user)
        pg.locator("#password").fill(args.password)
        pg.locator("button[type=submit]").click()
        pg.wait_for_selector("main h2")
        pg.evaluate(
            "p => { history.pushState({}, '', p); dispatchEvent(new PopStateEvent('popstate')); }",
            f"/builder/{draft}",
        )
        pg.wait_for_selector("[data-testid=builder-node]", timeout=60_000)
        pg.wait_for_timeout(1000)
        out["nodes_drawn"] = pg.locator("[data-testid=builder-node]").count()
        box = pg.get_by_test_id("canvas").bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        fps, worst, longs = [], [], []
        for run in range(args.runs):
            pg.mouse.move(cx, cy)
            pg.mouse.down()
            pg.evaluate(RECORD_JS)
            steps = int(args.seconds * 60)
            for i in range(steps):
                dx = 200 * ((i % 120) / 60 - 1) * (1 if run % 2 == 0 else -1)
                pg.mouse.move(cx + dx, cy + dx / 3)
            pg.mouse.up()
            rec = pg.evaluate("window.__panStop()")
            frames = rec["frames"]
            span = (frames[-1] - frames[0]) / 1000 if len(frames) > 1 else 0
            gaps = [b - a for a, b in itertools.pairwise(frames)]
            fps.append((len(frames) - 1) / span if span else 0.0)
            worst.append(max(gaps) if gaps else 0.0)
            longs.append(len(rec["long"]))
        out["pan_fps_median"] = round(statistics.median(fps), 1)
        out["pan_fps_runs"] = [round(f, 1) for f in fps]
        out["worst_frame_ms"] = [round(w, 1) for w in worst]
        out["long_tasks_per_pan"] = longs
        browser.close()
    out["target"] = {"pan_fps": 30}
    out["load_average"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
