// Study views beyond one objective: the Pareto front of a multi-objective study (every trial,
// the non-dominated ones highlighted), parallel coordinates of parameters against objectives,
// and a walk-forward study's stitched out-of-sample equity with parameter stability.
import { Card, Col, Descriptions, Row, Statistic, Table, Typography } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { request, requestAll } from "../../api/client";
import { useExpert } from "../../auth/session";
import EChart from "../../charts/EChart";
import { PageState, useLoad } from "../../components/State";

interface Trial { number: number; params: Record<string, number>; values: (number | null)[]; feasible: boolean }
interface Window { train_start: string; train_end: string; test_start: string; test_end: string; params: Record<string, number> | null; in_sample: number | null; out_of_sample: number | null }
interface WalkForward { windows: Window[]; dates: string[]; equity: number[]; metrics: Record<string, unknown>; stability: Record<string, Record<string, number | null>> }

const fmt = (v: unknown, d = 4) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "—");

/** The objectives' names, as the study stored them (text or {metric, direction}). */
export function objectiveNames(objectives: unknown[]): string[] {
  return objectives.map((o) => (typeof o === "string" ? o : String((o as { metric?: string; name?: string }).metric ?? (o as { name?: string }).name ?? "?")));
}

export function ParetoView({ studyId, objectives, status }: { studyId: string; objectives: string[]; status: string }) {
  const { t } = useTranslation();
  const expert = useExpert();
  const state = useLoad(async () => {
    const [all, front] = await Promise.all([
      requestAll<Trial>(`/api/studies/${studyId}/trials?sort=number&order=asc`, 5000),
      request<Trial[]>(`/api/studies/${studyId}/pareto`),
    ]);
    return { all, front };
  }, [studyId, status]);
  const option = useMemo(() => {
    const d = state.data;
    if (!d) return {};
    const onFront = new Set(d.front.map((f) => f.number));
    const point = (tr: Trial) => [tr.values[0], tr.values[1], tr.number];
    const ok = (tr: Trial) => tr.values[0] != null && tr.values[1] != null;
    return {
      tooltip: { formatter: (p: { value: number[] }) => `#${p.value[2]}: ${fmt(p.value[0])}, ${fmt(p.value[1])}` },
      legend: { top: 0 }, grid: { left: 64, right: 24, top: 32, bottom: 40 },
      xAxis: { type: "value", scale: true, name: objectives[0], nameLocation: "middle", nameGap: 24 },
      yAxis: { type: "value", scale: true, name: objectives[1] },
      series: [
        { type: "scatter", name: t("studyViews.trials"), symbolSize: 6, itemStyle: { color: "#8c8c8c" }, data: d.all.filter((x) => ok(x) && !onFront.has(x.number)).map(point) },
        { type: "line", name: t("studyViews.front"), symbolSize: 9, itemStyle: { color: "#cf1322" }, lineStyle: { type: "dashed" },
          data: d.front.filter(ok).map(point).sort((a, b) => (a[0] as number) - (b[0] as number)) },
      ],
    };
  }, [state.data, objectives, t]);
  return (
    <Card size="small" title={t("studyViews.pareto")} data-testid="study-pareto">
      {!expert && <Typography.Paragraph type="secondary">{t("studyViews.paretoHelp")}</Typography.Paragraph>}
      <PageState state={state} empty={(d) => d.all.length === 0}>
        {(d) => (
          <>
            <EChart option={option} height={300} label={t("studyViews.pareto")} />
            <Typography.Text type="secondary">{t("studyViews.frontSize", { n: d.front.length, total: d.all.length })}</Typography.Text>
          </>
        )}
      </PageState>
    </Card>
  );
}

export function ParallelView({ studyId, params, objectives, status }: { studyId: string; params: string[]; objectives: string[]; status: string }) {
  const { t } = useTranslation();
  const state = useLoad(() => requestAll<Trial>(`/api/studies/${studyId}/trials?sort=number&order=asc`, 5000), [studyId, status]);
  const option = useMemo(() => {
    const axes = [...params, ...objectives];
    const rows = (state.data ?? []).map((tr) => [...params.map((p) => tr.params[p]), ...objectives.map((_, i) => tr.values[i] ?? null)]);
    const last = objectives.length ? axes.length - objectives.length : axes.length - 1;
    return {
      tooltip: {}, parallelAxis: axes.map((name, dim) => ({ dim, name, scale: true })),
      parallel: { left: 48, right: 64, top: 40, bottom: 32 },
      visualMap: { show: false, dimension: last, min: Math.min(...rows.map((r) => r[last] ?? 0)), max: Math.max(...rows.map((r) => r[last] ?? 0)), inRange: { color: ["#d4b106", "#0958d9"] } },
      series: [{ type: "parallel", lineStyle: { width: 1, opacity: 0.6 }, data: rows }],
    };
  }, [state.data, params, objectives]);
  return (
    <Card size="small" title={t("studyViews.parallel")} data-testid="study-parallel">
      <PageState state={state} empty={(d) => d.length === 0}>{() => <EChart option={option} height={300} label={t("studyViews.parallel")} />}</PageState>
    </Card>
  );
}

export function WalkForwardView({ studyId, status }: { studyId: string; status: string }) {
  const { t } = useTranslation();
  const expert = useExpert();
  const state = useLoad(() => request<WalkForward>(`/api/studies/${studyId}/walk-forward`), [studyId, status]);
  const option = useMemo(() => ({
    tooltip: { trigger: "axis" }, grid: { left: 64, right: 16, top: 16, bottom: 32 },
    xAxis: { type: "category", data: state.data?.dates ?? [] }, yAxis: { type: "value", scale: true },
    series: [{ type: "line", symbol: "none", name: t("studyViews.oosEquity"), data: state.data?.equity ?? [] }],
  }), [state.data, t]);
  return (
    <Card size="small" title={t("studyViews.walkForward")} data-testid="study-walk-forward">
      {!expert && <Typography.Paragraph type="secondary">{t("studyViews.walkForwardHelp")}</Typography.Paragraph>}
      <PageState state={state}>
        {(wf) => (
          <>
            <EChart option={option} height={260} label={t("studyViews.oosEquity")} />
            <Row gutter={16} style={{ marginTop: 8 }}>
              {["sharpe_ratio", "total_return", "max_drawdown"].map((m) => <Col key={m} span={8}><Statistic title={m} value={fmt(wf.metrics[m])} /></Col>)}
            </Row>
            <Typography.Title level={5} style={{ marginTop: 12 }}>{t("studyViews.stability")}</Typography.Title>
            <Descriptions size="small" column={2} items={Object.entries(wf.stability).map(([p, s]) => ({
              key: p, label: p, children: Object.entries(s).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(" · "),
            }))} />
            <Table<Window> rowKey="test_start" size="small" pagination={false} dataSource={wf.windows} scroll={{ x: true }} style={{ marginTop: 8 }} columns={[
              { title: t("studyViews.train"), render: (_, w) => `${w.train_start} — ${w.train_end}` },
              { title: t("studyViews.test"), render: (_, w) => `${w.test_start} — ${w.test_end}` },
              { title: t("studyViews.params"), render: (_, w) => (w.params ? Object.entries(w.params).map(([k, v]) => `${k} = ${v}`).join(", ") : "—") },
              { title: t("studyViews.inSample"), render: (_, w) => fmt(w.in_sample) },
              { title: t("studyViews.outOfSample"), render: (_, w) => fmt(w.out_of_sample) },
            ]} />
          </>
        )}
      </PageState>
    </Card>
  );
}
