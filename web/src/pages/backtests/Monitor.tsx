// Live run monitor over /ws/tasks/{job} (ticket from POST /api/tasks/{job}/ws-ticket):
// progress, stage, current date, ETA, running equity, streaming trade log; pause/resume/cancel.
import { Button, Card, Col, List, Progress, Row, Space, Statistic, Typography } from "antd";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { request } from "../../api/client";
import EChart from "../../charts/EChart";
import { ErrorAlert } from "../../components/State";

// what the socket reported, for the browser tests and benchmarks
const seen = window as unknown as { __quantlabProgress?: number[]; __quantlabStatuses?: string[] };
function record(percent: number | undefined, status: string | undefined) {
  if (typeof percent === "number") (seen.__quantlabProgress ??= []).push(percent);
  if (status) (seen.__quantlabStatuses ??= []).push(status);
}

interface Snapshot { status: string; percentage: number; stage?: string | null; eta_seconds?: number | null; metrics?: { date?: string; equity?: number } | null }

export default function Monitor({ jobId, onDone }: { jobId: string; onDone(): void }) {
  const { t } = useTranslation();
  const [snap, setSnap] = useState<Snapshot>({ status: "pending", percentage: 0 });
  const [equity, setEquity] = useState<[string, number][]>([]);
  const [log, setLog] = useState<string[]>([]);
  const [error, setError] = useState<unknown>();
  const [connection, setConnection] = useState(0);
  const done = useRef(onDone);
  done.current = onDone;

  useEffect(() => {
    let ws: WebSocket | null = null;
    let closed = false;
    request<{ url: string }>(`/api/tasks/${jobId}/ws-ticket`, { method: "POST" })
      .then(({ url }) => {
        if (closed) return;
        const proto = location.protocol === "https:" ? "wss" : "ws";
        ws = new WebSocket(`${proto}://${location.host}${url}`);
        ws.onmessage = (ev) => {
          const msg = JSON.parse(ev.data);
          if (msg.type === "connected") record(msg.data.percentage, msg.data.status);
          else if (msg.type === "progress") record(msg.data.percentage, msg.data.stage === "paused" ? "paused" : undefined);
          else if (msg.type === "completion") record(undefined, msg.data.status);
          if (msg.type === "connected") setSnap(msg.data);
          else if (msg.type === "progress") setSnap((s) => ({ ...s, ...msg.data, status: msg.data.stage === "paused" ? "paused" : "running" }));
          else if (msg.type === "metrics") {
            setSnap((s) => ({ ...s, metrics: msg.data }));
            if (msg.data?.date && typeof msg.data.equity === "number") setEquity((e) => [...e, [msg.data.date, msg.data.equity]]);
          } else if (msg.type === "log") setLog((l) => [msg.data.message, ...l].slice(0, 200));
          else if (msg.type === "completion") {
            setSnap((s) => ({ ...s, status: msg.data.status, percentage: msg.data.status === "completed" ? 100 : s.percentage }));
            if (msg.data.status !== "paused") done.current();
          }
        };
        ws.onclose = (ev) => {
          // an unexpected drop: reconnect; the first message replays the snapshot
          if (!closed && ev.code !== 1000 && ev.code < 4000) setTimeout(() => setConnection((n) => n + 1), 1000);
        };
      })
      .catch(setError);
    return () => { closed = true; ws?.close(); };
  }, [jobId, connection]);

  const act = async (action: "pause" | "resume" | "cancel") => {
    try {
      const job = await request<Snapshot>(`/api/tasks/${jobId}/${action}`, { method: "POST" });
      setSnap((s) => ({ ...s, status: job.status }));
      if (action === "resume") setConnection((n) => n + 1);
    } catch (e) { setError(e); }
  };
  const option = useMemo(() => ({
    grid: { left: 64, right: 16, top: 16, bottom: 32 }, tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: equity.map((e) => e[0]) }, yAxis: { type: "value", scale: true },
    series: [{ type: "line", symbol: "none", data: equity.map((e) => e[1]) }],
  }), [equity]);
  const pctDone = Math.round(snap.percentage ?? 0);
  return (
    <Card title={t("backtests.monitor")} data-testid="monitor">
      {error !== undefined && <ErrorAlert error={error} />}
      <Progress percent={pctDone} status={snap.status === "failed" ? "exception" : undefined} aria-label={t("common.progress")} data-testid="run-progress" data-percent={pctDone} />
      <Row gutter={16}>
        <Col span={6}><Statistic title={t("common.status")} value={snap.status} /></Col>
        <Col span={6}><Statistic title={t("backtests.currentDate")} value={snap.metrics?.date ?? "—"} /></Col>
        <Col span={6}><Statistic title={t("backtests.eta")} value={snap.eta_seconds != null ? `${Math.round(snap.eta_seconds)} s` : "—"} /></Col>
        <Col span={6}><Statistic title="stage" value={snap.stage ?? "—"} /></Col>
      </Row>
      <Space style={{ margin: "16px 0" }}>
        <Button onClick={() => void act("pause")} disabled={snap.status !== "running"}>{t("backtests.pause")}</Button>
        <Button onClick={() => void act("resume")} disabled={snap.status !== "paused"}>{t("backtests.resume")}</Button>
        <Button danger onClick={() => void act("cancel")} disabled={["completed", "failed", "cancelled"].includes(snap.status)}>{t("backtests.cancel")}</Button>
      </Space>
      {equity.length > 1 && <EChart option={option} height={200} label="equity" />}
      <Typography.Title level={3} style={{ fontSize: 16 }}>{t("backtests.tradeLog")}</Typography.Title>
      {/* a focusable, labelled scroll region so keyboard users can read the log */}
      <div role="log" tabIndex={0} aria-label={t("backtests.tradeLog")} style={{ maxHeight: 240, overflow: "auto" }}>
        <List size="small" bordered dataSource={log} renderItem={(l) => <List.Item>{l}</List.Item>} />
      </div>
    </Card>
  );
}
