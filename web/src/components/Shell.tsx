import { Button, Dropdown, Layout, Menu, Segmented, Select, Space, Typography } from "antd";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation } from "react-router-dom";
import { useSession } from "../auth/session";
import type { Language } from "../i18n";

const ITEMS = [
  ["/", "nav.dashboard"], ["/datasets", "nav.datasets"], ["/factors", "nav.factors"],
  ["/strategies", "nav.strategies"], ["/builder", "nav.builder"], ["/studies", "nav.studies"], ["/models", "nav.models"], ["/backtests", "nav.backtests"], ["/tasks", "nav.tasks"], ["/sandbox", "nav.sandbox"],
  ["/settings", "nav.settings"], ["/welcome", "nav.help"],
] as const;

export default function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { me, prefs, setMode, updatePrefs, signOut } = useSession();
  const { pathname } = useLocation();
  const items: { key: string; label: ReactNode }[] = ITEMS.map(([to, key]) => ({ key: to, label: <Link to={to}>{t(key)}</Link> }));
  if (me?.role === "admin") items.splice(items.length - 1, 0, { key: "/admin", label: <Link to="/admin">{t("nav.admin")}</Link> });
  const selected = ITEMS.map(([to]) => to as string).concat("/admin")
    .filter((p) => (p === "/" ? pathname === "/" : pathname.startsWith(p)));
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Sider width={200} theme="light" breakpoint="lg" collapsedWidth={0}>
        <div style={{ padding: "16px 24px" }}>
          <Typography.Text strong style={{ fontSize: 18 }}>quantlab</Typography.Text>
        </div>
        <nav aria-label="main">
          <Menu mode="inline" selectedKeys={selected} items={items} />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header style={{ background: "#fff", display: "flex", justifyContent: "flex-end", alignItems: "center", paddingInline: 24 }}>
          <Space size="middle" wrap>
            <Segmented
              aria-label={t("common.mode")}
              data-testid="mode-switch"
              value={prefs?.mode ?? "expert"}
              onChange={(v) => void setMode(v as "beginner" | "expert")}
              options={[{ value: "beginner", label: t("common.beginner") }, { value: "expert", label: t("common.expert") }]}
            />
            <Select
              aria-label={t("common.language")}
              data-testid="language-switch"
              style={{ width: 120 }}
              value={prefs?.language ?? "zh-CN"}
              onChange={(v: Language) => void updatePrefs({ language: v })}
              options={[{ value: "zh-CN", label: "简体中文" }, { value: "en-US", label: "English" }]}
            />
            <Dropdown
              menu={{
                items: [
                  { key: "out", label: t("common.signOut"), onClick: () => void signOut(false) },
                  { key: "all", label: t("common.signOutAll"), onClick: () => void signOut(true) },
                ],
              }}
            >
              <Button data-testid="user-menu">{me?.display_name || me?.username}</Button>
            </Dropdown>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 24 }}>
          <main>{children}</main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
