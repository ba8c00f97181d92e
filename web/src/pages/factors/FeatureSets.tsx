// Alpha158 / Alpha360: browse a named feature set's expressions, evaluate the whole set on a
// dataset (one job) and rank its features by |IC IR|.
import { Alert, Button, Card, Col, Input, Progress, Row, Select, Space, Table, Typography } from "antd";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { json, request } from "../../api/client";
import { useExpert } from "../../auth/session";
import EChart from "../../charts/EChart";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { num } from "../../format";
import type { Dataset } from "../datasets/DatasetList";

interface SetInfo { name: string; features: number; lookback: number | null }
interface Feature { name: string; expression: string }
interface Ranked {
  rank: number; name: string; expression: string | null; ic_ir: number | null; ic_mean: number | null;
  rank_ic_mean: number | null; rank_ic_ir: number | null; coverage_mean: number | null; top_turnover_mean: number | null;
}
interface SetEvaluation {
  id: string; status: string; error?: string | null; job?: { progress: number } | null;
  result?: { ranking: Ranked[]; skipped: unknown[]; horizons: number[] } | null;
}

export default function FeatureSets() {
  const { t } = useTranslation();
  const expert = useExpert();
  const sets = useLoad(() => request<SetInfo[]>("/api/factors/feature-sets"), []);
  const datasets = useLoad(() => request<Dataset[]>("/api/datasets?size=200"), []);
  const [name, setName] = useState<string>();
  const [filter, setFilter] = useState("");
  const [datasetId, setDatasetId] = useState<string>();
  const [start, setStart] = useState("");
  const [evaluation, setEvaluation] = useState<SetEvaluation>();
  const [error, setError] = useState<unknown>();
  const current = name ?? sets.data?.[0]?.name;
  const dsId = datasetId ?? datasets.data?.[0]?.id;
  const features = useLoad(async () => (current ? (await request<{ features: Feature[] }>(`/api/factors/feature-sets/${current}`)).features : []), [current]);
  const shown = useMemo(() => {
    const q = filter.trim().toLowerCase();
    return (features.data ?? []).filter((f) => !q || f.name.toLowerCase().includes(q) || f.expression.toLowerCase().includes(q));
  }, [features.data, filter]);

  const evaluate = async () => {
    setError(undefined);
    try {
      const started = await request<{ id: string }>("/api/factors/evaluate", json("POST", { dataset_id: dsId, feature_set: current, ...(start ? { start } : {}) }));
      setEvaluation({ id: started.id, status: "pending" });
    } catch (e) { setError(e); }
  };
  const running = evaluation && ["pending", "running"].includes(evaluation.status);
  useEffect(() => {
    if (!evaluation || !running) return;
    const timer = setTimeout(() => {
      request<SetEvaluation>(`/api/factors/evaluations/${evaluation.id}`).then(setEvaluation).catch(setError);
    }, 1000);
    return () => clearTimeout(timer);
  }, [evaluation, running]);

  const ranking = evaluation?.result?.ranking ?? [];
  const option = useMemo(() => {
    const top = ranking.slice(0, 20);
    return {
      grid: { left: 96, right: 16, top: 8, bottom: 24 }, tooltip: { trigger: "axis" },
      xAxis: { type: "value" }, yAxis: { type: "category", inverse: true, data: top.map((r) => r.name) },
      series: [{ name: t("featureSets.icIr"), type: "bar", data: top.map((r) => r.ic_ir), itemStyle: { color: "#0958d9" } }],
    };
  }, [ranking, t]);

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Space style={{ width: "100%", justifyContent: "space-between" }}>
        <Typography.Title level={2}>{t("featureSets.title")}</Typography.Title>
        <Link to="/factors"><Button>{t("factors.title")}</Button></Link>
      </Space>
      {!expert && <Alert type="info" showIcon title={t("featureSets.help")} />}
      {error !== undefined && <ErrorAlert error={error} />}
      <PageState state={sets} empty={(s) => s.length === 0}>
        {(all) => (
          <Row gutter={[16, 16]}>
            {all.map((s) => (
              <Col key={s.name} xs={24} md={12}>
                <Card size="small" data-testid={`feature-set-${s.name}`}
                  style={{ borderColor: s.name === current ? "#0958d9" : undefined }}
                  title={<Button type="link" onClick={() => setName(s.name)} style={{ padding: 0 }}>{s.name}</Button>}>
                  {t("featureSets.features")}: <b>{s.features}</b> · {t("featureSets.lookback")}: <b>{s.lookback ?? "—"}</b>
                </Card>
              </Col>
            ))}
          </Row>
        )}
      </PageState>
      <Card title={`${current ?? ""} · ${t("featureSets.features")}`}>
        <Input aria-label={t("featureSets.filter")} placeholder={t("featureSets.filter")} value={filter} onChange={(e) => setFilter(e.target.value)} style={{ width: 320, marginBottom: 12 }} allowClear />
        <PageState state={features} empty={(f) => f.length === 0}>
          {() => (
            <Table size="small" rowKey="name" dataSource={shown} data-testid="feature-list" pagination={{ pageSize: 10, showSizeChanger: false }}
              columns={[
                { title: t("common.name"), dataIndex: "name", width: 120 },
                { title: t("factors.expression"), dataIndex: "expression", render: (x: string) => <code style={{ fontSize: 12 }}>{x}</code> },
              ]} />
          )}
        </PageState>
      </Card>
      <Card title={t("featureSets.ranking")}>
        <Space wrap style={{ marginBottom: 12 }}>
          <Select aria-label={t("factors.dataset")} style={{ width: 280 }} value={dsId} onChange={setDatasetId} loading={datasets.loading}
            options={(datasets.data ?? []).map((d) => ({ value: d.id, label: d.name }))} />
          <Input aria-label={t("featureSets.start")} placeholder={`${t("featureSets.start")} YYYY-MM-DD`} value={start} onChange={(e) => setStart(e.target.value.trim())} style={{ width: 200 }} />
          <Button type="primary" onClick={() => void evaluate()} disabled={!dsId || !current || !!running}>{t("featureSets.evaluate")}</Button>
        </Space>
        {running && <Progress percent={Math.round(100 * (evaluation?.job?.progress ?? 0))} aria-label={t("factors.evaluating")} />}
        {evaluation?.status === "failed" && <Alert type="error" showIcon title={evaluation.error ?? "failed"} />}
        {ranking.length > 0 && (
          <Row gutter={16}>
            <Col xs={24} xl={10}>
              <Typography.Text strong>{t("featureSets.top")}</Typography.Text>
              <EChart option={option} height={420} label={t("featureSets.top")} />
              {!!evaluation?.result?.skipped.length && <Typography.Text type="secondary">{t("featureSets.skipped", { n: evaluation.result.skipped.length })}</Typography.Text>}
            </Col>
            <Col xs={24} xl={14}>
              <Table size="small" rowKey="name" dataSource={ranking} data-testid="feature-ranking" pagination={{ pageSize: 15, showSizeChanger: false }} scroll={{ x: true }}
                columns={[
                  { title: t("featureSets.rank"), dataIndex: "rank", width: 60 },
                  { title: t("common.name"), dataIndex: "name" },
                  { title: t("featureSets.icMean"), dataIndex: "ic_mean", render: (v) => num(v) },
                  { title: t("featureSets.icIr"), dataIndex: "ic_ir", render: (v) => num(v, 3) },
                  { title: t("featureSets.rankIcMean"), dataIndex: "rank_ic_mean", render: (v) => num(v) },
                  ...(expert ? [
                    { title: t("featureSets.rankIcIr"), dataIndex: "rank_ic_ir", render: (v: number | null) => num(v, 3) },
                    { title: t("featureSets.coverage"), dataIndex: "coverage_mean", render: (v: number | null) => num(v, 3) },
                    { title: t("factors.turnover"), dataIndex: "top_turnover_mean", render: (v: number | null) => num(v, 3) },
                  ] : []),
                ]} />
            </Col>
          </Row>
        )}
      </Card>
    </Space>
  );
}
