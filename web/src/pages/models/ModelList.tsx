// Model runs: the list with live progress, a new run (data, features, model, train / valid /
// test spans, top-k backtest of the predictions) and selected runs compared side by side.
import { Alert, Button, Card, Form, Input, InputNumber, Progress, Select, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import { json, request } from "../../api/client";
import { useExpert } from "../../auth/session";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { FINAL, useJob } from "../../components/useJob";
import { num, when } from "../../format";
import type { Dataset } from "../datasets/DatasetList";

export interface ModelRun {
  id: string; name: string; status: string; dataset_id: string; dataset_version: number; model: string; seed: number;
  job_id: string | null; summary: Record<string, unknown> | null; error: string | null; created_at: string; finished_at: string | null;
}
interface CompareRow { id: string; name: string; model: string; status: string; signal: Record<string, number | null> | null; backtest: Record<string, number | null> | null; best_rounds: number[] | null }
interface NewRun {
  name: string; dataset_id: string; features: string; model: string; train: [string, string]; valid?: [string, string]; test: [string, string];
  topk: number; n_drop: number; seed: number;
}

const MODELS = ["lightgbm", "linear", "ridge", "lasso", "mlp"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function RunProgress({ run, onEnd }: { run: ModelRun; onEnd?: () => void }) {
  const live = !FINAL.includes(run.status) && run.job_id;
  const { job } = useJob(live ? run.job_id : null, onEnd, 2000);
  if (!live) return <Tag color={run.status === "completed" ? "#237804" : run.status === "failed" ? "#a8071a" : undefined}>{run.status}</Tag>;
  return <Progress percent={Math.round(job?.percentage ?? 0)} size="small" style={{ width: 140 }} aria-label={run.name || run.id} />;
}

function Span({ name, label, required }: { name: string; label: string; required?: boolean }) {
  const { t } = useTranslation();
  const rule = { pattern: DATE, message: t("models.dateFormat") };
  return (
    <Form.Item label={label} required={required} style={{ marginBottom: 8 }}>
      <Space.Compact>
        <Form.Item name={[name, 0]} noStyle rules={[...(required ? [{ required: true, message: t("login.required") }] : []), rule]}>
          <Input aria-label={`${label} ${t("models.from")}`} placeholder="2014-01-01" style={{ width: 130 }} />
        </Form.Item>
        <Form.Item name={[name, 1]} noStyle rules={[...(required ? [{ required: true, message: t("login.required") }] : []), rule]}>
          <Input aria-label={`${label} ${t("models.to")}`} placeholder="2016-12-31" style={{ width: 130 }} />
        </Form.Item>
      </Space.Compact>
    </Form.Item>
  );
}

function NewModelRun() {
  const { t } = useTranslation();
  const expert = useExpert();
  const navigate = useNavigate();
  const [form] = Form.useForm<NewRun>();
  const datasets = useLoad(() => request<Dataset[]>("/api/datasets?size=200"), []);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (v: NewRun) => {
    setError(undefined); setBusy(true);
    try {
      const valid = v.valid?.[0] && v.valid?.[1] ? v.valid : null;
      const body = {
        name: v.name ?? "", dataset_id: v.dataset_id, features: v.features, model: v.model, seed: v.seed ?? 0,
        segments: { train: v.train, valid, test: v.test }, backtest: { topk: v.topk, n_drop: v.n_drop },
      };
      const started = await request<{ id: string }>("/api/models", json("POST", body));
      navigate(`/models/${started.id}`);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <Card title={t("models.new")} data-testid="new-model-run" style={{ marginBottom: 16 }}>
      {!expert && <Alert type="info" showIcon title={t("models.help")} style={{ marginBottom: 12 }} />}
      <Form form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ features: "Alpha158", model: "lightgbm", topk: 50, n_drop: 5, seed: 0 }}>
        <Space wrap align="start">
          <Form.Item name="name" label={t("common.name")} style={{ marginBottom: 8 }}><Input style={{ width: 200 }} maxLength={120} /></Form.Item>
          <Form.Item name="dataset_id" label={t("models.dataset")} rules={[{ required: true, message: t("login.required") }]} style={{ marginBottom: 8 }}>
            <Select style={{ width: 240 }} loading={datasets.loading} options={(datasets.data ?? []).map((d) => ({ value: d.id, label: d.name }))} />
          </Form.Item>
          <Form.Item name="features" label={t("models.features")} style={{ marginBottom: 8 }}>
            <Select style={{ width: 140 }} options={["Alpha158", "Alpha360"].map((f) => ({ value: f, label: f }))} />
          </Form.Item>
          <Form.Item name="model" label={t("models.model")} style={{ marginBottom: 8 }}>
            <Select style={{ width: 140 }} options={MODELS.map((m) => ({ value: m, label: m }))} />
          </Form.Item>
        </Space>
        <Space wrap align="start">
          <Span name="train" label={t("models.train")} required />
          <Span name="valid" label={t("models.valid")} />
          <Span name="test" label={t("models.test")} required />
        </Space>
        {expert && (
          <Space wrap align="start">
            <Form.Item name="topk" label={t("models.topk")}><InputNumber min={1} max={1000} /></Form.Item>
            <Form.Item name="n_drop" label={t("models.nDrop")}><InputNumber min={0} max={1000} /></Form.Item>
            <Form.Item name="seed" label={t("models.seed")}><InputNumber min={0} /></Form.Item>
          </Space>
        )}
        {error !== undefined && <div style={{ marginBottom: 8 }}><ErrorAlert error={error} /></div>}
        <Button type="primary" htmlType="submit" loading={busy}>{t("models.start")}</Button>
      </Form>
    </Card>
  );
}

function CompareTable({ rows }: { rows: CompareRow[] }) {
  const { t } = useTranslation();
  const keys = ["ic", "icir", "rank_ic", "rank_icir"];
  const bt = ["annualized_excess_return_with_cost", "information_ratio_with_cost", "max_drawdown_with_cost"];
  return (
    <Table<CompareRow> rowKey="id" size="small" pagination={false} dataSource={rows} data-testid="model-compare" scroll={{ x: true }} columns={[
      { title: t("common.name"), render: (_, r) => <Link to={`/models/${r.id}`}>{r.name || r.id}</Link> },
      { title: t("models.model"), dataIndex: "model" },
      ...keys.map((k) => ({ title: k, key: k, render: (_: unknown, r: CompareRow) => num(r.signal?.[k]) })),
      ...bt.map((k) => ({ title: t(`models.bt.${k}`), key: k, render: (_: unknown, r: CompareRow) => num(r.backtest?.[k]) })),
      { title: t("models.bestRounds"), render: (_, r) => (r.best_rounds ?? []).join(", ") || "—" },
    ]} />
  );
}

export default function ModelList() {
  const { t } = useTranslation();
  const state = useLoad(() => request<ModelRun[]>("/api/models?size=100"), []);
  const [picked, setPicked] = useState<string[]>([]);
  const [compared, setCompared] = useState<CompareRow[]>();
  const [error, setError] = useState<unknown>();
  const compare = async () => {
    setError(undefined);
    try { setCompared(await request<CompareRow[]>("/api/models/compare", json("POST", { ids: picked }))); } catch (e) { setError(e); }
  };
  return (
    <>
      <Typography.Title level={2}>{t("models.title")}</Typography.Title>
      <NewModelRun />
      <PageState state={state}>
        {(rows) => (
          <Card title={t("models.runs")} extra={<Button onClick={() => void compare()} disabled={picked.length < 2} data-testid="compare-models">{t("models.compare")}</Button>}>
            <Table<ModelRun> rowKey="id" size="small" dataSource={rows} data-testid="model-runs" locale={{ emptyText: t("common.empty") }}
              rowSelection={{ selectedRowKeys: picked, onChange: (k) => setPicked(k.map(String).slice(0, 10)),
                getCheckboxProps: (r) => ({ disabled: r.status !== "completed", "aria-label": r.name || r.id }) }} columns={[
                { title: t("common.name"), dataIndex: "name", render: (v, r) => <Link to={`/models/${r.id}`}>{v || r.id}</Link> },
                { title: t("models.model"), dataIndex: "model" },
                { title: t("common.status"), render: (_, r) => <RunProgress run={r} onEnd={state.reload} /> },
                { title: "IC", render: (_, r) => num((r.summary?.signal as Record<string, number> | undefined)?.ic) },
                { title: t("common.created"), dataIndex: "created_at", render: when },
              ]} />
            {error !== undefined && <ErrorAlert error={error} />}
            {compared && <CompareTable rows={compared} />}
          </Card>
        )}
      </PageState>
    </>
  );
}
