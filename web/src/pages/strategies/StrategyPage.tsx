// One strategy (or template): plain-language description, parameters, backtest on a dataset,
// versions (diff against the current one, restore), ratings with comments, runs.
import { Button, Card, Descriptions, Input, List, Rate, Select, Space, Table, Tabs, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router-dom";
import { json, request } from "../../api/client";
import type { components } from "../../api/schema";
import { useSession } from "../../auth/session";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { num, pct, when } from "../../format";
import type { Dataset } from "../datasets/DatasetList";
import { localized, plain } from "./common";
import type { StrategyDetail } from "./common";
import { Favourite } from "./StrategyLibrary";

type Version = components["schemas"]["quantlab__strategies__schemas__VersionOut"];
type Rating = components["schemas"]["RatingOut"];
type Change = components["schemas"]["Change"];
interface Run { id: string; name: string; status: string; created_at: string; summary?: Record<string, number | null> | null }

function Versions({ s, mine, onRestored }: { s: StrategyDetail; mine: boolean; onRestored(): void }) {
  const { t } = useTranslation();
  const state = useLoad(() => request<Version[]>(`/api/strategies/${s.id}/versions`), [s.id, s.version]);
  const [diff, setDiff] = useState<{ from: number; changes: Change[] }>();
  const [error, setError] = useState<unknown>();
  const showDiff = async (v: number) => {
    try {
      const d = await request<{ changes: Change[] }>(`/api/strategies/${s.id}/diff?from=${v}&to=${s.version}`);
      setDiff({ from: v, changes: d.changes });
    } catch (e) { setError(e); }
  };
  const restore = async (v: number) => {
    try { await request(`/api/strategies/${s.id}/versions/${v}/restore`, { method: "POST" }); onRestored(); } catch (e) { setError(e); }
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      {error !== undefined && <ErrorAlert error={error} />}
      <PageState state={state}>
        {(rows) => (
          <Table size="small" rowKey="version" dataSource={rows} pagination={false} data-testid="strategy-versions" columns={[
            { title: t("strategies.version"), dataIndex: "version", render: (v, r) => <span>{v}{r.current && <Tag style={{ marginLeft: 6 }}>{t("strategies.current")}</Tag>}</span> },
            { title: t("strategies.message"), dataIndex: "message" },
            { title: t("common.created"), dataIndex: "created_at", render: when },
            { title: t("common.actions"), render: (_, r) => !r.current && (
              <Space>
                <Button size="small" onClick={() => void showDiff(r.version)}>{t("strategies.diff")}</Button>
                {mine && <Button size="small" onClick={() => void restore(r.version)}>{t("strategies.restore")}</Button>}
              </Space>
            ) },
          ]} />
        )}
      </PageState>
      {diff && (
        <Card size="small" title={`${t("strategies.diff")} v${diff.from} → v${s.version}`}>
          <List size="small" dataSource={diff.changes} locale={{ emptyText: t("common.empty") }} renderItem={(c) => (
            <List.Item><code>{c.path}</code> <Tag>{c.kind}</Tag> {JSON.stringify(c.old)} → <b>{JSON.stringify(c.new)}</b></List.Item>
          )} />
        </Card>
      )}
    </Space>
  );
}

function Ratings({ s, onRated }: { s: StrategyDetail; onRated(): void }) {
  const { t } = useTranslation();
  const state = useLoad(() => request<Rating[]>(`/api/strategies/${s.id}/ratings?size=100`), [s.id, s.rating.count, s.rating.average]);
  const [stars, setStars] = useState(s.rating.mine ?? 0);
  const [comment, setComment] = useState("");
  const [error, setError] = useState<unknown>();
  const submit = async (remove = false) => {
    setError(undefined);
    try {
      if (remove) await request(`/api/strategies/${s.id}/rating`, { method: "DELETE" });
      else await request(`/api/strategies/${s.id}/rating`, json("PUT", { stars, comment }));
      if (remove) setStars(0);
      setComment("");
      onRated();
    } catch (e) { setError(e); }
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      {error !== undefined && <ErrorAlert error={error} />}
      <Space wrap>
        <Rate value={stars} onChange={setStars} aria-label={t("strategies.rate")} />
        <Input aria-label={t("strategies.comment")} placeholder={t("strategies.comment")} value={comment} onChange={(e) => setComment(e.target.value)} style={{ width: 320 }} maxLength={2000} />
        <Button type="primary" disabled={!stars} onClick={() => void submit()}>{t("strategies.submitRating")}</Button>
        {s.rating.mine != null && <Button onClick={() => void submit(true)}>{t("strategies.removeRating")}</Button>}
      </Space>
      <PageState state={state}>
        {(rows) => (
          <List size="small" dataSource={rows} data-testid="strategy-ratings" locale={{ emptyText: t("strategies.noRatings") }} renderItem={(r) => (
            <List.Item><Space><Rate disabled value={r.stars} style={{ fontSize: 12 }} /><span>{r.comment}</span><Typography.Text type="secondary">{when(r.updated_at)}</Typography.Text></Space></List.Item>
          )} />
        )}
      </PageState>
    </Space>
  );
}

function Runs({ id }: { id: string }) {
  const { t } = useTranslation();
  const state = useLoad(() => request<Run[]>(`/api/strategies/${id}/runs?size=50`), [id]);
  return (
    <PageState state={state}>
      {(rows) => (
        <Table size="small" rowKey="id" dataSource={rows} locale={{ emptyText: t("common.empty") }} columns={[
          { title: t("common.name"), dataIndex: "name", render: (v, r) => <Link to={`/backtests/${r.id}`}>{v || r.id}</Link> },
          { title: t("common.status"), dataIndex: "status" },
          { title: "return", render: (_, r) => pct(r.summary?.total_return) },
          { title: "Sharpe", render: (_, r) => num(r.summary?.sharpe_ratio, 2) },
          { title: t("common.created"), dataIndex: "created_at", render: when },
        ]} />
      )}
    </PageState>
  );
}

export default function StrategyPage() {
  const { id = "" } = useParams();
  const { t, i18n } = useTranslation();
  const { me } = useSession();
  const navigate = useNavigate();
  const state = useLoad(() => request<StrategyDetail>(`/api/strategies/${id}`), [id]);
  const datasets = useLoad(() => request<Dataset[]>("/api/datasets?size=200"), []);
  const [datasetId, setDatasetId] = useState<string>();
  const [error, setError] = useState<unknown>();
  const dsId = datasetId ?? datasets.data?.[0]?.id;
  const act = async (call: () => Promise<void>) => {
    setError(undefined);
    try { await call(); } catch (e) { setError(e); }
  };
  const copy = () => act(async () => navigate(`/strategies/${(await request<{ id: string }>(`/api/strategies/${id}/copy`, json("POST", {}))).id}`));
  const publish = (on: boolean) => act(async () => { await request(`/api/strategies/${id}/${on ? "publish" : "unpublish"}`, { method: "POST" }); state.reload(); });
  const run = () => act(async () => navigate(`/backtests/${(await request<{ id: string }>(`/api/strategies/${id}/runs`, json("POST", { dataset_id: dsId }))).id}`));
  return (
    <PageState state={state}>
      {(s) => {
        const mine = s.owner_id === me?.id;
        const lang = i18n.language;
        return (
          <Space direction="vertical" style={{ width: "100%" }}>
            <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
              <Typography.Title level={2}>{localized(s, "name", lang)}</Typography.Title>
              <Space wrap>
                <Favourite strategy={s} onChange={state.reload} />
                <Button onClick={() => void copy()}>{t("strategies.copy")}</Button>
                {mine && !s.is_template && <Button onClick={() => void publish(!s.is_public)}>{s.is_public ? t("strategies.unpublish") : t("strategies.publish")}</Button>}
              </Space>
            </Space>
            {error !== undefined && <ErrorAlert error={error} />}
            <Card>
              <Typography.Paragraph>{localized(s, "description", lang)}</Typography.Paragraph>
              {plain(s, lang) && <Typography.Paragraph data-testid="strategy-plain"><b>{t("strategies.plain")}:</b> {plain(s, lang)}</Typography.Paragraph>}
              <Descriptions size="small" column={{ xs: 1, md: 3 }} items={[
                { label: t("strategies.version"), children: s.version },
                { label: t("strategies.market"), children: s.market },
                { label: t("strategies.category"), children: s.category ?? "—" },
                { label: t("strategies.ratings"), children: s.rating.count ? t("strategies.average", { avg: s.rating.average?.toFixed(1), n: s.rating.count }) : t("strategies.noRatings") },
                { label: t("strategies.usage", { n: s.usage_count }), children: s.is_template ? <Tag>{t("strategies.template")}</Tag> : s.is_public ? <Tag color="#0958d9">{t("library.public")}</Tag> : "—" },
              ]} />
              <Space wrap style={{ marginTop: 12 }}>
                <Typography.Text>{t("strategies.runOn")}</Typography.Text>
                <Select aria-label={t("strategies.runOn")} style={{ width: 260 }} value={dsId} onChange={setDatasetId} loading={datasets.loading}
                  options={(datasets.data ?? []).map((d) => ({ value: d.id, label: d.name }))} />
                <Button type="primary" disabled={!dsId} onClick={() => void run()}>{t("backtests.start")}</Button>
              </Space>
            </Card>
            <Tabs items={[
              { key: "params", label: t("strategies.parameters"), children: (
                <Table size="small" rowKey="name" pagination={false} dataSource={s.param_schema} data-testid="strategy-params" locale={{ emptyText: t("common.empty") }} columns={[
                  { title: t("common.name"), dataIndex: "name" },
                  { title: t("strategies.current"), render: (_, p) => s.parameters[p.name] ?? p.default },
                  { title: t("strategies.default"), dataIndex: "default" },
                  { title: t("strategies.range"), render: (_, p) => `${p.min} – ${p.max}` },
                  { title: t("common.details"), render: (_, p) => (p.description as unknown as Record<string, string>)[lang === "en-US" ? "en" : "zh-CN"] },
                ]} />
              ) },
              { key: "versions", label: t("strategies.versions"), children: <Versions s={s} mine={mine} onRestored={state.reload} /> },
              { key: "ratings", label: t("strategies.ratings"), children: <Ratings s={s} onRated={state.reload} /> },
              { key: "runs", label: t("strategies.runs"), children: <Runs id={s.id} /> },
            ]} />
          </Space>
        );
      }}
    </PageState>
  );
}
