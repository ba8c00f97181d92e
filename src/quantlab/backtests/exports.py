"""Report files of a stored run: a CSV bundle (zip), JSON, an XLSX workbook, a
self-contained HTML report with inline SVG charts, and a PDF report.

Charts use matplotlib's object API (``Figure``), never pyplot, so exports are safe in a
server process without a display or global figure state."""

from __future__ import annotations

import html
import io
import json
import math
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from quantlab.backtests import results
from quantlab.engine.backtest.metrics import json_safe

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
HTML_TRADE_ROWS = 500


class Report:
    """A stored run loaded once for every export format."""

    def __init__(self, view: dict[str, Any], path: Path) -> None:
        self.view = view
        self.series = results.read_frame(path, "series")
        self.trades = results.read_frame(path, "trades")
        self.rejected = results.read_frame(path, "rejected")
        self.metrics: dict[str, Any] = results.read_json(path, "metrics")
        self.findings: list[dict[str, Any]] = results.read_json(path, "diagnostics")
        self.positions = results.read_positions(path)

    @property
    def title(self) -> str:
        """Human title of the report."""
        return f"Backtest {self.view['name']} ({self.view['id']})"

    def scalar_metrics(self) -> pd.DataFrame:
        """Scalar metrics as a two-column table (name, value)."""
        rows = [
            (k, v)
            for k, v in self.metrics.items()
            if v is None or (isinstance(v, int | float) and not isinstance(v, bool))
        ]
        return pd.DataFrame(rows, columns=["metric", "value"])

    def monthly(self) -> pd.DataFrame:
        """Monthly returns, one row per year and a column per month."""
        table = self.metrics.get("monthly_returns") or {}
        frame = pd.DataFrame.from_dict(table, orient="index", columns=MONTHS)
        frame.index.name = "year"
        return frame.reset_index()

    def positions_long(self) -> pd.DataFrame:
        """Every non-zero holding per day: date, symbol, quantity, value."""
        p = self.positions
        days, cols = np.nonzero(p.quantity)
        return pd.DataFrame(
            {
                "date": p.calendar[days].astype(str),
                "symbol": np.array(p.instruments, dtype=object)[cols],
                "quantity": p.quantity[days, cols],
                "value": p.value[days, cols],
            }
        )


def to_csv_zip(report: Report) -> bytes:
    """A zip of CSV files: equity, trades, positions, rejected orders, metrics, monthly."""
    tables = {
        "equity.csv": report.series,
        "trades.csv": report.trades,
        "positions.csv": report.positions_long(),
        "rejected_orders.csv": report.rejected,
        "metrics.csv": report.scalar_metrics(),
        "monthly_returns.csv": report.monthly(),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, frame in tables.items():
            zf.writestr(name, frame.to_csv(index=False))
        zf.writestr("request.json", json.dumps(report.view.get("request"), indent=2))
    return buf.getvalue()


def to_json(report: Report) -> bytes:
    """Everything in one JSON document (NaN as null)."""
    doc = {
        "backtest": report.view,
        "metrics": report.metrics,
        "diagnostics": report.findings,
        "equity": results.json_records(report.series),
        "trades": results.json_records(report.trades),
        "rejected_orders": results.json_records(report.rejected),
    }
    return json.dumps(json_safe(doc), allow_nan=False, default=str).encode()


def to_xlsx(report: Report) -> bytes:
    """A workbook with Metrics, Trades, Positions, Monthly Returns and Equity sheets."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as writer:
        report.scalar_metrics().to_excel(writer, sheet_name="Metrics", index=False)
        report.trades.to_excel(writer, sheet_name="Trades", index=False)
        report.positions_long().to_excel(writer, sheet_name="Positions", index=False)
        report.monthly().to_excel(writer, sheet_name="Monthly Returns", index=False)
        report.series.to_excel(writer, sheet_name="Equity", index=False)
        for sheet in writer.sheets.values():
            sheet.set_column(0, 12, 14)
    return buf.getvalue()


def _charts(report: Report) -> list[Figure]:
    dates = pd.to_datetime(report.series["date"])
    capital = float(report.view["request"]["initial_capital"])
    nav = Figure(figsize=(9, 3.6))
    ax = nav.subplots()
    ax.plot(dates, report.series["equity"] / capital, label="strategy", color="#1f77b4")
    if report.series["benchmark"].notna().any():
        ax.plot(dates, report.series["benchmark"] / capital, label="benchmark", color="#999999")
    ax.set_title("Net asset value (1.0 = initial capital)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    dd = Figure(figsize=(9, 2.4))
    ax2 = dd.subplots()
    ax2.fill_between(dates, report.series["drawdown"].to_numpy(), 0.0, color="#d62728", alpha=0.4)
    ax2.set_title("Drawdown")
    ax2.grid(alpha=0.3)
    for fig in (nav, dd):
        fig.autofmt_xdate()
        fig.tight_layout()
    return [nav, dd]


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog so it inlines in HTML


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, fmt: Callable[[Any], str] = _fmt) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: Report) -> bytes:
    """One HTML file with inline SVG charts and the metric, monthly, diagnostic and trade
    tables; no external resources."""
    charts = "".join(f"<figure>{_svg(f)}</figure>" for f in _charts(report))
    findings = "".join(
        f"<li class='{html.escape(f['severity'])}'><b>{html.escape(f['title'])}</b> "
        f"{html.escape(f.get('suggestion') or '')}</li>"
        for f in report.findings
    )
    note = "<p><b>Incomplete run</b>: cancelled before the end.</p>" if report.view.get(
        "incomplete") else ""  # fmt: skip
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(report.title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}.critical{{color:#b00}}
.warning{{color:#a60}}</style></head><body>
<h1>{html.escape(report.title)}</h1>{note}
<p>Dataset {html.escape(report.view["dataset_id"])} v{report.view["dataset_version"]},
strategy {html.escape(report.view["strategy_kind"])}, final equity
{_fmt(report.view.get("final_equity"))}.</p>
{charts}
<h2>Metrics</h2>{_table(report.scalar_metrics())}
<h2>Monthly returns</h2>{_table(report.monthly())}
<h2>Diagnostics</h2><ul>{findings}</ul>
<h2>Trades (first {HTML_TRADE_ROWS})</h2>{_table(report.trades.head(HTML_TRADE_ROWS))}
</body></html>"""
    return body.encode()


def to_pdf(report: Report) -> bytes:
    """A PDF report: the charts, then the metrics and diagnostics as text pages."""
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        for fig in _charts(report):
            pdf.savefig(fig)
        lines = [report.title, ""]
        lines += [f"{m:<28} {_fmt(v)}" for m, v in report.scalar_metrics().itertuples(index=False)]
        lines += ["", "Diagnostics:"]
        lines += [f"[{f['severity']}] {f['title']}" for f in report.findings]
        per_page = 60
        for start in range(0, len(lines), per_page):
            page = Figure(figsize=(8.27, 11.69))
            page.text(
                0.05, 0.97, "\n".join(lines[start : start + per_page]), va="top",
                family="monospace", fontsize=7,
            )  # fmt: skip
            pdf.savefig(page)
        info = pdf.infodict()
        info["Title"] = report.title
    return buf.getvalue()


FORMATS: dict[str, tuple[Callable[[Report], bytes], str, str]] = {
    "csv": (to_csv_zip, "application/zip", "zip"),
    "json": (to_json, "application/json", "json"),
    "xlsx": (
        to_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    "html": (to_html, "text/html; charset=utf-8", "html"),
    "pdf": (to_pdf, "application/pdf", "pdf"),
}
