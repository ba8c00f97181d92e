import { Button, Drawer, Progress, Select, Space, Table, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { ErrorAlert, PageState, useLoad } from "../components/State";
import { when } from "../format";

type Job = components["schemas"]["JobOut"];
type JobLog = components["schemas"]["JobLogOut"];
const STATUSES = ["pending", "running", "paused", "completed", "failed", "cancelled"] as const;

export default function Tasks() {
  const { t } = useTranslation();
  const [status, setStatus] = useState<(typeof STATUSES)[number]>();
  const [logsOf, setLogsOf] = useState<string>();
  const [error, setError] = useState<unknown>();
  const state = useLoad(() => unwrap<Job[]>(api.GET("/api/tasks", { params: { query: { size: 100, status } } })), [status]);
  const logs = useLoad(async () => (logsOf ? unwrap<JobLog[]>(api.GET("/api/tasks/{job_id}/logs", { params: { path: { job_id: logsOf } } })) : []), [logsOf]);
  const act = async (id: string, action: "cancel" | "retry") => {
    try {
      if (action === "cancel") await unwrap(api.POST("/api/tasks/{job_id}/cancel", { params: { path: { job_id: id } } }));
      else await unwrap(api.POST("/api/tasks/{job_id}/retry", { params: { path: { job_id: id } } }));
      state.reload();
    } catch (e) { setError(e); }
  };
  return (
    <>
      <Typography.Title level={2}>{t("tasks.title")}</Typography.Title>
      <Space style={{ marginBottom: 12 }}>
        <Select aria-label={t("common.status")} allowClear placeholder={t("common.status")} style={{ width: 160 }} value={status} onChange={setStatus}
          options={STATUSES.map((s) => ({ value: s, label: s }))} />
        <Button onClick={state.reload}>{t("common.refresh")}</Button>
        <Link to="/tasks/schedules"><Button>{t("schedules.title")}</Button></Link>
      </Space>
      {error !== undefined && <ErrorAlert error={error} />}
      <PageState state={state}>
        {(jobs) => (
          <Table rowKey="id" size="small" dataSource={jobs} locale={{ emptyText: t("common.empty") }} columns={[
            { title: t("tasks.type"), dataIndex: "type" },
            { title: t("common.status"), dataIndex: "status" },
            { title: t("common.progress"), render: (_, j) => <Progress percent={Math.round(j.percentage)} size="small" aria-label={j.id} /> },
            { title: t("common.created"), dataIndex: "created_at", render: when },
            { title: t("common.actions"), render: (_, j) => (
              <Space>
                <Button size="small" onClick={() => setLogsOf(j.id)}>{t("tasks.logs")}</Button>
                {["pending", "running", "paused"].includes(j.status) && <Button size="small" danger onClick={() => void act(j.id, "cancel")}>{t("tasks.cancel")}</Button>}
                {["failed", "cancelled"].includes(j.status) && <Button size="small" onClick={() => void act(j.id, "retry")}>{t("tasks.retry")}</Button>}
              </Space>
            ) },
          ]} />
        )}
      </PageState>
      <Drawer open={!!logsOf} onClose={() => setLogsOf(undefined)} title={t("tasks.logs")} width={640}>
        <PageState state={logs} empty={(l) => l.length === 0}>
          {(rows) => <pre style={{ fontSize: 12 }}>{rows.map((r) => `${when(r.ts)} ${r.level} ${r.message}`).join("\n")}</pre>}
        </PageState>
      </Drawer>
    </>
  );
}
