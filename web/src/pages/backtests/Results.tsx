import { Button, Card, Col, Descriptions, Input, Row, Select, Space, Table, Tabs, Tag, Tooltip } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { getAccessToken, request, requestAll } from "../../api/client";
import EChart from "../../charts/EChart";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { num, pct } from "../../format";
import type { Backtest } from "./BacktestPage";

interface Metric { name: string; description: string; unit: string }
interface Trade { seq: number; date: string; symbol: string; side: string; price: number; adjusted_price?: number | null; quantity: number; commission: number; tax: number; pnl: number }
interface Finding { diagnostic: string; severity: string; title: string; suggestion: string; evidence: unknown }
// solid tags with white text keep AA contrast
const SEVERITY: Record<string, string> = { critical: "#a8071a", error: "#a8071a", warning: "#ad4e00", info: "#0958d9" };
const GROUPS: Record<string, string[]> = {
  returns: ["total_return", "annual_return", "excess_return", "final_equity"],
  risk: ["annual_volatility", "max_drawdown"],
  "risk-adjusted": ["sharpe_ratio", "sortino_ratio", "calmar_ratio", "information_ratio"],
  trading: ["win_rate", "profit_factor", "trade_count", "turnover"],
};

async function download(id: string, fmt: string) {
  const resp = await fetch(`/api/backtests/${id}/export/${fmt}`, { headers: { Authorization: `Bearer ${getAccessToken()}` } });
  const url = URL.createObjectURL(await resp.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: `backtest-${id}.${fmt}` });
  a.click();
  URL.revokeObjectURL(url);
}

export default function Results({ backtest }: { backtest: Backtest }) {
  const { t } = useTranslation();
  const id = backtest.id;
  const data = useLoad(async () => {
    const [equity, drawdown, monthly, metrics, diagnostics] = await Promise.all([
      request<{ points: { date: string; nav: number; benchmark_nav: number | null }[] }>(`/api/backtests/${id}/equity`),
      request<{ points: { date: string; drawdown: number }[] }>(`/api/backtests/${id}/drawdown`),
      request<{ table: Record<string, (number | null)[]> }>(`/api/backtests/${id}/monthly-returns`),
      request<Metric[]>("/api/backtests/metrics"),
      request<Finding[]>(`/api/backtests/${id}/diagnostics`),
    ]);
    return { equity, drawdown, monthly, metrics, diagnostics };
  }, [id]);
  return (
    <PageState state={data}>
      {(d) => (
        <Tabs data-testid="results" items={[
          { key: "overview", label: t("backtests.results"), children: <Overview backtest={backtest} d={d} /> },
          { key: "trades", label: t("backtests.trades"), children: <Trades id={id} /> },
          { key: "positions", label: t("backtests.positions"), children: <Positions id={id} /> },
          { key: "rejected", label: t("backtests.rejected"), children: <Rejected id={id} /> },
          { key: "logs", label: t("backtests.logs"), children: <Logs id={id} /> },
          { key: "diagnostics", label: t("backtests.diagnostics"), children: <Diagnostics findings={d.diagnostics} /> },
          { key: "export", label: t("backtests.exports"), children: (
            <Space>{["html", "pdf", "xlsx", "csv", "json"].map((f) => <Button key={f} onClick={() => void download(id, f)}>{f.toUpperCase()}</Button>)}</Space>
          ) },
        ]} />
      )}
    </PageState>
  );
}

function Overview({ backtest, d }: { backtest: Backtest; d: { equity: { points: { date: string; nav: number; benchmark_nav: number | null }[] }; drawdown: { points: { date: string; drawdown: number }[] }; monthly: { table: Record<string, (number | null)[]> }; metrics: Metric[] } }) {
  const { t } = useTranslation();
  const opts = useMemo(() => {
    const dates = d.equity.points.map((p) => p.date);
    const years = Object.keys(d.monthly.table);
    const cells = years.flatMap((y, yi) => d.monthly.table[y].map((v, m) => [m, yi, v === null ? null : +(v * 100).toFixed(2)]));
    const grid = { left: 56, right: 24, top: 32, bottom: 48 };
    return {
      equity: { grid: { ...grid, bottom: 80 }, legend: { top: 0 }, tooltip: { trigger: "axis" }, xAxis: { type: "category", data: dates }, yAxis: { type: "value", scale: true }, dataZoom: [{ type: "inside" }, { type: "slider", height: 20, bottom: 8 }],
        series: [{ name: "NAV", type: "line", symbol: "none", data: d.equity.points.map((p) => p.nav) },
          { name: "benchmark", type: "line", symbol: "none", data: d.equity.points.map((p) => p.benchmark_nav) }] },
      drawdown: { grid, tooltip: { trigger: "axis" }, xAxis: { type: "category", data: d.drawdown.points.map((p) => p.date) }, yAxis: { type: "value" },
        series: [{ name: "drawdown", type: "line", symbol: "none", areaStyle: { color: "#ffccc7" }, lineStyle: { color: "#cf1322" }, data: d.drawdown.points.map((p) => p.drawdown) }] },
      monthly: { grid: { ...grid, left: 64 }, tooltip: {}, xAxis: { type: "category", data: Array.from({ length: 12 }, (_, i) => String(i + 1)) }, yAxis: { type: "category", data: years },
        visualMap: { min: -15, max: 15, calculable: true, orient: "horizontal", left: "center", bottom: 0, inRange: { color: ["#389e0d", "#ffffff", "#cf1322"] } },
        series: [{ type: "heatmap", data: cells, label: { show: true, fontSize: 10 } }] },
    };
  }, [d]);
  const defs = Object.fromEntries(d.metrics.map((m) => [m.name, m]));
  const s = backtest.summary ?? {};
  return (
    <Row gutter={[16, 16]}>
      <Col xs={24}>
        <Card size="small" title={t("backtests.metrics")}>
          {Object.entries(GROUPS).map(([group, names]) => (
            <Descriptions key={group} title={group} size="small" column={4} items={names.filter((n) => n in s).map((n) => ({
              label: <Tooltip title={defs[n]?.description}><span>{n}</span></Tooltip>,
              children: defs[n]?.unit?.startsWith("fraction") ? pct(s[n]) : num(s[n], 3),
            }))} />
          ))}
        </Card>
      </Col>
      <Col xs={24}><Card size="small" title={t("backtests.equity")}><EChart option={opts.equity} height={320} label={t("backtests.equity")} /></Card></Col>
      <Col xs={24} lg={12}><Card size="small" title={t("backtests.drawdown")}><EChart option={opts.drawdown} label={t("backtests.drawdown")} /></Card></Col>
      <Col xs={24} lg={12}><Card size="small" title={t("backtests.monthly")}><EChart option={opts.monthly} height={Math.max(280, 24 * Object.keys(d.monthly.table).length + 90)} label={t("backtests.monthly")} /></Card></Col>
    </Row>
  );
}

function Trades({ id }: { id: string }) {
  const { t } = useTranslation();
  const [symbol, setSymbol] = useState("");
  const state = useLoad(() => requestAll<Trade>(`/api/backtests/${id}/trades${symbol ? `?symbol=${encodeURIComponent(symbol)}` : ""}`), [id, symbol]);
  return (
    <>
      <Input.Search aria-label={t("common.symbol")} placeholder={t("common.symbol")} allowClear onSearch={setSymbol} style={{ width: 220, marginBottom: 12 }} />
      <PageState state={state}>
        {(rows) => (
          <Table<Trade> virtual scroll={{ y: 480, x: 900 }} rowKey="seq" size="small" dataSource={rows} pagination={false}
            columns={[
              { title: t("common.date"), dataIndex: "date", width: 110, sorter: (a, b) => a.date.localeCompare(b.date) },
              { title: t("common.symbol"), dataIndex: "symbol", width: 110 },
              { title: "side", dataIndex: "side", width: 70, filters: [{ text: "BUY", value: "BUY" }, { text: "SELL", value: "SELL" }], onFilter: (v, r) => r.side === v },
              { title: "price", dataIndex: "price", width: 90, render: (v) => num(v, 4) },
              // the traded (raw) price above; on adjusted data, the same fill on the adjusted basis
              ...(rows.some((r) => r.adjusted_price != null)
                ? [{ title: "adj. price", dataIndex: "adjusted_price", width: 100, render: (v: number | null) => (v == null ? "" : num(v, 4)) }]
                : []),
              { title: "qty", dataIndex: "quantity", width: 90 },
              { title: "fees", width: 90, render: (_, r) => num(r.commission + r.tax, 2) },
              { title: "P&L", dataIndex: "pnl", width: 110, sorter: (a, b) => a.pnl - b.pnl, render: (v) => num(v, 2) },
            ]} />
        )}
      </PageState>
    </>
  );
}

function Positions({ id }: { id: string }) {
  const state = useLoad(() => request<{ date: string; items: { symbol: string; quantity: number; value: number; weight: number }[] }>(`/api/backtests/${id}/positions`), [id]);
  return <PageState state={state}>{(p) => <Table size="small" rowKey="symbol" title={() => p.date} dataSource={p.items} pagination={false}
    columns={[{ title: "symbol", dataIndex: "symbol" }, { title: "qty", dataIndex: "quantity" }, { title: "value", dataIndex: "value", render: (v) => num(v, 2) }, { title: "weight", dataIndex: "weight", render: (v) => pct(v) }]} />}</PageState>;
}

function Rejected({ id }: { id: string }) {
  const state = useLoad(() => requestAll<{ date: string; symbol: string; side: string; reason: string }>(`/api/backtests/${id}/orders/rejected`), [id]);
  return <PageState state={state} empty={(r) => r.length === 0}>{(rows) => {
    const counts = rows.reduce<Record<string, number>>((c, r) => ({ ...c, [r.reason]: (c[r.reason] ?? 0) + 1 }), {});
    return (<>
      <Space style={{ marginBottom: 12 }}>{Object.entries(counts).map(([k, n]) => <Tag key={k}>{k}: {n}</Tag>)}</Space>
      <Table size="small" rowKey={(_, i) => String(i)} dataSource={rows} columns={[{ title: "date", dataIndex: "date" }, { title: "symbol", dataIndex: "symbol" }, { title: "side", dataIndex: "side" }, { title: "reason", dataIndex: "reason" }]} />
    </>);
  }}</PageState>;
}

function Logs({ id }: { id: string }) {
  const { t } = useTranslation();
  const [q, setQ] = useState("");
  const [level, setLevel] = useState<string>();
  const state = useLoad(() => request<{ ts: string; level: string; message: string }[]>(`/api/backtests/${id}/logs?size=200${q ? `&q=${encodeURIComponent(q)}` : ""}${level ? `&level=${level}` : ""}`), [id, q, level]);
  return (
    <>
      <Space style={{ marginBottom: 12 }}>
        <Input.Search aria-label={t("common.search")} placeholder={t("common.search")} allowClear onSearch={setQ} style={{ width: 240 }} />
        <Select aria-label="level" allowClear placeholder="level" value={level} onChange={setLevel} style={{ width: 120 }} options={["INFO", "WARNING", "ERROR"].map((v) => ({ value: v, label: v }))} />
      </Space>
      <PageState state={state} empty={(r) => r.length === 0}>{(rows) => <Table size="small" rowKey={(_, i) => String(i)} dataSource={rows} columns={[{ title: "level", dataIndex: "level", width: 90 }, { title: "message", dataIndex: "message" }]} />}</PageState>
    </>
  );
}

function Diagnostics({ findings }: { findings: Finding[] }) {
  const { t } = useTranslation();
  if (!findings.length) return <ErrorAlert error={new Error(t("backtests.noDiagnostics"))} />;
  const order = ["critical", "error", "warning", "info"];
  const sorted = [...findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
  return (
    <Space direction="vertical" style={{ width: "100%" }} data-testid="diagnostics">
      {sorted.map((f, i) => (
        <Card key={i} size="small" title={<Space><Tag color={SEVERITY[f.severity] ?? "#595959"}>{f.severity}</Tag>{f.title}</Space>} extra={f.diagnostic}>
          {f.suggestion && <p><b>{t("backtests.suggestion")}:</b> {f.suggestion}</p>}
          <pre style={{ fontSize: 12, whiteSpace: "pre-wrap", margin: 0 }}>{JSON.stringify(f.evidence, null, 1)}</pre>
        </Card>
      ))}
    </Space>
  );
}
