"""The research loop in a real browser: a `quantlab serve` subprocess, Debian's chromium
headless through Playwright, real CSVs from ../shared/realdata, axe-core on every page.

Screenshots of each page go to the pytest temp dir (printed at the end of the test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.browser import painted, serious_violations

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

QBOT = "cn/qbot_tushare_qfq_2010_2020"
SECOND_PASSWORD = "second-researcher-Pw-2026!"
SLOW_STRATEGY = """import time
time.sleep(8)
prev = np.roll(close, 20, axis=0)
entries = close > prev
exits = close < prev
"""


class Journey:
    """A signed-in page plus the screenshot folder and the accessibility record."""

    def __init__(self, page: Any, base: str, shots: Path) -> None:
        self.page, self.base, self.shots = page, base, shots
        self.violations: dict[str, list[dict[str, Any]]] = {}

    def check(self, name: str) -> None:
        """Screenshot the page and record its serious/critical axe violations."""
        self.page.mouse.move(0, 0)  # judge the page at rest, not the control last hovered
        # ... and not a select's dropdown still fading out after its choice (its listbox)
        self.page.wait_for_function(
            "() => !document.querySelector('.ant-select-dropdown:not(.ant-select-dropdown-hidden)')"
        )
        self.page.screenshot(
            path=str(self.shots / f"{len(list(self.shots.iterdir())):02d}-{name}.png"),
            full_page=True,
        )
        found = serious_violations(self.page)
        if found:
            self.violations[name] = found

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def nav(self, path: str) -> None:
        """Client-side navigation, as a link does: no reload, so no token refresh (sign-in
        and refresh share a rate limit of 10 a minute per address)."""
        self.page.evaluate(
            "p => { history.pushState({}, '', p); dispatchEvent(new PopStateEvent('popstate')); }",
            path,
        )


def builder_and_studies(j: Journey) -> None:
    """A template opened on the builder canvas (nodes drawn, validation OK, a preview, a
    refused edge, a block dragged in and undone), quick-tested and saved as a strategy; a
    2 x 2 grid study of the same template with its trials table and heat map."""
    from playwright.sync_api import expect

    page = j.page
    j.nav("/builder")
    expect(page.get_by_role("heading", name="策略构建器")).to_be_visible()
    page.get_by_label("模板").click()
    page.get_by_title("双均线交叉").click()
    page.get_by_role("button", name="以图形打开").click()
    nodes = page.get_by_test_id("builder-node")
    expect(nodes.first).to_be_visible()
    assert nodes.count() >= 5, nodes.count()  # price, two means, two crosses, ... the output
    expect(page.locator("[data-testid=builder-node][data-type=strategy]")).to_have_count(1)
    expect(page.get_by_test_id("validation")).to_have_text("校验通过")
    expect(page.locator("[data-testid=builder-node][data-state=error]")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).not_to_have_count(0)
    expect(page.get_by_test_id("save-state")).to_have_text("已保存")
    page.get_by_role("tab", name="说明").click()
    expect(page.get_by_test_id("graph-description")).not_to_have_text("…")
    # a block's preview on the data: NaN share and its chart
    page.locator("[data-testid=builder-node][data-type='op.Mean']").first.click()
    page.get_by_test_id("properties").get_by_role("button", name="预览").click()
    expect(page.get_by_test_id("node-preview")).to_contain_text("缺失值比例")
    # an incompatible port refuses the edge and says why (a series cannot be an order)
    page.locator(
        "[data-testid=builder-node][data-type=field] .react-flow__handle.source"
    ).first.drag_to(
        page.locator("[data-testid=builder-node][data-type=strategy] [data-handleid=entry]")
    )
    expect(page.get_by_test_id("refused")).to_contain_text("order")
    # a block dragged from the palette lands on the canvas; undo takes it back
    count = nodes.count()
    page.get_by_label("搜索积木").fill("常数")
    page.locator("[data-testid=palette-item][data-type=const]").drag_to(
        page.get_by_test_id("canvas")
    )
    expect(nodes).to_have_count(count + 1)
    page.get_by_role("button", name="撤销").click()
    expect(nodes).to_have_count(count)
    expect(page.get_by_test_id("validation")).to_have_text("校验通过")
    j.check("builder")
    page.get_by_role("tab", name="快速测试").click()
    quick = page.get_by_test_id("quick-test")
    quick.get_by_role("button", name="快速测试").click()
    result = page.get_by_test_id("quick-test-result")
    expect(result).to_contain_text("sharpe_ratio", timeout=180_000)
    expect(page.get_by_test_id("quick-test-status")).to_contain_text("completed")
    page.wait_for_timeout(300)
    curve = painted(page, "[data-testid=quick-test-result] [data-chart]")
    assert curve["painted"] > 2_000, curve
    j.check("builder-quick-test")
    page.get_by_role("button", name="保存为策略").click()
    expect(page.get_by_role("link", name="策略 v1")).to_be_visible()

    j.nav("/studies")
    expect(page.get_by_role("heading", name="参数优化")).to_be_visible()
    # the template's two windows on a 2 x 2 grid
    page.get_by_label("要优化的策略").click()
    page.get_by_title("双均线交叉").click()
    for label, value in (
        ("fast 最小值", "5"),
        ("fast 最大值", "10"),
        ("fast 步长", "5"),
        ("slow 最小值", "20"),
        ("slow 最大值", "30"),
        ("slow 步长", "10"),
    ):
        page.get_by_label(label, exact=True).fill(value)
    expect(page.get_by_test_id("grid-size")).to_have_text("共 4 种组合")
    j.check("study-new")
    page.get_by_role("button", name="开始优化").click()
    expect(page.get_by_test_id("study-progress")).to_contain_text("completed", timeout=300_000)
    expect(page.get_by_test_id("study-trials").locator(".ant-table-row")).to_have_count(4)
    heat = page.get_by_test_id("study-heatmap")
    expect(heat.locator("[data-chart]")).to_be_visible()
    page.wait_for_timeout(300)
    pixels = painted(page, "[data-testid=study-heatmap] [data-chart]")
    assert pixels["painted"] > 2_000, pixels
    expect(page.get_by_test_id("study-report")).to_be_visible()
    j.check("study")


@pytest.mark.timeout(1500)  # one journey through every page, on a shared 2-core machine
def test_research_loop_in_the_browser(server, browser, realdata: Path, tmp_path_factory) -> None:
    base, password = server
    shots = tmp_path_factory.mktemp("screenshots")
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    j = Journey(page, base, shots)
    from playwright.sync_api import expect

    # Argon2 sign-in and first page loads share a 2-core machine with the rest of the suite
    expect.set_options(timeout=30_000)

    # --- sign in (OAuth2 password flow) -------------------------------------------------
    j.go("/")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    j.check("login")
    page.locator("#password").fill("wrong password")
    page.locator("#username").fill("admin")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("password")  # the API's own message
    page.locator("#password").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="总览")).to_be_visible()
    j.check("dashboard")

    # --- import real CSVs through the wizard ----------------------------------------------
    files = sorted((realdata / QBOT).glob("*.csv"))[:5]
    j.go("/datasets/import")
    page.locator("input[type=file]").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_text("utf-8")).to_be_visible()
    j.check("import-inspect")
    page.get_by_role("button", name="下一步").click()
    preview = page.get_by_test_id("mapping-preview")
    expect(preview).to_contain_text("000001.SZ")
    expect(preview).to_contain_text("20100104")
    j.check("import-mapping")
    page.get_by_role("button", name="下一步").click()
    # the validation step: "no problems", or the table of what inspection found
    expect(page.get_by_text("未发现问题").or_(page.locator(".ant-table")).first).to_be_visible()
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_text("导入完成")).to_be_visible(timeout=180_000)
    expect(page.get_by_text("000001.SZ.csv: 2527 rows")).to_be_visible()
    j.check("import-done")
    page.get_by_role("button", name="打开数据集").click()
    expect(page.get_by_text("12611")).to_be_visible()
    dataset_path = page.url.removeprefix(base)  # /datasets/{id}
    j.check("dataset")

    # --- K-line: the canvas is painted ---------------------------------------------------
    page.get_by_role("button", name="图表").click()
    kline = page.locator("[data-testid=kline][data-drawn='1']")
    expect(kline).to_be_visible(timeout=60_000)
    pixels = painted(page, "[data-testid=kline]")
    assert pixels["painted"] > 20_000 and pixels["colored"] > 2_000, pixels
    expect(page.get_by_text("2527 根 K 线")).to_be_visible()
    j.check("kline")

    # --- factor lab: live validation at the error's position, evaluation, IC charts -------
    j.go("/factors")
    editor = page.locator("[data-testid=factor-editor] .cm-content")
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("Mean($close, 5) / $closx")
    validation = page.get_by_test_id("validation")
    expect(validation).to_contain_text("closx")
    expect(validation).to_contain_text("@ 18")
    expect(page.locator(".cm-lintRange-error")).to_have_count(1)
    page.keyboard.press("Control+A")
    page.keyboard.type("Mean($close, 5) / $close - 1")
    expect(validation).to_contain_text("表达式有效")
    page.get_by_role("button", name="评估").click()
    charts = page.get_by_test_id("ic-charts")
    expect(charts).to_be_visible(timeout=180_000)
    page.wait_for_timeout(500)
    ic = painted(page, "[data-chart='IC / Rank IC']")
    assert ic["painted"] > 5_000, ic
    cum = painted(page, "[data-chart='累计 IC']")
    assert cum["painted"] > 2_000, cum
    j.check("factor-lab")

    # --- backtest: form from the schema; beginner mode hides the advanced groups ---------
    j.go("/backtests/new")
    expect(page.get_by_role("button", name="开始回测")).to_be_visible()
    # new accounts start as beginners
    page.get_by_test_id("mode-switch").get_by_text("专家").click()
    expect(page.get_by_test_id("advanced")).to_be_visible()
    page.get_by_test_id("mode-switch").get_by_text("新手").click()
    expect(page.get_by_test_id("advanced")).to_have_count(0)
    expect(page.get_by_text("A strategy spec plus its run configuration")).to_be_visible()
    j.check("backtest-form-beginner")
    page.get_by_test_id("mode-switch").get_by_text("专家").click()
    expect(page.get_by_test_id("advanced")).to_be_visible()
    j.check("backtest-form-expert")
    # a code strategy whose model takes a few seconds (it runs in the sandbox), so the pause
    # below lands while the run is live; it takes effect at the first simulated chunk
    page.get_by_label("Strategy kind").click()
    page.get_by_title("code", exact=True).click()
    page.get_by_label("Code", exact=True).fill(SLOW_STRATEGY)
    page.get_by_role("button", name="开始回测").click()

    # --- live monitor over the WebSocket: pause and resume once, progress reaches 100 % ---
    monitor = page.get_by_test_id("monitor")
    expect(monitor).to_be_visible()
    pause = monitor.get_by_role("button", name="暂停")
    expect(pause).to_be_enabled(timeout=120_000)
    pause.click()
    resume = monitor.get_by_role("button", name="继续")
    expect(resume).to_be_enabled(timeout=60_000)
    expect(monitor).to_contain_text("paused")
    j.check("backtest-paused")
    resume.click()
    results = page.get_by_test_id("results")
    expect(results).to_be_visible(timeout=300_000)
    seen = page.evaluate("window.__quantlabProgress || []")
    assert seen and max(seen) == 100, seen
    assert "paused" in page.evaluate("window.__quantlabStatuses || []")
    page.wait_for_timeout(500)
    equity = painted(page, "[data-chart='净值与基准']")
    assert equity["painted"] > 5_000, equity
    j.check("backtest-results")
    page.get_by_role("tab", name="诊断").click()
    diagnostics = page.get_by_test_id("diagnostics")
    expect(diagnostics).to_be_visible()
    expect(diagnostics).to_contain_text("warning")
    j.check("backtest-diagnostics")
    page.get_by_role("tab", name="成交").click()
    expect(page.locator(".ant-table-row").first).to_be_visible()
    j.check("backtest-trades")

    # --- chart annotations (pinned to their bar) and saved chart configurations ----------
    j.nav(dataset_path + "/chart")
    expect(page.locator("[data-testid=kline][data-drawn='1']")).to_be_visible(timeout=60_000)
    notes = page.get_by_test_id("annotations")
    notes.get_by_label("日期").fill("2015-06-12")
    notes.get_by_label("内容").fill("market top")
    notes.get_by_role("button", name="添加标注").click()
    expect(notes).to_contain_text("2015-06-12 market top")
    page.get_by_label("图表名称").fill("macd-rsi")
    page.get_by_role("button", name="保存图表").click()
    page.get_by_test_id("chart-configs").click()
    expect(page.get_by_title("macd-rsi")).to_be_visible()
    page.keyboard.press("Escape")
    j.check("chart-annotations")

    # --- Alpha158 / Alpha360: browse the set, evaluate it on the dataset, ranking drawn -----
    j.nav("/factors/sets")
    expect(page.get_by_test_id("feature-set-Alpha158")).to_contain_text("158")
    expect(page.get_by_test_id("feature-set-Alpha360")).to_contain_text("360")
    expect(page.get_by_test_id("feature-list")).to_contain_text("($close-$open)/$open")
    page.get_by_label("起始日期").fill("2019-06-01")
    page.get_by_role("button", name="评估特征集").click()
    ranking = page.get_by_test_id("feature-ranking")
    expect(ranking).to_be_visible(timeout=180_000)
    expect(ranking.locator(".ant-table-row")).to_have_count(15)  # first page of 158
    page.wait_for_timeout(300)
    top = painted(page, "[data-chart='|IC IR| 前 20 的特征']")
    assert top["painted"] > 1_000, top
    j.check("feature-sets")

    # --- factor library: save, favourite, publish; the favourites filter -----------------
    j.nav("/factors")
    page.get_by_label("保存为因子").fill("mom5")
    page.get_by_role("button", name="保存为因子").click()
    library = page.get_by_test_id("factor-library")
    expect(library).to_contain_text("mom5")
    library.get_by_role("button", name="收藏 mom5").click()
    expect(library.get_by_role("button", name="取消收藏 mom5")).to_be_visible()
    library.get_by_role("button", name="发布").click()
    expect(library.get_by_test_id("factor-item")).to_contain_text("公开")
    library.get_by_text("收藏", exact=True).click()
    expect(library.get_by_test_id("factor-item")).to_have_count(1)
    j.check("factor-library")

    # --- strategy library: gallery, use a template, rate it, versions, run it -------------
    page.get_by_role("link", name="策略库").click()
    gallery = page.get_by_test_id("template-gallery")
    expect(gallery).to_contain_text("布林带均值回归")
    j.check("strategy-gallery")
    card = gallery.get_by_test_id("template-card").filter(has_text="布林带均值回归")
    card.get_by_role("button", name="使用模板").click()
    expect(page.get_by_test_id("strategy-plain")).to_contain_text("买入")
    expect(page.get_by_test_id("strategy-params")).to_contain_text("20")
    page.get_by_role("tab", name="评分").click()
    page.locator(".ant-rate").first.locator("li").nth(3).click()
    page.get_by_label("评论").fill("clear rules")
    page.get_by_role("button", name="提交评分").click()
    ratings = page.get_by_test_id("strategy-ratings")
    expect(ratings).to_contain_text("clear rules")
    expect(ratings.locator(".ant-rate-star-full")).to_have_count(4)
    page.get_by_role("tab", name="版本历史").click()
    expect(page.get_by_test_id("strategy-versions")).to_contain_text("当前")
    j.check("strategy")
    page.get_by_role("button", name="开始回测").click()
    expect(page.get_by_test_id("results")).to_be_visible(timeout=300_000)

    # --- compare the two finished runs: metrics side by side, NAVs overlaid --------------
    j.nav("/backtests")
    rows = page.locator(".ant-table-row")
    expect(rows).to_have_count(2)
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()
    page.get_by_test_id("compare-selected").click()
    metrics = page.get_by_test_id("compare-metrics")
    expect(metrics).to_contain_text("sharpe_ratio")
    expect(metrics).to_contain_text("Bollinger band reversion")
    page.wait_for_timeout(300)
    overlay = painted(page, "[data-chart='净值叠加']")
    assert overlay["painted"] > 5_000, overlay
    j.check("compare")

    # --- the builder canvas and an optimisation study -----------------------------------
    builder_and_studies(j)

    # --- task schedules (cron) -------------------------------------------------------------
    j.nav("/tasks")
    page.get_by_role("button", name="定时任务").click()
    page.get_by_label("名称", exact=True).fill("nightly noop")
    page.get_by_label("任务类型").click()
    page.keyboard.type("noop")  # the list outgrew what the dropdown shows without scrolling
    page.get_by_title("system.noop").click()
    page.get_by_role("button", name="保存").click()
    schedules = page.get_by_test_id("schedules")
    expect(schedules).to_contain_text("nightly noop")
    expect(schedules).to_contain_text("0 2 * * 1-5")
    expect(schedules).to_contain_text("Asia/Shanghai")
    j.check("schedules")

    # --- preprocessing: steps, live preview with histograms, expert JSON; a new version ----
    j.nav(dataset_path)
    page.get_by_role("tab", name="预处理").click()
    expect(page.get_by_test_id("rows-before")).to_have_text("12611")
    page.get_by_label("添加步骤").click()
    page.keyboard.type("zscore")
    page.get_by_title("transform · zscore").click()
    expect(page.get_by_test_id("pipeline-step")).to_have_count(2)
    expect(page.get_by_test_id("preprocess-preview")).to_contain_text("zscore")
    page.wait_for_timeout(300)
    hist = painted(page, "[data-testid=preprocess-preview] [data-chart]")
    assert hist["painted"] > 2_000, hist
    expect(page.get_by_label("步骤 JSON 2")).to_have_value(
        '{"op":"transform","method":"zscore","scope":"per_day_cross_section"}'
    )
    j.check("preprocessing")
    page.get_by_test_id("mode-switch").get_by_text("新手").click()
    expect(page.get_by_label("步骤 JSON 2")).to_have_count(0)
    expect(page.get_by_text("在生成新版本之前不会保存任何内容")).to_be_visible()
    page.get_by_test_id("mode-switch").get_by_text("专家").click()
    page.get_by_role("button", name="生成新版本").click()
    expect(page.get_by_test_id("preprocess-job")).to_contain_text("已生成新版本", timeout=120_000)
    page.get_by_role("tab", name="版本", exact=True).click()
    versions = page.get_by_test_id("dataset-versions").locator(".ant-table-row")
    expect(versions).to_have_count(2)

    # --- the other pages render without errors -------------------------------------------
    for path, heading in (
        ("/tasks", "任务"),
        ("/sandbox", "沙箱控制台"),
        ("/settings", "设置"),
        ("/admin", "系统管理"),
        ("/welcome", "新手引导"),
        ("/datasets", "数据集"),
        ("/backtests", "回测"),
        ("/backtests/compare", "回测对比"),
        ("/strategies", "策略库"),
        ("/factors/sets", "Alpha158 / Alpha360"),
        ("/tasks/schedules", "定时任务"),
        ("/", "总览"),
    ):
        j.nav(path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_role("alert")).to_have_count(0)
        j.check(path.strip("/") or "home")

    # --- English and back ---------------------------------------------------------------
    page.get_by_test_id("language-switch").click()
    page.get_by_title("English").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("link", name="Factor lab")).to_be_visible()
    # audit the page, not the language list while its closing animation still runs
    expect(page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden)")).to_have_count(0)
    j.check("dashboard-en")
    page.get_by_test_id("language-switch").click()
    page.get_by_title("简体中文").click()
    expect(page.get_by_role("heading", name="总览")).to_be_visible()

    # --- sign out: the refresh token no longer works ---------------------------------------
    page.get_by_test_id("user-menu").hover()
    page.get_by_text("退出所有设备").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    context.close()

    # --- a second researcher clones the published factor into their own library ----------
    admin = httpx.post(f"{base}/api/auth/token", data={"username": "admin", "password": password})
    created = httpx.post(
        f"{base}/api/admin/users",
        json={"username": "second", "password": SECOND_PASSWORD},
        headers={"Authorization": f"Bearer {admin.json()['access_token']}"},
    )
    assert created.status_code == 201, created.text
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = j.page = context.new_page()
    page.set_default_timeout(60_000)
    j.go("/factors")
    page.locator("#username").fill("second")
    page.locator("#password").fill(SECOND_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="因子实验室")).to_be_visible()
    library = page.get_by_test_id("factor-library")
    library.get_by_text("已公开", exact=True).click()
    published = library.locator(".ant-list-item").filter(has_text="mom5")
    expect(published.get_by_role("button", name="发布")).to_have_count(0)  # not theirs
    published.get_by_role("button", name="克隆").click()
    library.get_by_text("我的", exact=True).click()
    expect(library.get_by_test_id("factor-item")).to_have_count(1)
    expect(library.get_by_test_id("factor-item")).to_have_text("mom5")  # a private copy
    j.check("factor-clone")
    context.close()
    print(f"\nscreenshots: {shots}")
    for name, found in j.violations.items():
        print(f"axe on {name}: {found}")
    assert not j.violations, sorted(j.violations)
