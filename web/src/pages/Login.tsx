import { Button, Card, Form, Input, Select, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../auth/session";
import { ErrorAlert } from "../components/State";
import { setLanguage } from "../i18n";
import type { Language } from "../i18n";

export default function Login() {
  const { t, i18n } = useTranslation();
  const { signIn } = useSession();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (v: { username: string; password: string }) => {
    setBusy(true);
    setError(undefined);
    try {
      await signIn(v.username, v.password);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main style={{ minHeight: "100vh", display: "grid", placeItems: "center", background: "#f5f7fa" }}>
      <Card style={{ width: 380 }}>
        <Typography.Title level={1} style={{ fontSize: 24 }}>{t("app.title")}</Typography.Title>
        <Typography.Paragraph type="secondary">{t("app.subtitle")}</Typography.Paragraph>
        <Form layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item label={t("login.username")} name="username" rules={[{ required: true, message: t("login.required") }]}>
            <Input autoComplete="username" id="username" />
          </Form.Item>
          <Form.Item label={t("login.password")} name="password" rules={[{ required: true, message: t("login.required") }]}>
            <Input.Password autoComplete="current-password" id="password" />
          </Form.Item>
          {error !== undefined && <div style={{ marginBottom: 16 }}><ErrorAlert error={error} /></div>}
          <Button type="primary" htmlType="submit" block loading={busy}>{t("login.submit")}</Button>
        </Form>
        <Select
          aria-label={t("common.language")}
          style={{ marginTop: 16, width: 140 }}
          value={i18n.language as Language}
          onChange={(v: Language) => setLanguage(v)}
          options={[{ value: "zh-CN", label: "简体中文" }, { value: "en-US", label: "English" }]}
        />
      </Card>
    </main>
  );
}
