// Optimisation studies: the list, and a new study of a saved strategy or a template (the
// searched ranges come from the strategy's parameter schema; grid, random or TPE; objective).
import { Alert, Button, Card, Checkbox, Form, Input, InputNumber, Segmented, Select, Space, Table, Tag, Typography } from "antd";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import { json, request } from "../../api/client";
import { useExpert } from "../../auth/session";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { when } from "../../format";
import type { Dataset } from "../datasets/DatasetList";
import type { Strategy, StrategyDetail } from "../strategies/common";
import { localized } from "../strategies/common";

export interface Study {
  id: string; name: string; status: string; method: string; n_trials: number; dataset_id: string;
  strategy_id: string | null; strategy_version: number | null; template_key: string | null; job_id: string | null;
  summary: Record<string, unknown> | null; error: string | null; created_at: string; finished_at: string | null;
}
export const OBJECTIVES = ["sharpe", "sortino", "calmar", "annual_return", "max_drawdown", "turnover"];
interface ParamSpec { name: string; type: string; default: number; min: number; max: number; step?: number | null }
interface Range { on: boolean; min: number; max: number; step: number | null }

function gridSize(ranges: Record<string, Range>, specs: ParamSpec[]): number {
  let n = 1;
  for (const p of specs) {
    const r = ranges[p.name];
    if (!r?.on) continue;
    const step = r.step ?? (p.type === "int" ? 1 : null);
    n *= step ? Math.max(0, Math.floor((r.max - r.min) / step + 1e-9) + 1) : 10;
  }
  return n;
}

function NewStudy() {
  const { t, i18n } = useTranslation();
  const expert = useExpert();
  const navigate = useNavigate();
  const [source, setSource] = useState<"strategy" | "template">("template");
  const [pick, setPick] = useState<string>();
  const [datasetId, setDatasetId] = useState<string>();
  const [method, setMethod] = useState("grid");
  const [objective, setObjective] = useState("sharpe");
  const [trials, setTrials] = useState(20);
  const [name, setName] = useState("");
  const [ranges, setRanges] = useState<Record<string, Range>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const options = useLoad(() => request<Strategy[]>(source === "template" ? "/api/strategy-templates?size=100" : "/api/strategies?mine=true&size=200"), [source]);
  const datasets = useLoad(() => request<Dataset[]>("/api/datasets?size=200"), []);
  const detail = useLoad(() => (pick ? request<StrategyDetail>(`/api/strategies/${pick}`) : Promise.resolve(undefined)), [pick]);
  const specs: ParamSpec[] = useMemo(() => detail.data?.param_schema ?? [], [detail.data]);
  useEffect(() => {
    setRanges(Object.fromEntries(specs.map((p) => [p.name, { on: true, min: p.min, max: p.max, step: p.step ?? null }])));
  }, [specs]);
  const dsId = datasetId ?? datasets.data?.[0]?.id;
  const size = gridSize(ranges, specs);
  const submit = async () => {
    setError(undefined);
    setBusy(true);
    try {
      const parameters = Object.fromEntries(Object.entries(ranges).filter(([, r]) => r.on)
        .map(([k, r]) => [k, { min: r.min, max: r.max, ...(r.step ? { step: r.step } : {}) }]));
      const src = source === "template" ? { template: detail.data?.template_key } : { strategy_id: pick };
      const body = {
        name: name || (detail.data ? localized(detail.data, "name", i18n.language) : ""), ...src, dataset_id: dsId, parameters,
        objectives: [objective], method, ...(method === "grid" ? {} : { n_trials: trials }),
      };
      const started = await request<{ id: string }>("/api/studies", json("POST", body));
      navigate(`/studies/${started.id}`);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  const set = (k: string, patch: Partial<Range>) => setRanges((r) => ({ ...r, [k]: { ...r[k], ...patch } }));
  return (
    <Card title={t("studies.new")} data-testid="new-study" style={{ marginBottom: 16 }}>
      <Form layout="vertical" component="div">
        <Space wrap align="start">
          <Form.Item label={t("studies.source")}>
            <Segmented aria-label={t("studies.source")} value={source} onChange={(v) => { setSource(v as "strategy" | "template"); setPick(undefined); }}
              options={[{ value: "template", label: t("studies.template") }, { value: "strategy", label: t("studies.strategy") }]} />
          </Form.Item>
          <Form.Item label={source === "template" ? t("studies.template") : t("studies.strategy")}>
            <Select aria-label={t("studies.pick")} data-testid="study-source" showSearch optionFilterProp="label" style={{ width: 300 }} value={pick} onChange={setPick} loading={options.loading}
              options={(options.data ?? []).map((s) => ({ value: s.id, label: localized(s, "name", i18n.language) }))} />
          </Form.Item>
          <Form.Item label={t("studies.dataset")}>
            <Select aria-label={t("studies.dataset")} style={{ width: 240 }} value={dsId} onChange={setDatasetId} loading={datasets.loading}
              options={(datasets.data ?? []).map((d) => ({ value: d.id, label: d.name }))} />
          </Form.Item>
        </Space>
        {!expert && <Typography.Paragraph type="secondary">{t("studies.help")}</Typography.Paragraph>}
        {detail.error !== undefined && <ErrorAlert error={detail.error} />}
        {detail.data && specs.length === 0 && <Alert type="info" showIcon title={t("studies.noSchema")} style={{ marginBottom: 16 }} />}
        {specs.length > 0 && (
          <Table rowKey="name" size="small" pagination={false} dataSource={specs} data-testid="study-ranges" style={{ marginBottom: 16 }} columns={[
            { title: t("studies.search"), render: (_, p) => <Checkbox aria-label={`${t("studies.search")} ${p.name}`} checked={ranges[p.name]?.on} onChange={(e) => set(p.name, { on: e.target.checked })} /> },
            { title: t("common.name"), dataIndex: "name" },
            { title: t("studies.min"), render: (_, p) => <InputNumber aria-label={`${p.name} ${t("studies.min")}`} value={ranges[p.name]?.min} min={p.min} max={p.max} onChange={(v) => v !== null && set(p.name, { min: v })} /> },
            { title: t("studies.max"), render: (_, p) => <InputNumber aria-label={`${p.name} ${t("studies.max")}`} value={ranges[p.name]?.max} min={p.min} max={p.max} onChange={(v) => v !== null && set(p.name, { max: v })} /> },
            { title: t("studies.step"), render: (_, p) => <InputNumber aria-label={`${p.name} ${t("studies.step")}`} value={ranges[p.name]?.step ?? undefined} min={0} onChange={(v) => set(p.name, { step: v })} /> },
            { title: t("studies.default"), dataIndex: "default" },
          ]} />
        )}
        <Space wrap align="start">
          <Form.Item label={t("studies.method")}>
            <Select aria-label={t("studies.method")} style={{ width: 160 }} value={method} onChange={setMethod}
              options={["grid", "random", "tpe"].map((m) => ({ value: m, label: t(`studies.methods.${m}`) }))} />
          </Form.Item>
          {method !== "grid" && (
            <Form.Item label={t("studies.trials")}>
              <InputNumber aria-label={t("studies.trials")} min={1} max={100000} value={trials} onChange={(v) => v && setTrials(v)} />
            </Form.Item>
          )}
          <Form.Item label={t("studies.objective")}>
            <Select aria-label={t("studies.objective")} style={{ width: 180 }} value={objective} onChange={setObjective}
              options={OBJECTIVES.map((o) => ({ value: o, label: t(`studies.objectives.${o}`) }))} />
          </Form.Item>
          <Form.Item label={t("common.name")}>
            <Input aria-label={t("common.name")} value={name} maxLength={120} onChange={(e) => setName(e.target.value)} style={{ width: 220 }} />
          </Form.Item>
        </Space>
        {method === "grid" && specs.length > 0 && <Typography.Paragraph data-testid="grid-size">{t("studies.gridSize", { n: size })}</Typography.Paragraph>}
        {error !== undefined && <ErrorAlert error={error} />}
        <Button type="primary" onClick={() => void submit()} loading={busy} disabled={!pick || !dsId || (source === "template" && !detail.data?.template_key)}>{t("studies.start")}</Button>
      </Form>
    </Card>
  );
}

export default function Studies() {
  const { t } = useTranslation();
  const state = useLoad(() => request<Study[]>("/api/studies?size=100"), []);
  return (
    <>
      <Typography.Title level={2}>{t("studies.title")}</Typography.Title>
      <NewStudy />
      <PageState state={state}>
        {(rows) => (
          <Table rowKey="id" size="small" dataSource={rows} data-testid="studies" locale={{ emptyText: t("common.empty") }} columns={[
            { title: t("common.name"), dataIndex: "name", render: (v, s) => <Link to={`/studies/${s.id}`}>{v || s.id}</Link> },
            { title: t("studies.method"), dataIndex: "method" },
            { title: t("studies.trials"), dataIndex: "n_trials" },
            { title: t("common.status"), dataIndex: "status", render: (v) => <Tag>{v}</Tag> },
            { title: t("common.created"), dataIndex: "created_at", render: when },
          ]} />
        )}
      </PageState>
    </>
  );
}
