"""Issue 18's journey in a real browser: a dual-MA strategy built on an empty canvas by
dragging blocks from the palette and connecting their ports (no expression typed), quick-
tested, saved, its two windows optimised on a 2 x 2 grid, the best applied, the full backtest
run from the strategy page; its metrics equal an API run of the same spec; a small ridge model
run's predictions back-tested as a scores strategy from the model's page. axe on each page.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.browser import painted
from tests.web.test_browser import QBOT, Journey

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

# the blocks in columns, left to right in data-flow order, a block's widest apart; the output
# block is first dragged to the top right, and the two rows stay clear of the minimap (bottom
# right) and the controls (bottom left)
COLUMNS = [["field"], ["op.Mean", "op.Mean"], ["op.Cross", "op.CrossDown"],
           ["signal.entry", "signal.exit"]]  # fmt: skip
ROWS = {1: [170], 2: [40, 290]}
NODE_MAX_WIDTH = 260  # BlockNode's maxWidth (CSS pixels)
# (source type, index, target type, index, target port); every source port is "out"
EDGES = [
    ("field", 0, "op.Mean", 0, "x"),
    ("field", 0, "op.Mean", 1, "x"),
    ("op.Mean", 0, "op.Cross", 0, "x"),
    ("op.Mean", 1, "op.Cross", 0, "y"),
    ("op.Mean", 0, "op.CrossDown", 0, "x"),
    ("op.Mean", 1, "op.CrossDown", 0, "y"),
    ("op.Cross", 0, "signal.entry", 0, "when"),
    ("op.CrossDown", 0, "signal.exit", 0, "when"),
    ("signal.entry", 0, "strategy", 0, "entry"),
    ("signal.exit", 0, "strategy", 0, "exit"),
]


def _api(base: str, password: str) -> httpx.Client:
    token = httpx.post(f"{base}/api/auth/token", data={"username": "admin", "password": password})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=base, headers=headers, timeout=60)


def _wait_backtest(api: httpx.Client, backtest_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/api/backtests/{backtest_id}").json()["data"]
        if body["status"] in ("completed", "failed", "cancelled"):
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.5)


def _model_run(api: httpx.Client) -> str:
    """A ridge model run on the imported dataset (a few seconds): its id."""
    datasets = api.get("/api/datasets").json()["data"]
    body = {
        "name": "ridge journey",
        "dataset_id": datasets[0]["id"],
        "features": ["$close / Ref($close, 5)", "$volume / Mean($volume, 10)"],
        "segments": {
            "train": ["2017-01-03", "2018-12-28"],
            "valid": ["2019-01-02", "2019-06-28"],
            "test": ["2019-07-01", "2019-12-31"],
        },
        "processors": [{"name": "DropnaLabel"}, {"name": "Fillna"}],
        "model": "ridge",
        "backtest": {"topk": 2, "n_drop": 1},
    }
    resp = api.post("/api/models", json=body)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["data"]["id"])


def _wait_model(api: httpx.Client, run_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/api/models/{run_id}").json()["data"]
        if body["status"] in ("completed", "failed", "cancelled"):
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.5)


def _import(j: Journey, realdata: Path) -> None:
    from playwright.sync_api import expect

    page = j.page
    files = sorted((realdata / QBOT).glob("*.csv"))[:3]
    j.nav("/datasets/import")
    page.locator("input[type=file]").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_test_id("mapping-preview")).to_contain_text("000001.SZ")
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_text("导入完成")).to_be_visible(timeout=180_000)


def _node(page: Any, kind: str, index: int) -> Any:
    return page.locator(f"[data-testid=builder-node][data-type='{kind}']").nth(index)


def _settled_box(page: Any, handle: Any) -> dict[str, float]:
    """The handle's box once it stops moving: a block widens when live validation marks it,
    which moves its output handles a moment after each edit."""
    last = None
    for _ in range(40):
        box = handle.bounding_box()
        if box is not None and box == last:
            return dict(box)
        last = box
        page.wait_for_timeout(250)
    raise AssertionError(f"handle still moving: {last}")


def build_dual_ma(j: Journey) -> None:
    """Drag seven blocks in, connect ten edges, set the fast window: a valid graph."""
    from playwright.sync_api import expect

    page = j.page
    j.nav("/builder")
    page.get_by_role("button", name="新建空白草稿").click()
    nodes = page.get_by_test_id("builder-node")
    expect(nodes).to_have_count(1)  # the strategy output
    expect(page.get_by_test_id("validation")).not_to_have_text("…")
    canvas = page.get_by_test_id("canvas")
    search = page.get_by_label("搜索积木")
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 850, box
    for _ in range(3):
        page.locator(".react-flow__controls-zoomout").click()
    transform = page.locator(".react-flow__viewport").get_attribute("style") or ""
    zoom = float(re.search(r"scale\(([0-9.]+)\)", transform).group(1))  # type: ignore[union-attr]
    step = (NODE_MAX_WIDTH + 20) * zoom  # a block grows to its max width while it has issues
    output = _node(page, "strategy", 0)
    start = output.bounding_box()
    assert start is not None
    page.mouse.move(start["x"] + 12, start["y"] + 8)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - step, box["y"] + 48, steps=12)
    page.mouse.up()
    x, count = 10.0, 1
    for column in COLUMNS:
        for kind, y in zip(column, ROWS[len(column)], strict=True):
            search.fill(kind)
            page.locator(f"[data-testid=palette-item][data-type='{kind}']").drag_to(
                canvas, target_position={"x": x, "y": y}
            )
            count += 1
            expect(nodes).to_have_count(count)
        x += step
    page.screenshot(path=str(j.shots / "layout.png"))
    right = output.bounding_box()
    assert right is not None and x < right["x"] - box["x"], (x, right)
    search.fill("")
    for n, (src, i, dst, k, port) in enumerate(EDGES):
        a = _settled_box(page, _node(page, src, i).locator(".react-flow__handle.source"))
        b = _settled_box(
            page, _node(page, dst, k).locator(f".react-flow__handle.target[data-handleid={port}]")
        )
        page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
        page.mouse.down()
        page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=8)
        page.mouse.up()
        try:
            expect(page.locator(".react-flow__edge")).to_have_count(n + 1)
        except AssertionError:
            page.screenshot(path=str(j.shots / f"edge-{n}.png"))
            raise
    expect(page.get_by_test_id("refused")).to_have_count(0)
    # the fast mean: window 5 typed into its property form (the slow one keeps 20)
    _node(page, "op.Mean", 0).click(position={"x": 30, "y": 10})
    window = page.get_by_test_id("properties").get_by_label("window")
    window.fill("5")
    window.press("Tab")
    expect(_node(page, "op.Mean", 0)).to_contain_text("window = 5")
    expect(page.get_by_test_id("validation")).to_have_text("校验通过")
    expect(page.get_by_test_id("save-state")).to_have_text("已保存")
    j.check("builder-built")


@pytest.mark.timeout(1500)
def test_dual_ma_from_the_canvas_to_a_backtest(
    server: Any, browser: Any, realdata: Path, tmp_path_factory: Any
) -> None:
    from playwright.sync_api import expect

    base, password = server
    shots = tmp_path_factory.mktemp("builder-journey")
    context = browser.new_context(viewport={"width": 1920, "height": 1100}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    j = Journey(page, base, shots)
    j.go("/")
    page.locator("#username").fill("admin")
    page.locator("#password").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="总览")).to_be_visible()
    _import(j, Path(realdata))
    api = _api(base, password)
    model_id = _model_run(api)  # trains while the strategy is built

    build_dual_ma(j)
    # a snapshot of the finished graph
    page.get_by_role("tab", name="快照").click()
    page.get_by_label("备注（可选）").fill("two means")
    page.get_by_role("button", name="创建快照").click()
    expect(page.get_by_test_id("snapshot")).to_have_count(1)
    expect(page.get_by_test_id("snapshot")).to_contain_text("two means")
    j.check("builder-snapshots")
    page.get_by_role("tab", name="快速测试").click()
    page.get_by_test_id("quick-test").get_by_role("button", name="快速测试").click()
    result = page.get_by_test_id("quick-test-result")
    expect(result).to_contain_text("sharpe_ratio", timeout=180_000)
    page.wait_for_timeout(300)
    assert painted(page, "[data-testid=quick-test-result] [data-chart]")["painted"] > 2_000
    j.check("builder-quick-test")
    page.get_by_role("button", name="保存为策略").click()
    expect(page.get_by_role("link", name="策略 v1")).to_be_visible()
    strategy_id = page.get_by_role("link", name="策略 v1").get_attribute("href").rsplit("/", 1)[1]
    schema = api.get(f"/api/strategies/{strategy_id}").json()["data"]["param_schema"]
    fast, slow = (p["name"] for p in schema)  # the two windows, in canvas order

    # --- optimise the two windows on a 2 x 2 grid, apply the best ---------------------------
    j.nav("/studies")
    page.get_by_test_id("new-study").get_by_text("已保存策略").click()
    page.get_by_label("要优化的策略").click()
    page.get_by_title("未命名").click()
    ranges = page.get_by_test_id("study-ranges")
    expect(ranges.locator(".ant-table-row")).to_have_count(2)
    for name, values in ((fast, ("5", "10", "5")), (slow, ("20", "30", "10"))):
        for label, value in zip(("最小值", "最大值", "步长"), values, strict=True):
            page.get_by_label(f"{name} {label}", exact=True).fill(value)
    expect(page.get_by_test_id("grid-size")).to_have_text("共 4 种组合")
    j.check("builder-study-new")
    page.get_by_role("button", name="开始优化").click()
    expect(page.get_by_test_id("study-progress")).to_contain_text("completed", timeout=300_000)
    expect(page.get_by_test_id("study-trials").locator(".ant-table-row")).to_have_count(4)
    study_id = page.url.rsplit("/", 1)[1]
    trials = api.get(f"/api/studies/{study_id}/trials?size=10&sort=objective&order=desc")
    best = trials.json()["data"][0]["params"]
    page.get_by_role("button", name="应用最优参数").click()
    applied = page.get_by_test_id("applied")
    expect(applied).to_contain_text("v2")
    j.check("builder-study")
    current = api.get(f"/api/strategies/{strategy_id}").json()["data"]["body"]["parameters"]
    assert {k: current[k] for k in best} == pytest.approx(best)

    # --- the full backtest of the applied version, from the strategy page -------------------
    applied.get_by_role("link", name="v2").click()
    page.get_by_role("button", name="开始回测").click()
    page.wait_for_url("**/backtests/*")
    backtest_id = page.url.rsplit("/", 1)[1]
    ui_run = _wait_backtest(api, backtest_id)
    assert ui_run["status"] == "completed", ui_run
    expect(page.get_by_test_id("results")).to_be_visible(timeout=60_000)
    j.check("builder-backtest")
    started = api.post("/api/backtests", json=ui_run["request"])
    assert started.status_code == 202, started.text
    api_run = _wait_backtest(api, started.json()["data"]["id"])
    assert api_run["status"] == "completed", api_run
    assert api_run["metrics"]["trade_count"] > 0
    numbers = {k: v for k, v in ui_run["metrics"].items() if isinstance(v, int | float)}
    assert numbers and set(api_run["metrics"]) == set(ui_run["metrics"])
    for name, value in numbers.items():
        assert api_run["metrics"][name] == pytest.approx(value, rel=1e-12, abs=1e-12), name

    # --- the parallel coordinates of the study, the models page, a schedule edited in place
    j.nav(f"/studies/{study_id}")
    expect(page.get_by_test_id("study-parallel").locator("[data-chart]")).to_be_visible()
    page.wait_for_timeout(300)
    assert painted(page, "[data-testid=study-parallel] [data-chart]")["painted"] > 1_000
    # a full backtest of the worst trial from its row: the run trades exactly that trial
    worst = trials.json()["data"][-1]
    page.get_by_role("button", name=f"回测试验 {worst['number']}").click()
    page.wait_for_url("**/backtests/*")
    trial_run = _wait_backtest(api, page.url.rsplit("/", 1)[1])
    assert trial_run["status"] == "completed", trial_run
    assert trial_run["metrics"]["sharpe_ratio"] == pytest.approx(
        worst["metrics"]["sharpe_ratio"], rel=1e-9
    )
    expect(page.get_by_test_id("results")).to_be_visible(timeout=60_000)
    assert _wait_model(api, model_id)["status"] == "completed"
    j.nav("/models")
    expect(page.get_by_role("heading", name="模型", exact=True)).to_be_visible()
    expect(page.get_by_test_id("new-model-run")).to_be_visible()
    expect(page.get_by_test_id("model-runs")).to_contain_text("ridge journey")
    j.check("models")
    # --- the run's predictions as a scores strategy: the form starts from the run's top-k,
    # the API's refusal is shown, then the backtest runs and trades the predictions
    j.nav(f"/models/{model_id}")
    card = page.get_by_test_id("model-scores-backtest")
    expect(card.get_by_label("持仓数 Top k")).to_have_value("2")
    expect(card.get_by_label("每次调仓卖出数")).to_have_value("1")
    j.check("model-scores-backtest")
    card.get_by_label("每次调仓卖出数").fill("3")
    card.get_by_role("button", name="开始回测").click()
    expect(card.get_by_role("alert")).to_contain_text("n_drop cannot exceed top_k")
    card.get_by_label("每次调仓卖出数").fill("1")
    card.get_by_role("button", name="开始回测").click()
    page.wait_for_url("**/backtests/*")
    scores_run = _wait_backtest(api, page.url.rsplit("/", 1)[1])
    assert scores_run["status"] == "completed", scores_run
    strategy = scores_run["request"]["strategy"]
    assert strategy["score"] == {"model_run_id": model_id}
    assert (strategy["top_k"], strategy["n_drop"]) == (2, 1)
    assert scores_run["request"]["start"] == "2019-07-01"
    assert scores_run["metrics"]["trade_count"] > 0
    expect(page.get_by_test_id("results")).to_be_visible(timeout=60_000)
    body = {"name": "nightly noop", "job_type": "system.noop", "cron": "0 2 * * 1-5",
            "timezone": "Asia/Shanghai", "enabled": True, "params": {}}  # fmt: skip
    assert api.post("/api/tasks/schedules", json=body).status_code == 201
    j.nav("/tasks/schedules")
    schedules = page.get_by_test_id("schedules")
    expect(schedules).to_contain_text("0 2 * * 1-5")
    schedules.get_by_role("button", name="编辑").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Cron 表达式").fill("30 3 * * 1-5")
    j.check("schedule-edit")
    dialog.get_by_role("button", name="保存").click()
    expect(schedules).to_contain_text("30 3 * * 1-5")
    expect(page.get_by_role("dialog")).to_have_count(0)
    context.close()
    api.close()
    print(f"\nscreenshots: {shots}")
    for name, found in j.violations.items():
        print(f"axe on {name}: {found}")
    assert not j.violations, sorted(j.violations)
