"""The PDF backtest report: every page A4 portrait, drawn with matplotlib's object API.

Tables are laid out as text in fixed columns (matplotlib's own table widget cannot break
across pages); each number is pre-formatted by :mod:`report_content`, so no page shows a
raw float.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from quantlab.backtests import report_content as rc

LINES_PER_PAGE = 62
TOP, LEFT, LINE = 0.95, 0.07, 0.0142


class _Pages:
    """Text lines flowed onto A4 pages; a line is (text, style)."""

    def __init__(self, pdf: PdfPages, title: str) -> None:
        self.pdf, self.title = pdf, title
        self.lines: list[tuple[str, str]] = []

    def heading(self, text: str) -> None:
        if self.lines:
            self.lines.append(("", "body"))
        self.lines.append((text, "heading"))

    def text(self, text: str, width: int = 100, indent: str = "", style: str = "body") -> None:
        for line in textwrap.wrap(text, width, subsequent_indent=indent) or [""]:
            self.lines.append((line, style))

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
    ) -> None:
        def fmt(cells: Sequence[str]) -> str:
            out = []
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
                cell = cell if len(cell) <= w else cell[: w - 1] + "…"
                out.append(cell.ljust(w) if i == 0 else cell.rjust(w))
            return " ".join(out)

        self.lines.append((fmt(header), "th"))
        self.lines.extend((fmt(r), "mono") for r in rows)

    def flush(self) -> None:
        """Write the collected lines as full A4 pages."""
        for start in range(0, len(self.lines), LINES_PER_PAGE):
            page = new_page(self.title)
            y = TOP - 0.03
            for text, style in self.lines[start : start + LINES_PER_PAGE]:
                page.text(LEFT, y, text, va="top", **STYLES[style])
                y -= LINE
            self.pdf.savefig(page)
        self.lines = []


STYLES: dict[str, dict[str, Any]] = {
    "heading": {"fontsize": 11, "weight": "bold"},
    "body": {"fontsize": 8},
    "bold": {"fontsize": 8, "weight": "bold"},
    "th": {"fontsize": 7, "family": "monospace", "weight": "bold"},
    "mono": {"fontsize": 7, "family": "monospace"},
}


def new_page(title: str) -> Figure:
    """An empty A4 portrait page with the report title in its header."""
    page = Figure(figsize=rc.A4_INCHES)
    page.text(LEFT, 0.975, title, fontsize=8, color="#666666", va="top")
    return page


def _chart_page(pdf: PdfPages, title: str, charts: list[Figure]) -> None:
    """The charts stacked on one A4 page (each drawn to PNG, then placed)."""
    import matplotlib.image as mpimg

    page = new_page(title)
    top = 0.93
    for fig in charts:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150)
        buf.seek(0)
        image = mpimg.imread(buf)
        h_in = rc.A4_INCHES[0] * 0.86 * image.shape[0] / image.shape[1]
        height = h_in / rc.A4_INCHES[1]
        ax = page.add_axes((0.07, top - height, 0.86, height))
        ax.imshow(image)
        ax.set_axis_off()
        top -= height + 0.02
    pdf.savefig(page)


def render(report: Any, charts: Callable[..., list[Figure]]) -> bytes:
    """The whole PDF report as bytes."""
    buf = io.BytesIO()
    title = report.title
    with PdfPages(buf) as pdf:
        pages = _Pages(pdf, title)
        pages.lines.append((title, "heading"))
        if report.view.get("incomplete"):
            pages.text("Incomplete run: cancelled before the end.")
        pages.heading("Run")
        for key, text in rc.cover(report.view, report.series):
            pages.text(f"{key}: {text}", indent="    ")
        rows = rc.metric_rows(report.metrics)
        key_rows = [r for r in rows if r.name in rc.KEY_METRICS]
        pages.heading("Key metrics")
        pages.table(["metric", "value"], [(r.label, r.text) for r in key_rows], [30, 14])
        pages.flush()
        _chart_page(pdf, title, charts(report, (8, 3.6)))
        monthly = report.monthly_table()
        pages.heading("Monthly returns (%)")
        header = ["year", *[m[:3] for m in rc.MONTHS], "Year"]
        body = [
            [str(int(r[0])), *(rc.format_value(v, "percent").rstrip("%") for v in r[1:])]
            for r in monthly.itertuples(index=False)
        ]
        pages.table(header, body, [5, *[6] * 12, 7])
        yearly = rc.yearly_returns(report.series)
        pages.heading("Yearly returns")
        pages.table(
            ["year", "strategy", "benchmark"],
            [
                (str(int(y)), rc.format_value(s, "percent"), rc.format_value(b, "percent"))
                for y, s, b in yearly.itertuples(index=False)
            ],
            [6, 12, 12],
        )
        pages.heading("All metrics")
        pages.table(
            ["metric", "value", "unit"],
            [(r.label, r.text, rc.unit_label(r.unit)) for r in rows],
            [30, 14, 16],
        )
        pages.heading("Definitions")
        for r in rows:
            pages.text(f"{r.label} ({r.name}): {r.definition}", indent="    ")
        pages.flush()
        _contributors_and_trades(pages, report)
        pages.heading("Diagnostics")
        if not report.findings:
            pages.text("No findings.")
        for f in report.findings:
            pages.text(f"[{f['severity']}] {f['title']}", style="bold")
            pages.text("Evidence: " + rc.evidence_text(f.get("evidence") or {}), indent="    ")
            pages.text("Suggestion: " + (f.get("suggestion") or rc.DASH), indent="    ")
        pages.flush()
        info = pdf.infodict()
        info["Title"] = title
    return buf.getvalue()


def _contributors_and_trades(pages: _Pages, report: Any) -> None:
    table: pd.DataFrame = rc.contributors(report.trades)
    pages.heading("Top contributors (realised P&L by symbol, net of costs)")
    pages.table(
        ["symbol", "realised P&L", "trades", "share"],
        [
            (
                str(s),
                rc.format_value(p, "money"),
                rc.format_value(n, "count"),
                rc.format_value(sh, "percent"),
            )
            for s, p, n, sh in table[
                ["symbol", "realised_pnl", "trades", "share_of_total"]
            ].itertuples(index=False)
        ],
        [14, 16, 8, 10],
    )
    pages.heading("Trades summary")
    pages.table(["", ""], rc.trades_summary(report.trades, report.metrics), [26, 22])
