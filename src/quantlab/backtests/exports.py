"""Report files of a stored run: a CSV bundle (zip), JSON, an XLSX workbook, a
self-contained HTML report with inline SVG charts, and a PDF report.

Charts use matplotlib's object API (``Figure``), never pyplot, so exports are safe in a
server process without a display or global figure state."""

from __future__ import annotations

import html
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from quantlab.backtests import report_content as rc
from quantlab.backtests import results
from quantlab.engine.backtest.metrics import json_safe

MONTHS = rc.MONTHS
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

    def monthly_table(self) -> pd.DataFrame:
        """Monthly returns with each year's compounded total."""
        return rc.monthly_table(self.metrics, self.series)

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
    """A zip of CSV files: equity, trades, positions, rejected orders, metrics, monthly
    returns and the configuration (preset values filled in), plus the request as JSON."""
    tables = {
        "equity.csv": report.series,
        "trades.csv": report.trades,
        "positions.csv": report.positions_long(),
        "rejected_orders.csv": report.rejected,
        "metrics.csv": report.scalar_metrics(),
        "monthly_returns.csv": report.monthly(),
        "configuration.csv": pd.DataFrame(
            rc.configuration(report.view), columns=["setting", "value"]
        ),
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
    """A workbook: Metrics (cover and formatted metrics with definitions), Configuration,
    Monthly Returns, Yearly Returns, Contributors, Diagnostics, Trades, Positions and
    Equity. Dates are real Excel dates, numbers carry number formats, headers are frozen."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter", date_format="yyyy-mm-dd",
                        datetime_format="yyyy-mm-dd") as writer:  # fmt: skip
        book = writer.book
        fmt = _XlsxFormats(book)
        _xlsx_summary(writer, fmt, report)
        config = pd.DataFrame(rc.configuration(report.view), columns=["setting", "value"])
        _xlsx_sheet(writer, fmt, "Configuration", config, {}, widths={0: 34, 1: 60})
        monthly = report.monthly_table()
        _xlsx_sheet(
            writer, fmt, "Monthly Returns", monthly, dict.fromkeys(monthly.columns[1:], "0.00%")
        )
        yearly = rc.yearly_returns(report.series)
        _xlsx_sheet(
            writer, fmt, "Yearly Returns", yearly, {"strategy": "0.00%", "benchmark": "0.00%"}
        )
        contrib = rc.contributors(report.trades)
        contrib_formats = {"realised_pnl": "#,##0.00", "trades": "#,##0", "share_of_total": "0.00%"}
        _xlsx_sheet(writer, fmt, "Contributors", contrib, contrib_formats)
        diags = pd.DataFrame(
            [(f["severity"], f["title"], rc.evidence_text(f.get("evidence") or {}),
              f.get("suggestion") or "") for f in report.findings],
            columns=["severity", "finding", "evidence", "suggestion"],
        )  # fmt: skip
        _xlsx_sheet(writer, fmt, "Diagnostics", diags, {}, widths={1: 48, 2: 70, 3: 70})
        money = "#,##0.00"
        trade_formats = {"price": "#,##0.0000", "adjusted_price": "#,##0.0000",
                         "quantity": "#,##0", "commission": money}  # fmt: skip
        trade_formats |= {"tax": money, "slippage": money, "pnl": money, "holding_days": "#,##0"}
        _xlsx_sheet(writer, fmt, "Trades", _dated(report.trades), trade_formats)
        _xlsx_sheet(writer, fmt, "Positions", _dated(report.positions_long()),
                    {"quantity": "#,##0", "value": money})  # fmt: skip
        _xlsx_sheet(writer, fmt, "Equity", _dated(report.series),
                    {"equity": money, "cash": money, "benchmark": money, "returns": "0.00%",
                     "drawdown": "0.00%"})  # fmt: skip
    return buf.getvalue()


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """``date`` as real dates (Excel date cells), not ISO text."""
    if "date" not in frame:
        return frame
    return frame.assign(date=pd.to_datetime(frame["date"]))


class _XlsxFormats:
    def __init__(self, book: Any) -> None:
        self.book = book
        self.header = book.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.bold = book.add_format({"bold": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self._numbers: dict[str, Any] = {}

    def number(self, code: str) -> Any:
        if code not in self._numbers:
            self._numbers[code] = self.book.add_format({"num_format": code})
        return self._numbers[code]


def _xlsx_sheet(
    writer: pd.ExcelWriter,
    fmt: _XlsxFormats,
    name: str,
    frame: pd.DataFrame,
    formats: dict[str, str],
    widths: dict[int, int] | None = None,
) -> None:
    frame.to_excel(writer, sheet_name=name, index=False)
    sheet = writer.sheets[name]
    for j, col in enumerate(frame.columns):
        width = (widths or {}).get(j, 12 if col != "date" else 11)
        sheet.set_column(j, j, width, fmt.number(formats[col]) if col in formats else None)
        sheet.write(0, j, str(col), fmt.header)
    sheet.freeze_panes(1, 0)
    if len(frame):
        sheet.autofilter(0, 0, len(frame), max(len(frame.columns) - 1, 0))


def _xlsx_summary(writer: pd.ExcelWriter, fmt: _XlsxFormats, report: Report) -> None:
    """The cover block on top, then every metric with its formatted value and definition."""
    sheet = fmt.book.add_worksheet("Metrics")
    writer.sheets["Metrics"] = sheet
    sheet.write(0, 0, report.title, fmt.title)
    row = 2
    for key, text in rc.cover(report.view, report.series):
        sheet.write(row, 0, key, fmt.bold)
        sheet.write(row, 1, text)
        row += 1
    row += 1
    header_row = row
    for j, head in enumerate(("metric", "value", "unit", "definition", "key")):
        sheet.write(row, j, head, fmt.header)
    for m in rc.metric_rows(report.metrics):
        row += 1
        sheet.write(row, 0, m.label)
        if m.value is None:
            sheet.write_blank(row, 1, None)
        else:
            sheet.write_number(row, 1, m.value, fmt.number(rc.excel_format(m.unit)))
        sheet.write(row, 2, rc.unit_label(m.unit))
        sheet.write(row, 3, m.definition)
        sheet.write(row, 4, m.name)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 18)
    sheet.set_column(2, 2, 14)
    sheet.set_column(3, 3, 70)
    sheet.set_column(4, 4, 24)
    sheet.freeze_panes(header_row + 1, 0)
    sheet.activate()


def _charts(report: Report, size: tuple[float, float] = (9, 3.6)) -> list[Figure]:
    """Equity vs benchmark (as NAV) and the drawdown, one figure each."""
    dates = pd.to_datetime(report.series["date"])
    capital = float(report.view["request"]["initial_capital"])
    nav = Figure(figsize=size)
    ax = nav.subplots()
    ax.plot(dates, report.series["equity"] / capital, label="strategy", color="#1f77b4")
    if report.series["benchmark"].notna().any():
        bench = report.series["benchmark"]
        ax.plot(dates, bench / bench.dropna().iloc[0], label="benchmark", color="#888888")
    ax.set_title("Equity vs benchmark (1.0 = start)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    dd = Figure(figsize=(size[0], size[1] * 0.66))
    ax2 = dd.subplots()
    ax2.fill_between(dates, report.series["drawdown"].to_numpy(), 0.0, color="#d62728", alpha=0.4)
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
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


def _cell(value: Any, kind: str = "number") -> str:
    return html.escape(rc.format_value(value, kind))


def _html_table(frame: pd.DataFrame, kinds: dict[str, str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    kinds = kinds or {}
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{_cell(v, kinds.get(str(c), 'number'))}</td>"
            for c, v in zip(frame.columns, row, strict=True)
        )
        + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pairs(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table class='pairs'>{body}</table>"


PERCENT_COLUMNS = {
    **dict.fromkeys([*rc.MONTHS, "Year", "strategy", "benchmark", "share_of_total"], "percent"),
    "realised_pnl": "money",
    "trades": "count",
    "year": "year",
}
TRADE_KINDS = {"price": "money", "adjusted_price": "money", "quantity": "count",
               "commission": "money", "tax": "money", "slippage": "money", "pnl": "money",
               "holding_days": "count"}  # fmt: skip


def to_html(report: Report) -> bytes:
    """One A4-printable HTML file with inline SVG charts, the cover block, formatted metrics
    with definitions, monthly/yearly returns, contributors, trades and diagnostics; no
    external resources."""
    charts = "".join(f"<figure>{_svg(f)}</figure>" for f in _charts(report))
    metrics = "".join(
        f"<tr><th>{html.escape(m.label)}</th><td>{html.escape(m.text)}</td>"
        f"<td class='def'>{html.escape(m.definition)}</td></tr>"
        for m in rc.metric_rows(report.metrics)
    )
    findings = (
        "".join(
            f"<li class='{html.escape(f['severity'])}'><b>[{html.escape(f['severity'])}] "
            f"{html.escape(f['title'])}</b><br>Evidence: "
            f"{html.escape(rc.evidence_text(f.get('evidence') or {}))}"
            f"<br>Suggestion: {html.escape(f.get('suggestion') or '–')}</li>"
            for f in report.findings
        )
        or "<li>No findings.</li>"
    )
    note = "<p><b>Incomplete run</b>: cancelled before the end.</p>" if report.view.get(
        "incomplete") else ""  # fmt: skip
    trades = report.trades.head(HTML_TRADE_ROWS)
    contributors = _html_table(rc.contributors(report.trades), PERCENT_COLUMNS)
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(report.title)}</title>
<style>@page{{size:A4;margin:15mm}}body{{font-family:sans-serif;margin:2em;font-size:10pt}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 6px;
text-align:right}}table.pairs th,td.def{{text-align:left}}.critical{{color:#b00}}
.warning{{color:#a60}}figure svg{{max-width:100%;height:auto}}</style></head><body>
<h1>{html.escape(report.title)}</h1>{note}
{_pairs(rc.cover(report.view, report.series))}
{charts}
<h2>Metrics</h2><table><thead><tr><th>metric</th><th>value</th><th>definition</th></tr>
</thead><tbody>{metrics}</tbody></table>
<h2>Monthly returns</h2>{_html_table(report.monthly_table(), PERCENT_COLUMNS)}
<h2>Yearly returns</h2>{_html_table(rc.yearly_returns(report.series), PERCENT_COLUMNS)}
<h2>Top contributors (realised P&amp;L)</h2>{contributors}
<h2>Trades summary</h2>{_pairs(rc.trades_summary(report.trades, report.metrics))}
<h2>Diagnostics</h2><ul>{findings}</ul>
<h2>Trades (first {HTML_TRADE_ROWS})</h2>{_html_table(trades, TRADE_KINDS)}
</body></html>"""
    return body.encode()


def to_pdf(report: Report) -> bytes:
    """An A4 portrait PDF: cover and key metrics, charts, monthly/yearly returns, every
    metric with its definition, contributors and trades summary, diagnostics."""
    from quantlab.backtests import report_pdf

    return report_pdf.render(report, _charts)


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
