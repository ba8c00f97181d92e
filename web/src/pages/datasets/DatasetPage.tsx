import { Button, Descriptions, Space, Spin, Table, Tabs, Typography } from "antd";
import { lazy, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";
import { request } from "../../api/client";
import { PageState, useLoad } from "../../components/State";
import { num, when } from "../../format";
import type { Dataset } from "./DatasetList";

const Preprocessing = lazy(() => import("./Preprocessing"));

interface FieldStats { count: number; missing: number; mean: number; std: number; min: number; max: number }
interface Summary { rows: number; symbols: number; calendar_days: number; fields: Record<string, FieldStats> }
interface Version { version: number; parent_version: number | null; rows: number; symbols_count: number; start: string; end: string; note: string; created_at: string; pipeline: unknown }

export default function DatasetPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation();
  const dataset = useLoad(() => request<Dataset>(`/api/datasets/${id}`), [id]);
  const summary = useLoad(() => request<Summary>(`/api/datasets/${id}/summary`), [id]);
  const preview = useLoad(() => request<Record<string, unknown>[]>(`/api/datasets/${id}/preview?size=50`), [id]);
  const versions = useLoad(() => request<Version[]>(`/api/datasets/${id}/versions`), [id]);
  return (
    <PageState state={dataset}>
      {(d) => (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Space style={{ width: "100%", justifyContent: "space-between" }}>
            <Typography.Title level={2}>{d.name}</Typography.Title>
            <Link to={`/datasets/${id}/chart`}><Button type="primary">{t("datasets.chart")}</Button></Link>
          </Space>
          <Tabs items={[
            { key: "summary", label: t("datasets.summary"), children: (
              <PageState state={summary}>
                {(s) => (
                  <>
                    <Descriptions size="small" items={[
                      { label: t("datasets.rows"), children: s.rows }, { label: t("datasets.symbols"), children: s.symbols },
                      { label: "days", children: s.calendar_days }]} />
                    <Table size="small" rowKey="field" pagination={false}
                      dataSource={Object.entries(s.fields).map(([field, v]) => ({ field, ...v }))}
                      columns={[{ title: t("datasets.fields"), dataIndex: "field" },
                        ...(["missing", "mean", "std", "min", "max"] as const).map((k) => ({ title: t(`datasets.${k}`), dataIndex: k, render: (v: number) => num(v) }))]} />
                  </>
                )}
              </PageState>
            ) },
            { key: "preview", label: t("datasets.preview"), children: (
              <PageState state={preview} empty={(r) => r.length === 0}>
                {(rows) => <Table size="small" scroll={{ x: true }} rowKey={(_, i) => String(i)} dataSource={rows}
                  columns={Object.keys(rows[0]).map((k) => ({ title: k, dataIndex: k, render: (v: unknown) => (typeof v === "number" ? num(v) : String(v ?? "")) }))} />}
              </PageState>
            ) },
            { key: "versions", label: t("datasets.versions"), children: (
              <PageState state={versions}>
                {(vs) => <Table size="small" rowKey="version" dataSource={vs} data-testid="dataset-versions" columns={[
                  { title: t("datasets.version"), dataIndex: "version" }, { title: "parent", dataIndex: "parent_version" },
                  { title: t("datasets.rows"), dataIndex: "rows" }, { title: t("datasets.symbols"), dataIndex: "symbols_count" },
                  { title: t("datasets.range"), render: (_, v) => `${v.start} – ${v.end}` }, { title: "note", dataIndex: "note" },
                  { title: t("common.created"), dataIndex: "created_at", render: when }]} />}
              </PageState>
            ) },
            { key: "preprocess", label: t("preprocess.title"), children: (
              <Suspense fallback={<Spin />}>
                <Preprocessing datasetId={id} fields={Object.keys(summary.data?.fields ?? {})} onExecuted={versions.reload} />
              </Suspense>
            ) },
          ]} />
        </Space>
      )}
    </PageState>
  );
}
