// One model run: progress while it trains; then the prediction IC (signal analysis), the
// learning curve, feature importance, the top-k backtest of the predictions, "save the
// predictions as a factor" for the factor lab and strategies, and a full backtest that trades
// the predictions as a scores strategy.
import { Alert, Button, Card, Col, Descriptions, Form, Input, InputNumber, Row, Select, Space, Statistic, Typography } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router-dom";
import { json, request } from "../../api/client";
import { useExpert } from "../../auth/session";
import EChart from "../../charts/EChart";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { num, pct, when } from "../../format";
import type { JsonSchema } from "../backtests/SchemaForm";
import { RunProgress } from "./ModelList";
import type { ModelRun } from "./ModelList";

interface Detail extends ModelRun { request: Record<string, unknown>; engine_version: string }
interface Signal { ic: number | null; icir: number | null; rank_ic: number | null; rank_icir: number | null; n_days: number; dates: string[]; daily_ic: (number | null)[]; daily_rank_ic: (number | null)[] }
interface Curve { windows: Record<string, number[]>[]; best_rounds: number[] }
interface Importance { features: string[]; windows: Record<string, number[]>[] }
type Backtest = Record<string, number | null>;

function SignalView({ id }: { id: string }) {
  const { t } = useTranslation();
  const expert = useExpert();
  const state = useLoad(() => request<Signal>(`/api/models/${id}/signal`), [id]);
  const option = useMemo(() => {
    const s = state.data;
    let acc = 0;
    const cum = (s?.daily_ic ?? []).map((v) => (acc += v ?? 0));
    return {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 56, right: 56, top: 32, bottom: 32 },
      xAxis: { type: "category", data: s?.dates ?? [] }, yAxis: [{ type: "value", scale: true }, { type: "value", scale: true }],
      series: [
        { type: "bar", name: "IC", data: s?.daily_ic ?? [] },
        { type: "line", name: "Rank IC", symbol: "none", data: s?.daily_rank_ic ?? [] },
        { type: "line", name: t("models.cumIc"), symbol: "none", yAxisIndex: 1, data: cum },
      ],
    };
  }, [state.data, t]);
  return (
    <Card size="small" title={t("models.signal")} data-testid="model-signal">
      {!expert && <Typography.Paragraph type="secondary">{t("models.signalHelp")}</Typography.Paragraph>}
      <PageState state={state}>
        {(s) => (
          <>
            <Row gutter={16}>
              {(["ic", "icir", "rank_ic", "rank_icir"] as const).map((k) => <Col key={k} span={6}><Statistic title={k.toUpperCase().replace("_", " ")} value={num(s[k])} /></Col>)}
            </Row>
            <EChart option={option} height={260} label={t("models.signal")} />
          </>
        )}
      </PageState>
    </Card>
  );
}

function CurveView({ id }: { id: string }) {
  const { t } = useTranslation();
  const state = useLoad(() => request<Curve>(`/api/models/${id}/learning-curve`), [id]);
  const [win, setWin] = useState(0);
  const option = useMemo(() => {
    const w = state.data?.windows[win] ?? {};
    const n = Math.max(0, ...Object.values(w).map((v) => v.length));
    return {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 56, right: 16, top: 32, bottom: 32 },
      xAxis: { type: "category", data: Array.from({ length: n }, (_, i) => i + 1), name: t("models.round") }, yAxis: { type: "value", scale: true },
      series: Object.entries(w).map(([name, data]) => ({ type: "line", name, symbol: "none", data })),
    };
  }, [state.data, win, t]);
  return (
    <Card size="small" title={t("models.curve")} data-testid="model-curve">
      <PageState state={state} empty={(c) => c.windows.length === 0}>
        {(c) => (
          <>
            {c.windows.length > 1 && <Select aria-label={t("models.window")} value={win} onChange={setWin} style={{ width: 140, marginBottom: 8 }}
              options={c.windows.map((_, i) => ({ value: i, label: `${t("models.window")} ${i + 1}` }))} />}
            <Typography.Text type="secondary">{t("models.bestRounds")}: {c.best_rounds.join(", ") || "—"}</Typography.Text>
            <EChart option={option} height={240} label={t("models.curve")} />
          </>
        )}
      </PageState>
    </Card>
  );
}

function ImportanceView({ id }: { id: string }) {
  const { t } = useTranslation();
  const state = useLoad(() => request<Importance>(`/api/models/${id}/importance`), [id]);
  const kinds = Object.keys(state.data?.windows[0] ?? {});
  const [kind, setKind] = useState<string>();
  const shown = kind ?? kinds[0];
  const option = useMemo(() => {
    const d = state.data;
    if (!d || !shown) return {};
    // the mean over the training windows, the 20 largest by magnitude
    const mean = d.features.map((f, i) => [f, d.windows.reduce((a, w) => a + (w[shown]?.[i] ?? 0), 0) / d.windows.length] as const);
    const top = [...mean].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 20).reverse();
    return {
      tooltip: {}, grid: { left: 120, right: 16, top: 8, bottom: 24 },
      xAxis: { type: "value" }, yAxis: { type: "category", data: top.map((x) => x[0]) },
      series: [{ type: "bar", data: top.map((x) => x[1]) }],
    };
  }, [state.data, shown]);
  return (
    <Card size="small" title={t("models.importance")} data-testid="model-importance">
      <PageState state={state} empty={(d) => d.features.length === 0}>
        {() => (
          <>
            {kinds.length > 1 && <Select aria-label={t("models.kind")} value={shown} onChange={setKind} style={{ width: 140, marginBottom: 8 }} options={kinds.map((k) => ({ value: k, label: k }))} />}
            <EChart option={option} height={420} label={t("models.importance")} />
          </>
        )}
      </PageState>
    </Card>
  );
}

function BacktestView({ id }: { id: string }) {
  const { t } = useTranslation();
  const state = useLoad(() => request<Backtest>(`/api/models/${id}/backtest`), [id]);
  return (
    <Card size="small" title={t("models.backtest")} data-testid="model-backtest">
      {state.error ? <Alert type="info" showIcon title={t("models.noBacktest")} description={(state.error as Error).message} /> : (
        <PageState state={state}>
          {(b) => <><Typography.Paragraph type="secondary">{t("models.backtestHelp")}</Typography.Paragraph><Descriptions size="small" column={2} items={Object.entries(b).map(([k, v]) => ({
            key: k, label: t(`models.bt.${k}`, { defaultValue: k }),
            children: k.startsWith("annualized") || k.startsWith("max_drawdown") ? pct(v) : k === "initial_capital" && typeof v === "number" ? v.toLocaleString() : num(v),
          }))} /></>}
        </PageState>
      )}
    </Card>
  );
}

function SaveAsFactor({ id }: { id: string }) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [saved, setSaved] = useState<{ id: string; name: string }>();
  const [error, setError] = useState<unknown>();
  const save = async () => {
    setError(undefined);
    try { setSaved(await request(`/api/models/${id}/factor`, json("POST", { name }))); } catch (e) { setError(e); }
  };
  return (
    <Card size="small" title={t("models.asFactor")} data-testid="model-factor">
      <Typography.Paragraph type="secondary">{t("models.asFactorHelp")}</Typography.Paragraph>
      <Space.Compact>
        <Input aria-label={t("models.factorName")} placeholder={t("models.factorName")} value={name} onChange={(e) => setName(e.target.value)} style={{ width: 220 }} />
        <Button type="primary" disabled={!name} onClick={() => void save()}>{t("models.saveFactor")}</Button>
      </Space.Compact>
      {error !== undefined && <div style={{ marginTop: 8 }}><ErrorAlert error={error} /></div>}
      {saved && <Alert type="success" showIcon style={{ marginTop: 8 }} title={<span>{t("models.factorSaved", { name: saved.name })} <Link to="/factors">{t("nav.factors")}</Link></span>} />}
    </Card>
  );
}

interface ScoresForm { preset: string; top_k: number; n_drop: number; initial_capital: number }

// The defaults of a scores backtest as the backtest form takes them (the served request schema),
// with top-k / n_drop of the run's own backtest when it had one.
function scoresDefaults(schema: JsonSchema, run: Detail): { form: ScoresForm; bounds: Record<keyof ScoresForm, JsonSchema> } {
  const top = schema.properties ?? {};
  const scores = schema.$defs?.ScoresStrategy?.properties ?? {};
  const own = (run.request.backtest ?? {}) as { topk?: number; n_drop?: number };
  const bounds = { preset: top.preset ?? {}, top_k: scores.top_k ?? {}, n_drop: scores.n_drop ?? {}, initial_capital: top.initial_capital ?? {} };
  return {
    bounds,
    form: {
      preset: String(bounds.preset.default ?? "cn_a_share"), top_k: own.topk ?? Number(bounds.top_k.default ?? 50),
      n_drop: own.n_drop ?? Number(bounds.n_drop.default ?? 5), initial_capital: Number(bounds.initial_capital.default ?? 1_000_000),
    },
  };
}

function BacktestScores({ run }: { run: Detail }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const state = useLoad(() => request<JsonSchema>("/api/backtests/schema"), []);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ready = run.status === "completed";
  const start = async (form: ScoresForm) => {
    setBusy(true); setError(undefined);
    // the test span (where the run predicted), on the run's dataset and universe
    const req = run.request as { segments?: { test?: [string, string] }; universe?: unknown; dated_universe?: string | null };
    const [start, end] = req.segments?.test ?? [];
    try {
      const body = {
        name: t("models.scoresName", { name: run.name || run.id }), dataset_id: run.dataset_id, dataset_version: run.dataset_version,
        start, end, universe: req.universe ?? "all", ...(req.dated_universe ? { dated_universe: req.dated_universe } : {}),
        preset: form.preset, initial_capital: form.initial_capital,
        strategy: { kind: "scores", score: { model_run_id: run.id }, top_k: form.top_k, n_drop: form.n_drop },
      };
      const r = await request<{ id: string }>("/api/backtests", json("POST", body));
      navigate(`/backtests/${r.id}`);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <Card size="small" title={t("models.scoresBacktest")} data-testid="model-scores-backtest">
      <Typography.Paragraph type="secondary">{ready ? t("models.scoresHelp") : t("models.scoresNotReady")}</Typography.Paragraph>
      <PageState state={state}>
        {(schema) => {
          const { form, bounds } = scoresDefaults(schema, run);
          return (
            <Form<ScoresForm> layout="inline" initialValues={form} onFinish={(v) => void start(v)}>
              <Form.Item name="preset" label={t("models.preset")}>
                <Select style={{ width: 150 }} options={(bounds.preset.enum ?? [form.preset]).map((p) => ({ value: p, label: String(p) }))} />
              </Form.Item>
              <Form.Item name="top_k" label={t("models.topk")} rules={[{ required: true, message: t("login.required") }]}>
                <InputNumber min={bounds.top_k.minimum} max={bounds.top_k.maximum} step={1} precision={0} />
              </Form.Item>
              <Form.Item name="n_drop" label={t("models.nDrop")} rules={[{ required: true, message: t("login.required") }]}>
                <InputNumber min={bounds.n_drop.minimum} max={bounds.n_drop.maximum} step={1} precision={0} />
              </Form.Item>
              <Form.Item name="initial_capital" label={t("models.capital")} rules={[{ required: true, message: t("login.required") }]}>
                <InputNumber min={bounds.initial_capital.minimum} max={bounds.initial_capital.maximum} step={100_000} style={{ width: 160 }} />
              </Form.Item>
              <Form.Item>
                <Button type="primary" htmlType="submit" disabled={!ready} loading={busy}>{t("models.scoresStart")}</Button>
              </Form.Item>
            </Form>
          );
        }}
      </PageState>
      {error !== undefined && <div style={{ marginTop: 8 }}><ErrorAlert error={error} /></div>}
    </Card>
  );
}

export default function ModelPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation();
  const expert = useExpert();
  const state = useLoad(() => request<Detail>(`/api/models/${id}`), [id]);
  return (
    <PageState state={state}>
      {(r) => (
        <Space direction="vertical" style={{ width: "100%" }} size={16}>
          <Typography.Title level={2}>{t("models.title")} · {r.name || r.id}</Typography.Title>
          <Card size="small" data-testid="model-status">
            <Space wrap size="large">
              <RunProgress run={r} onEnd={state.reload} />
              <span>{r.model}</span>
              <span>{t("common.created")}: {when(r.created_at)}</span>
              {r.finished_at && <span>{t("models.finished")}: {when(r.finished_at)}</span>}
            </Space>
            {r.error && <Alert type="error" showIcon title={r.error} style={{ marginTop: 8 }} />}
            {expert && <pre tabIndex={0} style={{ maxHeight: 200, overflow: "auto", background: "#f5f5f5", padding: 8, marginTop: 8 }}>{JSON.stringify(r.request, null, 2)}</pre>}
          </Card>
          {r.status === "completed" && (
            <>
              <SignalView id={r.id} />
              <Row gutter={16}>
                <Col xs={24} xl={12}><CurveView id={r.id} /></Col>
                <Col xs={24} xl={12}><BacktestView id={r.id} /></Col>
              </Row>
              <ImportanceView id={r.id} />
              <SaveAsFactor id={r.id} />
            </>
          )}
          {r.status !== "failed" && r.status !== "cancelled" && <BacktestScores run={r} />}
        </Space>
      )}
    </PageState>
  );
}
