// Task schedules (cron): list with next/last run, enable/disable, edit in place, delete; create
// with a job type from the served registry. Beginner mode hides parameters and priority.
import { Alert, Button, Card, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Switch, Table, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { json, request } from "../api/client";
import { useExpert } from "../auth/session";
import { ErrorAlert, PageState, useLoad } from "../components/State";
import { when } from "../format";

interface Schedule {
  id: string; name: string; job_type: string; params: Record<string, unknown>; priority: number; cron: string; timezone: string;
  enabled: boolean; next_run_at: string | null; last_run_at: string | null; last_job_id: string | null;
}
interface JobType { name: string; description: string; submittable: boolean }
interface NewSchedule { name: string; job_type: string; cron: string; timezone: string; params?: string; priority?: number; enabled: boolean }

const ZONES = ["Asia/Shanghai", "UTC", "America/New_York", "Europe/London", "Asia/Hong_Kong", "Asia/Tokyo"];

function parseParams(text: string | undefined, label: string, invalid: string): Record<string, unknown> {
  if (!text) return {};
  try { return JSON.parse(text); } catch { throw new Error(`${label}: ${invalid}`); }
}

/** The schedule's fields in a dialog; only what changed is sent (PATCH). */
function EditSchedule({ schedule, onClose, onSaved }: { schedule: Schedule; onClose(): void; onSaved(): void }) {
  const { t } = useTranslation();
  const expert = useExpert();
  const [form] = Form.useForm<NewSchedule>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (v: NewSchedule) => {
    setError(undefined); setBusy(true);
    try {
      const next: Record<string, unknown> = { name: v.name, cron: v.cron, timezone: v.timezone };
      if (expert) {
        next.priority = v.priority;
        next.params = parseParams(v.params, t("schedules.params"), t("preprocess.invalidJson"));
      }
      const old = schedule as unknown as Record<string, unknown>;
      const changed = Object.fromEntries(Object.entries(next).filter(([k, x]) => x !== undefined && JSON.stringify(x) !== JSON.stringify(old[k])));
      if (Object.keys(changed).length) await request(`/api/tasks/schedules/${schedule.id}`, json("PATCH", changed));
      onSaved();
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <Modal open title={`${t("schedules.edit")} · ${schedule.name}`} onCancel={onClose} okText={t("common.save")} cancelText={t("common.cancel")}
      confirmLoading={busy} onOk={() => form.submit()} destroyOnHidden>
      <Form form={form} name="schedule-edit" layout="vertical" onFinish={(v) => void submit(v)} data-testid="schedule-edit" initialValues={{
        name: schedule.name, cron: schedule.cron, timezone: schedule.timezone, priority: schedule.priority, params: JSON.stringify(schedule.params),
      }}>
        <Form.Item name="name" label={t("common.name")} rules={[{ required: true, message: t("login.required") }]}><Input /></Form.Item>
        <Form.Item name="cron" label={t("schedules.cron")} rules={[{ required: true, message: t("login.required") }]} extra={t("schedules.cronHelp")}>
          <Input style={{ fontFamily: "monospace" }} />
        </Form.Item>
        <Form.Item name="timezone" label={t("schedules.timezone")}><Select showSearch options={ZONES.map((z) => ({ value: z, label: z }))} /></Form.Item>
        {expert && (
          <>
            <Form.Item name="priority" label={t("schedules.priority")}><InputNumber min={0} max={3} /></Form.Item>
            <Form.Item name="params" label={t("schedules.params")}><Input.TextArea rows={3} style={{ fontFamily: "monospace" }} /></Form.Item>
          </>
        )}
        {error !== undefined && <ErrorAlert error={error} />}
      </Form>
    </Modal>
  );
}

export default function Schedules() {
  const { t } = useTranslation();
  const expert = useExpert();
  const [error, setError] = useState<unknown>();
  const [form] = Form.useForm<NewSchedule>();
  const [editing, setEditing] = useState<Schedule>();
  const state = useLoad(() => request<Schedule[]>("/api/tasks/schedules?size=100"), []);
  const types = useLoad(() => request<JobType[]>("/api/tasks/types"), []);
  const act = async (call: () => Promise<unknown>) => {
    setError(undefined);
    try { await call(); state.reload(); } catch (e) { setError(e); }
  };
  const create = (v: NewSchedule) => act(async () => {
    const params = parseParams(v.params, t("schedules.params"), t("preprocess.invalidJson"));
    await request("/api/tasks/schedules", json("POST", {
      name: v.name, job_type: v.job_type, cron: v.cron, timezone: v.timezone, enabled: v.enabled, params,
      ...(v.priority !== undefined ? { priority: v.priority } : {}),
    }));
    form.resetFields(["name"]);
  });
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Space style={{ width: "100%", justifyContent: "space-between" }}>
        <Typography.Title level={2}>{t("schedules.title")}</Typography.Title>
        <Link to="/tasks"><Button>{t("schedules.jobs")}</Button></Link>
      </Space>
      {error !== undefined && <ErrorAlert error={error} />}
      <Card title={t("schedules.new")}>
        {!expert && <Alert type="info" showIcon title={t("schedules.cronHelp")} style={{ marginBottom: 12 }} />}
        <Form form={form} layout="inline" onFinish={(v) => void create(v)} initialValues={{ cron: "0 2 * * 1-5", timezone: "Asia/Shanghai", enabled: true }}>
          <Form.Item name="name" label={t("common.name")} rules={[{ required: true, message: t("login.required") }]}><Input style={{ width: 180 }} /></Form.Item>
          <Form.Item name="job_type" label={t("schedules.jobType")} rules={[{ required: true, message: t("login.required") }]}>
            <Select showSearch style={{ width: 200 }} loading={types.loading} options={(types.data ?? []).filter((x) => x.submittable).map((x) => ({ value: x.name, label: x.name }))} />
          </Form.Item>
          <Form.Item name="cron" label={t("schedules.cron")} rules={[{ required: true, message: t("login.required") }]} tooltip={expert ? t("schedules.cronHelp") : undefined}>
            <Input style={{ width: 140, fontFamily: "monospace" }} />
          </Form.Item>
          <Form.Item name="timezone" label={t("schedules.timezone")}>
            <Select style={{ width: 170 }} showSearch options={ZONES.map((z) => ({ value: z, label: z }))} />
          </Form.Item>
          <Form.Item name="enabled" label={t("schedules.enabled")} valuePropName="checked"><Switch /></Form.Item>
          {expert && (
            <>
              <Form.Item name="priority" label={t("schedules.priority")}><InputNumber min={0} max={3} style={{ width: 70 }} /></Form.Item>
              <Form.Item name="params" label={t("schedules.params")}><Input.TextArea rows={1} style={{ width: 260, fontFamily: "monospace" }} placeholder="{}" /></Form.Item>
            </>
          )}
          <Button type="primary" htmlType="submit">{t("common.save")}</Button>
        </Form>
      </Card>
      <PageState state={state}>
        {(rows) => (
          <Table rowKey="id" size="small" dataSource={rows} data-testid="schedules" locale={{ emptyText: t("common.empty") }} scroll={{ x: true }} columns={[
            { title: t("common.name"), dataIndex: "name" },
            { title: t("schedules.jobType"), dataIndex: "job_type" },
            { title: t("schedules.cron"), dataIndex: "cron", render: (c: string) => <code>{c}</code> },
            { title: t("schedules.timezone"), dataIndex: "timezone" },
            { title: t("schedules.enabled"), render: (_, s) => (
              <Switch aria-label={`${t("schedules.enabled")} ${s.name}`} checked={s.enabled}
                onChange={(v) => void act(() => request(`/api/tasks/schedules/${s.id}`, json("PATCH", { enabled: v })))} />
            ) },
            { title: t("schedules.nextRun"), dataIndex: "next_run_at", render: when },
            { title: t("schedules.lastRun"), dataIndex: "last_run_at", render: when },
            { title: t("common.actions"), render: (_, s) => (
              <Space>
              <Button size="small" onClick={() => setEditing(s)}>{t("schedules.edit")}</Button>
              <Popconfirm title={`${t("common.delete")} ${s.name}?`} onConfirm={() => void act(() => request(`/api/tasks/schedules/${s.id}`, { method: "DELETE" }))}>
                <Button size="small" danger>{t("common.delete")}</Button>
              </Popconfirm>
              </Space>
            ) },
          ]} />
        )}
      </PageState>
      {editing && <EditSchedule schedule={editing} onClose={() => setEditing(undefined)} onSaved={() => { setEditing(undefined); state.reload(); }} />}
    </Space>
  );
}
