// The preprocessing (transform pipeline) editor of a dataset: steps edited as forms (and as
// JSON in expert mode), a live preview on a sample with before/after histograms, templates,
// and a job that writes the result as a new version.
import { Alert, Button, Card, Col, Descriptions, Input, Row, Select, Space, Table, Typography } from "antd";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { json, request } from "../../api/client";
import { useExpert } from "../../auth/session";
import EChart from "../../charts/EChart";
import { ErrorAlert, useLoad } from "../../components/State";
import { num } from "../../format";
import FilterStep from "./FilterStep";

export type Step = Record<string, unknown> & { op: string };
interface Hist { edges: number[]; before: number[]; after: number[]; missing_before?: number; missing_after?: number; changed?: number; outliers?: number }
interface Preview {
  version: number; note: string | null; rows_before: number; rows_after: number; uses_future_information: boolean;
  steps: { index: number; op: string; method?: string; cells_changed: number; rows_removed: number }[];
  sample: { columns: string[]; before: Record<string, unknown>[]; after: (Record<string, unknown> | null)[] };
  distributions: Record<string, Hist>;
}
interface Template { id: string; name: string; description: string; pipeline: Step[] }

const METHODS: Record<string, string[]> = {
  fill_missing: ["ffill", "bfill", "interpolate", "mean", "median", "constant", "drop_rows"],
  outliers: ["std", "quantile", "iqr", "mad"],
  transform: ["zscore", "rank", "minmax", "log1p", "round", "cast"],
  filter: ["dates"],
};
const ACTIONS = ["clip", "set_nan", "remove_rows", "replace_mean", "replace_median"];
const SCOPES = ["per_symbol_time", "per_day_cross_section", "whole_sample"];
// methods whose statistic spans rows, so the scope matters
const STATISTICAL = new Set(["mean", "median", "std", "quantile", "iqr", "mad", "zscore", "rank", "minmax"]);

/** A valid step with the defaults of ``op`` and ``method``. */
export function makeStep(op: string, method: string, keep?: Step): Step {
  const columns = keep?.columns;
  const base: Step = { op, ...(columns ? { columns } : {}) };
  if (op === "outliers") return { ...base, detect: method, action: (keep?.action as string) ?? "clip", scope: "per_symbol_time" };
  if (op === "filter") return { ...base, start: (keep?.start as string) ?? "2015-01-01" };
  const step: Step = { ...base, method };
  if (STATISTICAL.has(method)) step.scope = method === "mean" || method === "median" ? "per_symbol_time" : "per_day_cross_section";
  if (method === "constant") step.value = 0;
  if (method === "round") step.decimals = 2;
  if (method === "cast") step.dtype = "float";
  return step;
}

function methodOf(step: Step): string {
  return step.op === "outliers" ? String(step.detect) : step.op === "filter" ? "dates" : String(step.method);
}

function StepEditor({ step, index, fields, onChange, onRemove, expert }: {
  step: Step; index: number; fields: string[]; onChange(s: Step): void; onRemove(): void; expert: boolean;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState(JSON.stringify(step));
  const [bad, setBad] = useState(false);
  useEffect(() => setText(JSON.stringify(step)), [step]);
  const method = methodOf(step);
  const n = index + 1;
  return (
    <Card size="small" title={`${n}. ${step.op} · ${method}`} data-testid="pipeline-step"
      extra={<Button size="small" danger onClick={onRemove}>{t("common.delete")}</Button>}>
      <Space wrap align="start">
        <Select aria-label={`${t("preprocess.op")} ${n}`} style={{ width: 140 }} value={step.op}
          onChange={(op: string) => onChange(makeStep(op, METHODS[op][0], step))} options={Object.keys(METHODS).map((o) => ({ value: o, label: o }))} />
        {step.op !== "filter" && (
          <Select aria-label={`${step.op === "outliers" ? t("preprocess.detect") : t("preprocess.method")} ${n}`} style={{ width: 130 }} value={method}
            onChange={(m: string) => onChange(makeStep(step.op, m, step))} options={METHODS[step.op].map((m) => ({ value: m, label: m }))} />
        )}
        {step.op === "outliers" && (
          <Select aria-label={`${t("preprocess.action")} ${n}`} style={{ width: 150 }} value={step.action as string}
            onChange={(a: string) => onChange({ ...step, action: a })} options={ACTIONS.map((a) => ({ value: a, label: a }))} />
        )}
        {"scope" in step && method !== "mad" && (
          <Select aria-label={`${t("preprocess.scope")} ${n}`} style={{ width: 200 }} value={step.scope as string}
            onChange={(s: string) => { const next: Step = { ...step, scope: s }; if (s !== "per_symbol_time") delete next.window; onChange(next); }}
            options={SCOPES.map((s) => ({ value: s, label: t(`preprocess.${s}`) }))} />
        )}
        {step.op !== "filter" && (
          <Select aria-label={`${t("preprocess.columns")} ${n}`} mode="multiple" allowClear style={{ minWidth: 220 }} placeholder={t("preprocess.allColumns")}
            value={(step.columns as string[] | undefined) ?? []} options={fields.map((f) => ({ value: f, label: f }))}
            onChange={(cols: string[]) => { const next = { ...step }; if (cols.length) next.columns = cols; else delete next.columns; onChange(next); }} />
        )}
      </Space>
      {step.op === "filter" && <div style={{ marginTop: 8 }}><FilterStep step={step} n={n} fields={fields} onChange={onChange} /></div>}
      {expert && (
        <Input.TextArea aria-label={`${t("preprocess.stepJson")} ${n}`} rows={2} value={text} status={bad ? "error" : undefined}
          style={{ marginTop: 8, fontFamily: "monospace", fontSize: 12 }}
          onChange={(e) => {
            setText(e.target.value);
            try { onChange(JSON.parse(e.target.value) as Step); setBad(false); } catch { setBad(true); }
          }} />
      )}
      {bad && <Typography.Text type="danger">{t("preprocess.invalidJson")}</Typography.Text>}
    </Card>
  );
}

function Histogram({ name, h }: { name: string; h: Hist }) {
  const { t } = useTranslation();
  const option = useMemo(() => {
    const labels = h.before.map((_, i) => num((h.edges[i] + h.edges[i + 1]) / 2, 3));
    return {
      grid: { left: 48, right: 8, top: 28, bottom: 24 }, legend: { top: 0 }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: labels }, yAxis: { type: "value" },
      series: [
        { name: t("preprocess.before"), type: "bar", data: h.before, itemStyle: { color: "#8c8c8c" } },
        { name: t("preprocess.after"), type: "bar", data: h.after, itemStyle: { color: "#0958d9" } },
      ],
    };
  }, [h, t]);
  return <EChart option={option} height={200} label={`${name} ${t("preprocess.distribution")}`} />;
}

export default function Preprocessing({ datasetId, fields, onExecuted }: { datasetId: string; fields: string[]; onExecuted(): void }) {
  const { t } = useTranslation();
  const expert = useExpert();
  const [steps, setSteps] = useState<Step[]>([makeStep("fill_missing", "ffill")]);
  const [preview, setPreview] = useState<Preview>();
  const [previewError, setPreviewError] = useState<unknown>();
  const [error, setError] = useState<unknown>();
  const [column, setColumn] = useState<string>();
  const [note, setNote] = useState("");
  const [job, setJob] = useState<{ id: string; status: string }>();
  const [templateName, setTemplateName] = useState("");
  const templates = useLoad(() => request<Template[]>("/api/preprocessing/templates?size=20"), []);

  // live preview: re-run a moment after the last edit
  const key = JSON.stringify(steps);
  useEffect(() => {
    if (!steps.length) { setPreview(undefined); return; }
    let live = true;
    const timer = setTimeout(() => {
      request<Preview>("/api/preprocessing/preview", json("POST", { dataset_id: datasetId, pipeline: steps, sample_rows: 20, bins: 30 }))
        .then((p) => { if (live) { setPreview(p); setPreviewError(undefined); } })
        .catch((e) => live && setPreviewError(e));
    }, 400);
    return () => { live = false; clearTimeout(timer); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [datasetId, key]);

  const execute = async () => {
    setError(undefined);
    try {
      const r = await request<{ job_id: string }>("/api/preprocessing/execute", json("POST", { dataset_id: datasetId, pipeline: steps, note }));
      setJob({ id: r.job_id, status: "pending" });
    } catch (e) { setError(e); }
  };
  // follow the job; once it is done the new version shows in the versions tab
  useEffect(() => {
    if (!job || !["pending", "running"].includes(job.status)) return;
    const timer = setTimeout(() => {
      request<{ status: string; error?: string | null }>(`/api/tasks/${job.id}`)
        .then((j) => {
          setJob({ id: job.id, status: j.status });
          if (j.status === "completed") onExecuted();
          if (j.status === "failed") setError(new Error(j.error ?? "failed"));
        })
        .catch(setError);
    }, 1000);
    return () => clearTimeout(timer);
  }, [job, onExecuted]);
  const saveTemplate = async () => {
    setError(undefined);
    try {
      await request("/api/preprocessing/templates", json("POST", { name: templateName, pipeline: steps }));
      setTemplateName("");
      templates.reload();
    } catch (e) { setError(e); }
  };

  const columns = preview ? Object.keys(preview.distributions) : [];
  const shown = column && columns.includes(column) ? column : columns[0];
  const sampleCols = preview?.sample.columns ?? [];
  return (
    <Space direction="vertical" style={{ width: "100%" }} data-testid="preprocessing">
      {!expert && <Alert type="info" showIcon title={t("preprocess.help")} />}
      {error !== undefined && <ErrorAlert error={error} />}
      <Row gutter={16}>
        <Col xs={24} xl={12}>
          <Card title={t("preprocess.steps")} extra={
            <Select aria-label={t("preprocess.loadTemplate")} placeholder={t("preprocess.loadTemplate")} style={{ width: 200 }} value={null}
              loading={templates.loading} options={(templates.data ?? []).map((x) => ({ value: x.id, label: x.name }))}
              onChange={(id: string) => { const x = templates.data?.find((y) => y.id === id); if (x) setSteps(x.pipeline); }} />
          }>
            <Space direction="vertical" style={{ width: "100%" }}>
              {steps.length === 0 && <Typography.Text>{t("preprocess.noSteps")}</Typography.Text>}
              {steps.map((s, i) => (
                <StepEditor key={i} step={s} index={i} fields={fields} expert={expert}
                  onChange={(next) => setSteps((all) => all.map((x, k) => (k === i ? next : x)))}
                  onRemove={() => setSteps((all) => all.filter((_, k) => k !== i))} />
              ))}
              <Select aria-label={t("preprocess.addStep")} placeholder={t("preprocess.addStep")} style={{ width: 240 }} value={null} showSearch optionFilterProp="label"
                onChange={(v: string) => { const [op, m] = v.split(":"); setSteps((all) => [...all, makeStep(op, m)]); }}
                options={Object.entries(METHODS).flatMap(([op, ms]) => ms.map((m) => ({ value: `${op}:${m}`, label: `${op} · ${m}` })))} />
              <Space wrap>
                <Input aria-label={t("preprocess.note")} placeholder={t("preprocess.note")} value={note} onChange={(e) => setNote(e.target.value)} style={{ width: 220 }} />
                <Button type="primary" disabled={!steps.length} onClick={() => void execute()}>{t("preprocess.execute")}</Button>
              </Space>
              {job && <Alert type={job.status === "completed" ? "success" : "info"} showIcon data-testid="preprocess-job"
                title={<span>{t(job.status === "completed" ? "preprocess.built" : "preprocess.executed", { job: job.id })} <Link to="/tasks" style={{ textDecoration: "underline" }}>{t("nav.tasks")}</Link></span>} />}
              <Space wrap>
                <Input aria-label={t("preprocess.templateName")} placeholder={t("preprocess.templateName")} value={templateName} onChange={(e) => setTemplateName(e.target.value)} style={{ width: 220 }} />
                <Button disabled={!templateName || !steps.length} onClick={() => void saveTemplate()}>{t("preprocess.saveTemplate")}</Button>
              </Space>
            </Space>
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card title={t("preprocess.preview")} data-testid="preprocess-preview">
            {previewError !== undefined && <ErrorAlert error={previewError} />}
            {preview && (
              <Space direction="vertical" style={{ width: "100%" }}>
                {preview.uses_future_information && <Alert type="warning" showIcon title={t("preprocess.future")} />}
                {preview.note && <Typography.Text type="secondary">{preview.note}</Typography.Text>}
                <Descriptions size="small" column={2} items={[
                  { label: t("preprocess.rowsBefore"), children: <span data-testid="rows-before">{preview.rows_before}</span> },
                  { label: t("preprocess.rowsAfter"), children: <span data-testid="rows-after">{preview.rows_after}</span> },
                ]} />
                <Table size="small" pagination={false} rowKey="index" dataSource={preview.steps} columns={[
                  { title: "#", dataIndex: "index", render: (i: number) => i + 1 },
                  { title: t("preprocess.op"), render: (_, s) => `${s.op} · ${s.method ?? ""}` },
                  { title: t("preprocess.changed"), dataIndex: "cells_changed" },
                  { title: t("preprocess.removed"), dataIndex: "rows_removed" },
                ]} />
                {shown && (
                  <>
                    <Space>
                      <Typography.Text strong>{t("preprocess.distribution")}</Typography.Text>
                      <Select aria-label={t("preprocess.columns")} value={shown} onChange={setColumn} style={{ width: 140 }}
                        options={columns.map((c) => ({ value: c, label: c }))} />
                      <Typography.Text type="secondary">
                        {t("preprocess.changed")}: {preview.distributions[shown].changed ?? 0} · {t("datasets.missing")}: {preview.distributions[shown].missing_before ?? 0} → {preview.distributions[shown].missing_after ?? 0}
                      </Typography.Text>
                    </Space>
                    <Histogram name={shown} h={preview.distributions[shown]} />
                  </>
                )}
              </Space>
            )}
          </Card>
        </Col>
      </Row>
      {preview && preview.sample.before.length > 0 && (
        <Card size="small" title={t("preprocess.sample")}>
          <Table size="small" scroll={{ x: true }} pagination={false} rowKey={(_, i) => String(i)}
            dataSource={preview.sample.before.map((b, i) => ({ b, a: preview.sample.after[i] }))}
            columns={sampleCols.map((c) => ({
              title: c, render: (_: unknown, r: { b: Record<string, unknown>; a: Record<string, unknown> | null }) => {
                const fmt = (v: unknown) => (typeof v === "number" ? num(v) : String(v ?? "∅"));
                if (c === "date" || c === "symbol") return fmt(r.b[c]);
                if (!r.a) return <Typography.Text delete>{fmt(r.b[c])}</Typography.Text>;
                return r.a[c] === r.b[c] ? fmt(r.b[c]) : <span>{fmt(r.b[c])} → <b>{fmt(r.a[c])}</b></span>;
              },
            }))} />
        </Card>
      )}
    </Space>
  );
}
