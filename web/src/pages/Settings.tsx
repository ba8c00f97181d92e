import { Alert, Button, Card, Form, Input, Popconfirm, Segmented, Select, Space, Switch, Table, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { useSession } from "../auth/session";
import { ErrorAlert, PageState, useLoad } from "../components/State";
import { when } from "../format";
import type { Language } from "../i18n";

type Pat = components["schemas"]["PatOut"];
type PatCreated = components["schemas"]["PatCreatedOut"];

export default function Settings() {
  const { t } = useTranslation();
  const { prefs, setMode, updatePrefs, signOut } = useSession();
  const [error, setError] = useState<unknown>();
  const [secret, setSecret] = useState<string>();
  const tokens = useLoad(() => unwrap<Pat[]>(api.GET("/api/auth/tokens")), []);
  const create = async (v: { name: string; read_only?: boolean }) => {
    try {
      const pat = await unwrap<PatCreated>(api.POST("/api/auth/tokens", { body: { name: v.name, read_only: !!v.read_only } }));
      setSecret(pat.token);
      tokens.reload();
    } catch (e) { setError(e); }
  };
  const revoke = async (id: string) => {
    try {
      await unwrap(api.DELETE("/api/auth/tokens/{token_id}", { params: { path: { token_id: id } } }));
      tokens.reload();
    } catch (e) { setError(e); }
  };
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("settings.title")}</Typography.Title>
      {error !== undefined && <ErrorAlert error={error} />}
      <Card title={t("settings.preferences")}>
        <Form layout="horizontal" labelCol={{ span: 4 }} component="div">
          <Form.Item label={t("common.mode")}>
            <Segmented value={prefs?.mode} onChange={(v) => void setMode(v as "beginner" | "expert").catch(setError)}
              options={[{ value: "beginner", label: t("common.beginner") }, { value: "expert", label: t("common.expert") }]} />
          </Form.Item>
          <Form.Item label={t("common.language")}>
            <Select aria-label={t("common.language")} style={{ width: 140 }} value={prefs?.language} onChange={(v: Language) => void updatePrefs({ language: v }).catch(setError)}
              options={[{ value: "zh-CN", label: "简体中文" }, { value: "en-US", label: "English" }]} />
          </Form.Item>
          <Form.Item label={t("common.tooltips")}>
            <Switch aria-label={t("common.tooltips")} checked={prefs?.show_tooltips} onChange={(v) => void updatePrefs({ show_tooltips: v }).catch(setError)} />
          </Form.Item>
          <Form.Item label={t("settings.theme")}>
            <Segmented value={prefs?.theme} onChange={(v) => void updatePrefs({ theme: v as "light" | "dark" }).catch(setError)} options={["light", "dark"]} />
          </Form.Item>
        </Form>
      </Card>
      <Card title={t("settings.tokens")}>
        <Form layout="inline" onFinish={create} style={{ marginBottom: 12 }}>
          <Form.Item name="name" rules={[{ required: true }]}><Input aria-label={t("common.name")} placeholder={t("common.name")} /></Form.Item>
          <Form.Item name="read_only" valuePropName="checked" label={t("settings.readOnly")}><Switch aria-label={t("settings.readOnly")} /></Form.Item>
          <Button htmlType="submit">{t("settings.newToken")}</Button>
        </Form>
        {secret && <Alert type="warning" showIcon title={t("settings.secretOnce")} description={<Typography.Text copyable code>{secret}</Typography.Text>} style={{ marginBottom: 12 }} />}
        <PageState state={tokens}>
          {(rows) => <Table size="small" rowKey="id" dataSource={rows} locale={{ emptyText: t("common.empty") }} columns={[
            { title: t("common.name"), dataIndex: "name" }, { title: "prefix", dataIndex: "prefix" },
            { title: t("settings.readOnly"), dataIndex: "read_only", render: (v: boolean) => (v ? "✓" : "") },
            { title: t("common.created"), dataIndex: "created_at", render: when }, { title: "last used", dataIndex: "last_used_at", render: when },
            { title: t("common.actions"), render: (_, p) => !p.revoked_at && <Popconfirm title="?" onConfirm={() => void revoke(p.id)}><Button size="small" danger>{t("common.delete")}</Button></Popconfirm> },
          ]} />}
        </PageState>
      </Card>
      <Card title={t("settings.sessions")}>
        <Typography.Paragraph>{t("settings.sessionsHelp")}</Typography.Paragraph>
        <Button danger onClick={() => void signOut(true)}>{t("common.signOutAll")}</Button>
      </Card>
    </Space>
  );
}
