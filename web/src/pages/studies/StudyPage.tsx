// One optimisation study: live progress with the best so far, the trials (sortable,
// paginated on the server), a 2-D heat map, sensitivity curves, parameter importance, the
// overfitting report (PBO, deflated Sharpe, findings) and "apply best".
import { Alert, App as AntApp, Button, Card, Col, Descriptions, List, Progress, Row, Select, Space, Statistic, Table, Tag, Typography } from "antd";
import type { TablePaginationConfig } from "antd";
import type { SorterResult, SortOrder } from "antd/es/table/interface";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router-dom";
import { json, request, requestPage } from "../../api/client";
import { useExpert } from "../../auth/session";
import EChart from "../../charts/EChart";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { FINAL } from "../../components/useJob";
import { objectiveNames, ParallelView, ParetoView, WalkForwardView } from "./Analysis";
import type { Study } from "./Studies";

interface Detail extends Study {
  space: { ranges: Record<string, unknown> }; objectives: unknown[]; walk_forward: Record<string, unknown> | null;
  progress: { trials_done: number; trials_total: number; best: Best | null; percentage: number; eta_seconds: number | null; stage: string | null };
}
interface Best { values?: (number | null)[]; params?: Record<string, number>; number?: number }
interface Trial { number: number; params: Record<string, number>; values: (number | null)[]; feasible: boolean; metrics: Record<string, unknown>; seconds: number; state?: "complete" | "pruned" }
interface Heatmap { x_param: string; y_param: string; x: number[]; y: number[]; z: (number | null)[][] }
interface Sensitivity { param: string; values: number[]; best: (number | null)[]; mean: (number | null)[] }
interface Report { n_trials: number; n_obs: number; pbo: number | null; n_splits: number | null; dsr: Record<string, number>; best_trial: number; findings: { severity: string; title: string; suggestion?: string; diagnostic: string }[] }

const fmt = (v: unknown, d = 4) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "—");
const SHOWN = ["sharpe_ratio", "annual_return", "max_drawdown", "total_return"];

function Trials({ study, params }: { study: Detail; params: string[] }) {
  const { t } = useTranslation();
  const [page, setPage] = useState(1);
  const [size, setSize] = useState(10);
  const [sort, setSort] = useState<{ key: string; order: "asc" | "desc" }>({ key: "objective", order: "desc" });
  const navigate = useNavigate();
  const [starting, setStarting] = useState<number>();
  const [error, setError] = useState<unknown>();
  // a full backtest of one trial: every result and diagnostic, with the study's overfitting
  // findings (PBO, deflated Sharpe) joining that run's diagnostics
  const backtest = async (trial: number) => {
    setError(undefined);
    setStarting(trial);
    try {
      const out = await request<{ backtest_id: string }>(`/api/studies/${study.id}/backtest`, json("POST", { trial }));
      navigate(`/backtests/${out.backtest_id}`);
    } catch (e) { setError(e); setStarting(undefined); }
  };
  const state = useLoad(() => requestPage<Trial>(`/api/studies/${study.id}/trials?page=${page}&size=${size}&sort=${sort.key}&order=${sort.order}`),
    [study.id, page, size, sort.key, sort.order, study.progress.trials_done]);
  const sorted = (key: string): SortOrder => (sort.key === key ? (sort.order === "asc" ? "ascend" : "descend") : null);
  const onChange = (p: TablePaginationConfig, _f: unknown, s: SorterResult<Trial> | SorterResult<Trial>[]) => {
    const one = Array.isArray(s) ? s[0] : s;
    if (p.current) setPage(p.current);
    if (p.pageSize) setSize(p.pageSize);
    if (one?.columnKey && one.order) setSort({ key: String(one.columnKey), order: one.order === "ascend" ? "asc" : "desc" });
    else if (one?.columnKey) setSort({ key: "number", order: "asc" });
  };
  if (state.error) return <ErrorAlert error={state.error} onRetry={state.reload} />;
  return (
    <>
    {error !== undefined && <ErrorAlert error={error} />}
    <Table<Trial> rowKey="number" size="small" data-testid="study-trials" loading={state.loading} dataSource={state.data?.items ?? []} onChange={onChange}
      pagination={{ current: page, pageSize: size, total: state.data?.total ?? 0, showSizeChanger: true }} scroll={{ x: true }}
      columns={[
        { title: "#", key: "number", dataIndex: "number", sorter: true, sortOrder: sorted("number") },
        ...params.map((p) => ({ title: p, key: `param-${p}`, render: (_: unknown, r: Trial) => r.params[p] })),
        { title: t("studies.objectiveValue"), key: "objective", sorter: true, sortOrder: sorted("objective"), render: (_: unknown, r: Trial) => fmt(r.values[0]) },
        ...SHOWN.map((m) => ({ title: m, key: m, sorter: true, sortOrder: sorted(m), render: (_: unknown, r: Trial) => fmt(r.metrics[m]) })),
        { title: t("studies.feasible"), key: "feasible", render: (_: unknown, r: Trial) => (r.state === "pruned" ? t("studies.pruned") : r.feasible ? "✓" : "✗") },
        { title: t("studies.seconds"), key: "seconds", sorter: true, sortOrder: sorted("seconds"), render: (_: unknown, r: Trial) => fmt(r.seconds, 2) },
        { title: t("studies.fullBacktest"), key: "backtest", render: (_: unknown, r: Trial) => (r.state === "pruned" ? null : (
          <Button size="small" aria-label={t("studies.backtestTrial", { n: r.number })} loading={starting === r.number}
            disabled={starting !== undefined} onClick={() => void backtest(r.number)}>{t("studies.fullBacktest")}</Button>
        )) },
      ]} />
    </>
  );
}

function HeatmapView({ study, params }: { study: Detail; params: string[] }) {
  const { t } = useTranslation();
  const [x, setX] = useState(params[0]);
  const [y, setY] = useState(params[1]);
  const state = useLoad(() => request<Heatmap>(`/api/studies/${study.id}/heatmap?x=${encodeURIComponent(x)}&y=${encodeURIComponent(y)}`), [study.id, x, y, study.status]);
  const option = useMemo(() => {
    const h = state.data;
    if (!h) return {};
    const data: [number, number, number | string][] = [];
    h.z.forEach((row, j) => row.forEach((v, i) => data.push([i, j, v ?? "-"])));
    const vals = data.map((d) => d[2]).filter((v): v is number => typeof v === "number");
    return {
      tooltip: { position: "top" }, grid: { left: 64, right: 16, top: 24, bottom: 88 },
      xAxis: { type: "category", data: h.x.map(String), name: h.x_param, nameLocation: "middle", nameGap: 24 },
      yAxis: { type: "category", data: h.y.map(String), name: h.y_param },
      visualMap: { min: Math.min(...vals, 0), max: Math.max(...vals, 0), calculable: true, orient: "horizontal", left: "center", bottom: 0 },
      series: [{ type: "heatmap", data, label: { show: data.length <= 64, formatter: (p: { value: [number, number, number | string] }) => (typeof p.value[2] === "number" ? p.value[2].toFixed(2) : "") } }],
    };
  }, [state.data]);
  return (
    <Card size="small" title={t("studies.heatmap")} data-testid="study-heatmap">
      <Space style={{ marginBottom: 8 }}>
        <Select aria-label="x" value={x} onChange={setX} options={params.map((p) => ({ value: p, label: p }))} style={{ width: 140 }} />
        <Select aria-label="y" value={y} onChange={setY} options={params.map((p) => ({ value: p, label: p }))} style={{ width: 140 }} />
      </Space>
      <PageState state={state}>{() => <EChart option={option} height={320} label={t("studies.heatmap")} />}</PageState>
    </Card>
  );
}

function SensitivityView({ study, params }: { study: Detail; params: string[] }) {
  const { t } = useTranslation();
  const [param, setParam] = useState(params[0]);
  const state = useLoad(() => request<Sensitivity>(`/api/studies/${study.id}/sensitivity?param=${encodeURIComponent(param)}`), [study.id, param, study.status]);
  const option = useMemo(() => ({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 56, right: 16, top: 32, bottom: 32 },
    xAxis: { type: "category", data: (state.data?.values ?? []).map(String), name: param },
    yAxis: { type: "value", scale: true },
    series: [
      { type: "line", name: t("studies.best"), data: state.data?.best ?? [] },
      { type: "line", name: t("studies.mean"), data: state.data?.mean ?? [] },
    ],
  }), [state.data, param, t]);
  return (
    <Card size="small" title={t("studies.sensitivity")} data-testid="study-sensitivity">
      <Select aria-label={t("studies.parameter")} value={param} onChange={setParam} options={params.map((p) => ({ value: p, label: p }))} style={{ width: 160, marginBottom: 8 }} />
      <PageState state={state}>{() => <EChart option={option} height={240} label={t("studies.sensitivity")} />}</PageState>
    </Card>
  );
}

function ImportanceView({ study }: { study: Detail }) {
  const { t } = useTranslation();
  const state = useLoad(() => request<{ method: string; importances: Record<string, number> }>(`/api/studies/${study.id}/importance`), [study.id, study.status]);
  const option = useMemo(() => {
    const items = Object.entries(state.data?.importances ?? {}).sort((a, b) => a[1] - b[1]);
    return {
      tooltip: {}, grid: { left: 96, right: 16, top: 8, bottom: 24 },
      xAxis: { type: "value" }, yAxis: { type: "category", data: items.map((i) => i[0]) },
      series: [{ type: "bar", data: items.map((i) => i[1]) }],
    };
  }, [state.data]);
  return (
    <Card size="small" title={t("studies.importance")} data-testid="study-importance">
      <PageState state={state}>{(d) => <><Typography.Text type="secondary">{d.method}</Typography.Text><EChart option={option} height={200} label={t("studies.importance")} /></>}</PageState>
    </Card>
  );
}

function ReportView({ study }: { study: Detail }) {
  const { t } = useTranslation();
  const expert = useExpert();
  const state = useLoad(() => request<Report>(`/api/studies/${study.id}/report`), [study.id, study.status]);
  return (
    <Card size="small" title={t("studies.report")} data-testid="study-report">
      {!expert && <Typography.Paragraph type="secondary">{t("studies.reportHelp")}</Typography.Paragraph>}
      {state.error ? <Alert type="info" showIcon title={t("studies.noReport")} description={(state.error as Error).message} /> : (
        <PageState state={state}>
          {(r) => (
            <>
              <Row gutter={16}>
                <Col span={8}><Statistic title="PBO" value={fmt(r.pbo, 3)} /></Col>
                <Col span={8}><Statistic title={t("studies.dsr")} value={fmt(r.dsr.dsr, 3)} /></Col>
                <Col span={8}><Statistic title={t("studies.bestTrial")} value={r.best_trial} /></Col>
              </Row>
              {expert && (
                <Descriptions size="small" column={2} style={{ marginTop: 8 }} items={Object.entries(r.dsr).map(([k, v]) => ({ key: k, label: k, children: fmt(v) }))} />
              )}
              <List size="small" data-testid="study-findings" dataSource={r.findings} locale={{ emptyText: t("studies.noFindings") }} renderItem={(f) => (
                <List.Item><Space direction="vertical" size={0}>
                  <span><Tag color={f.severity === "critical" ? "#a8071a" : f.severity === "warning" ? "#ad4e00" : "#0958d9"}>{f.severity}</Tag>{f.title}</span>
                  {f.suggestion && <Typography.Text type="secondary">{f.suggestion}</Typography.Text>}
                </Space></List.Item>
              )} />
            </>
          )}
        </PageState>
      )}
    </Card>
  );
}

export default function StudyPage() {
  const { id } = useParams();
  const { t } = useTranslation();
  const { message } = AntApp.useApp();
  const state = useLoad(() => request<Detail>(`/api/studies/${id}`), [id]);
  const [applied, setApplied] = useState<{ strategy_id: string; version: number; trial: number; parameters: Record<string, number> }>();
  const [error, setError] = useState<unknown>();
  const running = state.data !== undefined && !FINAL.includes(state.data.status);
  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(state.reload, 1500);
    return () => clearTimeout(timer);
  }, [running, state.data, state.reload]);
  const apply = async () => {
    setError(undefined);
    try {
      setApplied(await request(`/api/studies/${id}/apply-best`, json("POST", {})));
      message.success(t("studies.applied"));
    } catch (e) { setError(e); }
  };
  return (
    <PageState state={state}>
      {(s) => {
        const params = Object.keys(s.space?.ranges ?? {});
        const objectives = objectiveNames(s.objectives ?? []);
        const best = s.progress.best ?? ((s.summary?.best as Best | null | undefined) ?? null);
        const bestValue = best?.values?.[0];
        const done = s.status === "completed" || (s.status === "cancelled" && s.progress.trials_done > 0);
        return (
          <>
            <Typography.Title level={2}>{t("studies.title")} · {s.name || s.id}</Typography.Title>
            <Card size="small" data-testid="study-progress" style={{ marginBottom: 16 }}>
              <Progress percent={Math.round(s.progress.percentage)} status={s.status === "failed" ? "exception" : undefined} aria-label={t("common.progress")} />
              <Row gutter={16}>
                <Col span={6}><Statistic title={t("common.status")} value={s.status} /></Col>
                <Col span={6}><Statistic title={t("studies.trials")} value={`${s.progress.trials_done} / ${s.progress.trials_total}`} /></Col>
                <Col span={6}><Statistic title={t("studies.bestSoFar")} value={fmt(bestValue)} data-testid="study-best" />
                  {best?.params && <Typography.Text type="secondary">{Object.entries(best.params).map(([k, v]) => `${k} = ${v}`).join(", ")}</Typography.Text>}</Col>
                <Col span={6}><Statistic title={t("backtests.eta")} value={s.progress.eta_seconds != null ? `${Math.round(s.progress.eta_seconds)} s` : "—"} /></Col>
              </Row>
              {s.error && <Alert type="error" showIcon title={s.error} style={{ marginTop: 8 }} />}
              <Space style={{ marginTop: 12 }}>
                <Button type="primary" onClick={() => void apply()} disabled={!done || !s.strategy_id}>{t("studies.applyBest")}</Button>
                {!s.strategy_id && <Typography.Text type="secondary">{t("studies.applyHelp")}</Typography.Text>}
              </Space>
              {error !== undefined && <ErrorAlert error={error} />}
              {applied && (
                <Alert type="success" showIcon style={{ marginTop: 8 }} data-testid="applied"
                  title={<span>{t("studies.appliedTrial", { n: applied.trial })} {JSON.stringify(applied.parameters)} · <Link to={`/strategies/${applied.strategy_id}`} style={{ textDecoration: "underline" }}>v{applied.version}</Link></span>} />
              )}
            </Card>
            {s.progress.trials_done > 0 && (
              <Space direction="vertical" style={{ width: "100%" }} size={16}>
                <Card size="small" title={t("studies.trialsTable")}><Trials study={s} params={params} /></Card>
                {done && (
                  <>
                    <Row gutter={16}>
                      <Col xs={24} xl={12}>{params.length >= 2 ? <HeatmapView study={s} params={params} /> : <SensitivityView study={s} params={params} />}</Col>
                      <Col xs={24} xl={12}>{params.length >= 2 ? <SensitivityView study={s} params={params} /> : <ImportanceView study={s} />}</Col>
                    </Row>
                    <Row gutter={16}>
                      {params.length >= 2 && <Col xs={24} xl={12}><ImportanceView study={s} /></Col>}
                      <Col xs={24} xl={12}><ReportView study={s} /></Col>
                    </Row>
                    <Row gutter={16}>
                      {objectives.length >= 2 && <Col xs={24} xl={12}><ParetoView studyId={s.id} objectives={objectives} status={s.status} /></Col>}
                      <Col xs={24} xl={12}><ParallelView studyId={s.id} params={params} objectives={objectives} status={s.status} /></Col>
                    </Row>
                    {s.walk_forward && <WalkForwardView studyId={s.id} status={s.status} />}
                  </>
                )}
              </Space>
            )}
          </>
        );
      }}
    </PageState>
  );
}
