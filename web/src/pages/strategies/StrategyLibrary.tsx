// The strategy library: the template gallery (cards with ratings and plain-language
// descriptions; "use" saves a copy) and the saved strategies (favourites, ratings, versions).
import { Button, Card, Col, Input, Rate, Row, Space, Table, Tabs, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import { json, request } from "../../api/client";
import { useExpert } from "../../auth/session";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { when } from "../../format";
import { localized, plain } from "./common";
import type { Strategy } from "./common";

export function Favourite({ strategy, onChange }: { strategy: Strategy; onChange(): void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>();
  const toggle = async () => {
    try {
      await request(`/api/strategies/${strategy.id}/favourite`, { method: strategy.favourite ? "DELETE" : "PUT" });
      onChange();
    } catch (e) { setError(e); }
  };
  return (
    <>
      <Button size="small" aria-pressed={strategy.favourite} aria-label={`${t("strategies.favourite")} ${strategy.name}`} onClick={() => void toggle()}>
        {strategy.favourite ? "★" : "☆"}
      </Button>
      {error !== undefined && <ErrorAlert error={error} />}
    </>
  );
}

function Gallery() {
  const { t, i18n } = useTranslation();
  const expert = useExpert();
  const navigate = useNavigate();
  const [q, setQ] = useState("");
  const [error, setError] = useState<unknown>();
  const state = useLoad(() => request<Strategy[]>(`/api/strategy-templates?size=100${q ? `&q=${encodeURIComponent(q)}` : ""}`), [q]);
  const use = async (id: string) => {
    setError(undefined);
    try {
      const s = await request<{ id: string }>(`/api/strategy-templates/${id}/use`, json("POST", {}));
      navigate(`/strategies/${s.id}`);
    } catch (e) { setError(e); }
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Input.Search aria-label={t("common.search")} placeholder={t("common.search")} allowClear onSearch={setQ} style={{ width: 320 }} />
      {error !== undefined && <ErrorAlert error={error} />}
      <PageState state={state} empty={(x) => x.length === 0}>
        {(items) => (
          <Row gutter={[16, 16]} data-testid="template-gallery">
            {items.map((s) => (
              <Col key={s.id} xs={24} md={12} xl={8}>
                <Card size="small" data-testid="template-card" style={{ height: "100%" }}
                  title={<Link to={`/strategies/${s.id}`}>{localized(s, "name", i18n.language)}</Link>}
                  extra={<Button size="small" type="primary" onClick={() => void use(s.id)}>{t("strategies.use")}</Button>}>
                  <Typography.Paragraph>{localized(s, "description", i18n.language)}</Typography.Paragraph>
                  {!expert && plain(s, i18n.language) && <Typography.Paragraph type="secondary">{plain(s, i18n.language)}</Typography.Paragraph>}
                  <Space wrap size={4}>
                    {s.category && <Tag>{s.category}</Tag>}
                    <Tag>{s.market}</Tag>
                    <Rate disabled allowHalf value={s.rating.average ?? 0} style={{ fontSize: 14 }} aria-label={t("strategies.ratings")} />
                    <Typography.Text type="secondary">{t("strategies.usage", { n: s.usage_count })}</Typography.Text>
                  </Space>
                </Card>
              </Col>
            ))}
          </Row>
        )}
      </PageState>
    </Space>
  );
}

function Saved() {
  const { t } = useTranslation();
  const state = useLoad(() => request<Strategy[]>("/api/strategies?mine=true&size=200"), []);
  return (
    <PageState state={state}>
      {(rows) => (
        <Table rowKey="id" size="small" dataSource={rows} data-testid="saved-strategies" locale={{ emptyText: t("common.empty") }} columns={[
          { title: t("common.name"), dataIndex: "name", render: (v, s) => <Link to={`/strategies/${s.id}`}>{v}</Link> },
          { title: t("strategies.version"), dataIndex: "version" },
          { title: t("strategies.ratings"), render: (_, s) => (s.rating.count ? t("strategies.average", { avg: s.rating.average?.toFixed(1), n: s.rating.count }) : "—") },
          { title: t("strategies.favourite"), render: (_, s) => <Favourite strategy={s} onChange={state.reload} /> },
          { title: t("common.status"), render: (_, s) => (s.is_public ? <Tag color="#0958d9">{t("library.public")}</Tag> : null) },
          { title: t("common.created"), dataIndex: "updated_at", render: when },
        ]} />
      )}
    </PageState>
  );
}

export default function StrategyLibrary() {
  const { t } = useTranslation();
  return (
    <>
      <Typography.Title level={2}>{t("strategies.title")}</Typography.Title>
      <Tabs items={[
        { key: "gallery", label: t("strategies.gallery"), children: <Gallery /> },
        { key: "mine", label: t("strategies.mine"), children: <Saved /> },
      ]} />
    </>
  );
}
