import { Button, Card, Collapse, List, Progress, Segmented, Select, Space, Switch, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { useSession } from "../auth/session";
import { ErrorAlert, PageState, useLoad } from "../components/State";
import type { Language } from "../i18n";

type Guides = components["schemas"]["GuidesOut"];
type Faq = components["schemas"]["FaqOut"];

export default function Onboarding() {
  const { t, i18n } = useTranslation();
  const { prefs, setMode, updatePrefs } = useSession();
  const [error, setError] = useState<unknown>();
  const guides = useLoad(() => unwrap<Guides>(api.GET("/api/user/guides")), []);
  const faq = useLoad(() => unwrap<Faq>(api.GET("/api/help/faq", { params: { query: { lang: i18n.language as Language } } })), [i18n.language]);
  const complete = async (id: string) => {
    try {
      await unwrap(api.POST("/api/user/guides/{guide_id}/complete", { params: { path: { guide_id: id } } }));
      guides.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("onboarding.title")}</Typography.Title>
      {error !== undefined && <ErrorAlert error={error} />}
      <Card>
        <Space direction="vertical">
          <Typography.Text>{t("onboarding.modeHelp")}</Typography.Text>
          <Segmented
            aria-label={t("common.mode")}
            value={prefs?.mode}
            onChange={(v) => void setMode(v as "beginner" | "expert").catch(setError)}
            options={[{ value: "beginner", label: t("common.beginner") }, { value: "expert", label: t("common.expert") }]}
          />
          <Space>
            <Switch aria-label={t("common.tooltips")} checked={prefs?.show_tooltips}
              onChange={(v) => void updatePrefs({ show_tooltips: v }).catch(setError)} />
            <span>{t("onboarding.tooltipsHelp")}</span>
          </Space>
          <Select aria-label={t("common.language")} style={{ width: 140 }} value={prefs?.language}
            onChange={(v: Language) => void updatePrefs({ language: v }).catch(setError)}
            options={[{ value: "zh-CN", label: "简体中文" }, { value: "en-US", label: "English" }]} />
        </Space>
      </Card>
      <Card title={t("onboarding.guides")}>
        <PageState state={guides} empty={(g) => g.guides.length === 0}>
          {(g) => (
            <>
              <Progress percent={Math.round((100 * g.completed) / Math.max(1, g.total))}
                format={() => t("onboarding.progress", { done: g.completed, total: g.total })} aria-label={t("onboarding.guides")} />
              <List dataSource={g.guides} renderItem={(x) => (
                <List.Item actions={[x.completed ? <span key="d">✓</span> :
                  <Button key="c" size="small" onClick={() => void complete(x.id)}>{t("onboarding.complete")}</Button>]}>
                  <List.Item.Meta title={x.action?.path ? <Link to={x.action.path}>{x.title}</Link> : x.title} description={x.description} />
                </List.Item>
              )} />
            </>
          )}
        </PageState>
      </Card>
      <Card title={t("onboarding.faq")}>
        <PageState state={faq} empty={(f) => f.items.length === 0}>
          {(f) => <Collapse items={f.items.map((q) => ({ key: q.id, label: q.question, children: <p>{q.answer}</p> }))} />}
        </PageState>
      </Card>
    </Space>
  );
}
