import { Select, Switch, Table, Tabs, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { ErrorAlert, PageState, useLoad } from "../components/State";
import { when } from "../format";

type User = components["schemas"]["UserOut"];
type Audit = components["schemas"]["AuditEventOut"];
const ROLES = ["admin", "researcher", "viewer"] as const;

export default function Admin() {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>();
  const users = useLoad(() => unwrap<User[]>(api.GET("/api/admin/users", { params: { query: { size: 200 } } })), []);
  const audit = useLoad(() => unwrap<Audit[]>(api.GET("/api/admin/audit", { params: { query: { size: 200 } } })), []);
  const patch = async (id: string, body: components["schemas"]["UserPatchIn"]) => {
    try {
      await unwrap(api.PATCH("/api/admin/users/{user_id}", { params: { path: { user_id: id } }, body }));
      users.reload();
    } catch (e) { setError(e); }
  };
  return (
    <>
      <Typography.Title level={2}>{t("admin.title")}</Typography.Title>
      {error !== undefined && <ErrorAlert error={error} />}
      <Tabs items={[
        { key: "users", label: t("admin.users"), children: (
          <PageState state={users}>
            {(rows) => <Table size="small" rowKey="id" dataSource={rows} columns={[
              { title: t("common.name"), dataIndex: "username" }, { title: "email", dataIndex: "email" },
              { title: t("admin.role"), render: (_, u) => <Select aria-label={`${u.username} ${t("admin.role")}`} size="small" value={u.role} style={{ width: 120 }}
                onChange={(role) => void patch(u.id, { role })} options={ROLES.map((r) => ({ value: r, label: r }))} /> },
              { title: t("admin.active"), render: (_, u) => <Switch aria-label={`${u.username} ${t("admin.active")}`} size="small" checked={u.is_active} onChange={(v) => void patch(u.id, { is_active: v })} /> },
              { title: "last login", dataIndex: "last_login_at", render: when }]} />}
          </PageState>
        ) },
        { key: "audit", label: t("admin.audit"), children: (
          <PageState state={audit}>
            {(rows) => <Table size="small" rowKey="id" dataSource={rows} columns={[
              { title: t("admin.when"), dataIndex: "occurred_at", render: when }, { title: t("admin.actor"), dataIndex: "actor_id" },
              { title: t("admin.action"), dataIndex: "action" }, { title: "resource", render: (_, a) => `${a.resource_type ?? ""} ${a.resource_id ?? ""}` }]} />}
          </PageState>
        ) },
      ]} />
    </>
  );
}
