// Several backtests side by side: the metrics table and their NAVs overlaid
// (POST /api/backtests/compare); the runs come from ?ids= or the picker.
import { Button, Card, Select, Space, Table, Tag, Tooltip, Typography } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router-dom";
import { json, request } from "../../api/client";
import EChart from "../../charts/EChart";
import { useExpert } from "../../auth/session";
import { PageState, useLoad } from "../../components/State";
import { num, pct } from "../../format";

interface Run { id: string; name: string; status: string }
interface CompareView {
  runs: { id: string; name: string; incomplete: boolean; dates: string[]; nav: (number | null)[] }[];
  metrics: { metric: string; values: Record<string, unknown> }[];
}
interface Metric { name: string; description: string; unit: string }

export default function Compare() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const ids = (params.get("ids") ?? "").split(",").filter(Boolean);
  const [picked, setPicked] = useState<string[]>(ids);
  const expert = useExpert();
  const defs = useLoad(async () => Object.fromEntries((await request<Metric[]>("/api/backtests/metrics")).map((m) => [m.name, m])), []);
  const runs = useLoad(() => request<Run[]>("/api/backtests?size=200&status=completed"), []);
  const view = useLoad(async () => (ids.length >= 2 ? request<CompareView>("/api/backtests/compare", json("POST", { ids })) : undefined), [ids.join(",")]);
  const names = useMemo(() => Object.fromEntries((view.data?.runs ?? []).map((r) => [r.id, r.name || r.id])), [view.data]);
  const option = useMemo(() => ({
    grid: { left: 56, right: 16, top: 32, bottom: 56 }, legend: { top: 0, type: "scroll" }, tooltip: { trigger: "axis" },
    dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
    xAxis: { type: "time" }, yAxis: { type: "value", scale: true },
    series: (view.data?.runs ?? []).map((r) => ({
      name: r.name || r.id, type: "line", symbol: "none", sampling: "lttb",
      data: r.dates.map((d, i) => [d, r.nav[i]]),
    })),
  }), [view.data]);
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("compare.title")}</Typography.Title>
      <Space wrap>
        <Select aria-label={t("compare.pick")} mode="multiple" style={{ minWidth: 420 }} placeholder={t("compare.pick")} value={picked}
          onChange={(v: string[]) => setPicked(v.slice(0, 10))} loading={runs.loading} optionFilterProp="label"
          options={(runs.data ?? []).map((r) => ({ value: r.id, label: r.name || r.id }))} />
        <Button type="primary" disabled={picked.length < 2} onClick={() => setParams({ ids: picked.join(",") })}>{t("compare.run")}</Button>
      </Space>
      {ids.length >= 2 && (
        <PageState state={view}>
          {(v) => v ? (
            <>
              <Card title={t("compare.overlay")}>
                <EChart option={option} height={340} label={t("compare.overlay")} />
              </Card>
              <Card title={t("backtests.metrics")}>
                <Table size="small" rowKey="metric" pagination={false} dataSource={v.metrics} data-testid="compare-metrics"
                  columns={[
                    { title: t("compare.metric"), dataIndex: "metric", render: (m: string) => (
                      <Tooltip title={defs.data?.[m]?.description}><span>{m}</span></Tooltip>
                    ) },
                    // beginners see each metric's definition beside it
                    ...(expert ? [] : [{ title: t("common.details"), key: "definition", render: (_: unknown, row: CompareView["metrics"][number]) => (
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>{defs.data?.[row.metric]?.description}</Typography.Text>
                    ) }]),
                    ...v.runs.map((r) => ({
                      title: <span><Link to={`/backtests/${r.id}`}>{names[r.id]}</Link>{r.incomplete && <Tag style={{ marginLeft: 4 }}>{t("compare.incomplete")}</Tag>}</span>,
                      key: r.id,
                      render: (_: unknown, row: CompareView["metrics"][number]) => {
                        const x = row.values[r.id];
                        return typeof x === "number" ? (defs.data?.[row.metric]?.unit.startsWith("fraction") ? pct(x) : num(x, 3)) : String(x ?? "—");
                      },
                    })),
                  ]} />
              </Card>
            </>
          ) : null}
        </PageState>
      )}
    </Space>
  );
}
