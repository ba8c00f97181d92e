import { Card, Col, List, Progress, Row, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { request } from "../api/client";
import { PageState, useLoad } from "../components/State";
import { pct } from "../format";

// links beside other text are underlined, not told apart by colour alone (WCAG 1.4.1)
const inText = { textDecoration: "underline" } as const;

interface Named { id: string; name: string; status?: string; summary?: Record<string, number | null> | null }
interface Job { id: string; type: string; status: string; percentage: number; stage?: string | null }

export default function Dashboard() {
  const { t } = useTranslation();
  const state = useLoad(async () => {
    const [datasets, factors, runs, jobs] = await Promise.all([
      request<Named[]>("/api/datasets?size=5"),
      request<Named[]>("/api/factors?size=5"),
      request<Named[]>("/api/backtests?size=5"),
      request<Job[]>("/api/tasks?status=running&size=10"),
    ]);
    return { datasets, factors, runs, jobs };
  }, []);
  return (
    <>
      <Typography.Title level={2}>{t("dashboard.title")}</Typography.Title>
      <PageState state={state}>
        {(d) => (
          <Row gutter={[16, 16]}>
            <Col xs={24} md={12}>
              <Card title={t("dashboard.recentDatasets")}>
                <List dataSource={d.datasets} locale={{ emptyText: t("common.empty") }}
                  renderItem={(x) => <List.Item><Link style={inText} to={`/datasets/${x.id}`}>{x.name}</Link></List.Item>} />
              </Card>
            </Col>
            <Col xs={24} md={12}>
              <Card title={t("dashboard.recentFactors")}>
                <List dataSource={d.factors} locale={{ emptyText: t("common.empty") }}
                  renderItem={(x) => <List.Item><Link style={inText} to="/factors">{x.name}</Link></List.Item>} />
              </Card>
            </Col>
            <Col xs={24} md={12}>
              <Card title={t("dashboard.recentRuns")}>
                <List dataSource={d.runs} locale={{ emptyText: t("common.empty") }}
                  renderItem={(x) => (
                    <List.Item extra={<span>{pct(x.summary?.total_return)} · Sharpe {x.summary?.sharpe_ratio?.toFixed?.(2) ?? "—"}</span>}>
                      <Link style={inText} to={`/backtests/${x.id}`}>{x.name}</Link> <Typography.Text type="secondary">{x.status}</Typography.Text>
                    </List.Item>
                  )} />
              </Card>
            </Col>
            <Col xs={24} md={12}>
              <Card title={t("dashboard.runningJobs")}>
                <List dataSource={d.jobs} locale={{ emptyText: t("common.empty") }}
                  renderItem={(j) => (
                    <List.Item>
                      <div style={{ width: "100%" }}>
                        {j.type} · {j.stage}
                        <Progress percent={Math.round(j.percentage)} size="small" aria-label={j.type} />
                      </div>
                    </List.Item>
                  )} />
              </Card>
            </Col>
          </Row>
        )}
      </PageState>
    </>
  );
}
