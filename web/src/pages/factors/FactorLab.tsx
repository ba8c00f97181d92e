import { Alert, Button, Card, Col, Input, List, Row, Segmented, Select, Space, Statistic, Tabs, Tag, Typography } from "antd";
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { ApiError, json, request } from "../../api/client";
import { useSession } from "../../auth/session";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import type { ValidationError } from "../../editor/FactorEditor";
import type { Dataset } from "../datasets/DatasetList";

const FactorEditor = lazy(() => import("../../editor/FactorEditor"));
const EvaluationCharts = lazy(() => import("./EvaluationCharts"));

export interface Evaluation {
  id: string; status: string; error?: string | null;
  job?: { progress: number; stage?: string | null } | null;
  result?: EvaluationResult | null;
}
export interface Summary { horizon: number; mean: number; std: number; ir: number; t_stat: number }
export interface EvaluationResult {
  dates: string[]; horizons: number[]; ic: Record<string, (number | null)[]>; rank_ic: Record<string, (number | null)[]>;
  ic_summary: Summary[]; rank_ic_summary: Summary[]; ic_decay: Record<string, number | null>;
  quantile_returns: Record<string, (number | null)[]>; long_short: Record<string, number | null>;
  long_short_cumulative: (number | null)[]; coverage: (number | null)[]; top_turnover: (number | null)[];
  top_turnover_mean: number | null; autocorrelation_mean: number | null;
}
interface Factor { id: string; owner_id: string; name: string; expression: string | null; is_public: boolean; is_favourite: boolean; cloned_from: string | null }
type Scope = "all" | "mine" | "public" | "favourites";

export default function FactorLab() {
  const { t } = useTranslation();
  const datasets = useLoad(() => request<Dataset[]>("/api/datasets?size=200"), []);
  const { me } = useSession();
  const [scope, setScope] = useState<Scope>("all");
  const factors = useLoad(() => request<Factor[]>(`/api/factors?size=200&${scope === "favourites" ? "favourites=true" : `scope=${scope}`}`), [scope]);
  // the library's actions: favourite, publish (own factors), clone (others' public factors)
  const libraryAction = async (f: Factor, action: "favourite" | "unfavourite" | "publish" | "clone") => {
    setError(undefined);
    try {
      if (action === "favourite") await request(`/api/factors/${f.id}/favourite`, { method: "PUT" });
      else if (action === "unfavourite") await request(`/api/factors/${f.id}/favourite`, { method: "DELETE" });
      else if (action === "publish") await request(`/api/factors/${f.id}/publish`, { method: "POST" });
      else await request(`/api/factors/${f.id}/clone`, json("POST", {}));
      factors.reload();
    } catch (e) { setError(e); }
  };
  const [datasetId, setDatasetId] = useState<string>();
  const [fields, setFields] = useState<string[]>([]);
  const [expression, setExpression] = useState("Mean($close, 5) / $close - 1");
  const [validation, setValidation] = useState<ValidationError | { ok: true; lookback: number } | null>(null);
  const [evaluation, setEvaluation] = useState<Evaluation>();
  const [error, setError] = useState<unknown>();
  const [name, setName] = useState("");
  const dsId = datasetId ?? datasets.data?.[0]?.id;

  useEffect(() => {
    if (!dsId) return;
    request<{ fields: string[] }[]>(`/api/datasets/${dsId}/versions`).then((vs) => setFields(vs.at(-1)?.fields ?? [])).catch(setError);
  }, [dsId]);

  const validate = useCallback(async (text: string): Promise<ValidationError | null> => {
    try {
      const r = await request<{ lookback: number }>("/api/factors/validate", json("POST", { expression: text, dataset_id: dsId }));
      setValidation({ ok: true, lookback: r.lookback });
      return null;
    } catch (e) {
      const details = (e instanceof ApiError ? e.details : null) as { position?: number } | null;
      const v = { position: details?.position ?? 0, message: e instanceof Error ? e.message : String(e) };
      setValidation(v);
      return v;
    }
  }, [dsId]);

  const evaluate = async () => {
    setError(undefined);
    try {
      const started = await request<{ id: string }>("/api/factors/evaluate", json("POST", { expression, dataset_id: dsId }));
      setEvaluation({ id: started.id, status: "pending" });
    } catch (e) { setError(e); }
  };

  useEffect(() => {
    if (!evaluation || !["pending", "running"].includes(evaluation.status)) return;
    const timer = setTimeout(() => {
      request<Evaluation>(`/api/factors/evaluations/${evaluation.id}`).then(setEvaluation).catch(setError);
    }, 700);
    return () => clearTimeout(timer);
  }, [evaluation]);

  const save = async () => {
    try {
      await request("/api/factors", json("POST", { name, expression }));
      setName("");
      factors.reload();
    } catch (e) { setError(e); }
  };

  const running = evaluation && ["pending", "running"].includes(evaluation.status);
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("factors.title")}</Typography.Title>
      {error !== undefined && <ErrorAlert error={error} />}
      <Row gutter={16}>
        <Col xs={24} lg={16}>
          <Card>
            <Space direction="vertical" style={{ width: "100%" }}>
              <Select aria-label={t("factors.dataset")} style={{ width: 300 }} value={dsId} onChange={setDatasetId}
                loading={datasets.loading} options={(datasets.data ?? []).map((d) => ({ value: d.id, label: d.name }))} />
              <Suspense fallback={<Input.TextArea value={expression} readOnly />}>
                <FactorEditor value={expression} onChange={setExpression} fields={fields}
                  factors={(factors.data ?? []).map((f) => f.name)} validate={validate} label={t("factors.expression")} />
              </Suspense>
              <div aria-live="polite" data-testid="validation">
                {validation && "ok" in validation
                  ? <Alert type="success" showIcon title={`${t("factors.valid")} · ${t("factors.lookback", { n: validation.lookback })}`} />
                  : validation && <Alert type="error" showIcon title={validation.message} description={`@ ${validation.position}`} />}
              </div>
              <Space wrap>
                <Button type="primary" onClick={() => void evaluate()} disabled={!dsId || !!running}>{t("factors.evaluate")}</Button>
                <Input aria-label={t("factors.saveAs")} placeholder="my_factor" value={name} onChange={(e) => setName(e.target.value)} style={{ width: 180 }} />
                <Button onClick={() => void save()} disabled={!name}>{t("factors.saveAs")}</Button>
              </Space>
            </Space>
          </Card>
        </Col>
        <Col xs={24} lg={8}>
          <Card title={t("factors.library")} data-testid="factor-library" extra={<Link to="/factors/sets" style={{ textDecoration: "underline" }}>Alpha158 / Alpha360</Link>}>
            <Segmented aria-label={t("factors.library")} size="small" style={{ marginBottom: 8 }} value={scope} onChange={(v) => setScope(v as Scope)}
              options={(["all", "mine", "public", "favourites"] as const).map((k) => ({ value: k, label: t(`library.${k === "public" ? "published" : k}`) }))} />
            <PageState state={factors} empty={(f) => f.length === 0}>
              {(fs) => <List size="small" dataSource={fs} renderItem={(f) => {
                const mine = f.owner_id === me?.id;
                return (
                  <List.Item actions={[
                    <Button key="u" size="small" onClick={() => setExpression(f.expression ?? "")}>{t("common.open")}</Button>,
                    <Button key="f" size="small" aria-pressed={f.is_favourite} aria-label={`${f.is_favourite ? t("library.unfavourite") : t("library.favourite")} ${f.name}`}
                      onClick={() => void libraryAction(f, f.is_favourite ? "unfavourite" : "favourite")}>{f.is_favourite ? "★" : "☆"}</Button>,
                    mine && !f.is_public
                      ? <Button key="p" size="small" onClick={() => void libraryAction(f, "publish")}>{t("library.publish")}</Button>
                      : !mine ? <Button key="c" size="small" onClick={() => void libraryAction(f, "clone")}>{t("library.clone")}</Button> : null,
                  ].filter(Boolean)}>
                    <span data-testid="factor-item">{f.name}{f.is_public && <Tag color="#0958d9" style={{ marginLeft: 6 }}>{t("library.public")}</Tag>}</span>
                  </List.Item>
                );
              }} />}
            </PageState>
          </Card>
        </Col>
      </Row>
      {evaluation && (
        <Card title={t("factors.ic")}>
          {running && <Typography.Text>{t("factors.evaluating")} {Math.round(100 * (evaluation.job?.progress ?? 0))}%</Typography.Text>}
          {evaluation.status === "failed" && <Alert type="error" showIcon title={evaluation.error ?? "failed"} />}
          {evaluation.result && (
            <Suspense fallback={null}>
              <Row gutter={16} style={{ marginBottom: 16 }}>
                {evaluation.result.ic_summary.slice(0, 4).map((s) => (
                  <Col key={s.horizon} span={6}><Statistic title={`IC ${s.horizon}d (IR ${s.ir.toFixed(3)})`} value={s.mean} precision={4} /></Col>
                ))}
              </Row>
              <EvaluationCharts result={evaluation.result} />
            </Suspense>
          )}
        </Card>
      )}
      <Tabs items={[{ key: "catalog", label: t("factors.catalog"), children: <Catalog /> }]} />
    </Space>
  );
}

function Catalog() {
  const state = useLoad(() => request<{ name: string; zh_name: string; en_name: string; category: string; description: string }[]>("/api/indicators"), []);
  const { i18n } = useTranslation();
  return (
    <PageState state={state} empty={(x) => x.length === 0}>
      {(items) => <List size="small" grid={{ column: 3 }} dataSource={items} renderItem={(x) => (
        <List.Item><b>{x.name}</b> {i18n.language === "en-US" ? x.en_name : x.zh_name} <Typography.Text type="secondary">({x.category})</Typography.Text></List.Item>)} />}
    </PageState>
  );
}
