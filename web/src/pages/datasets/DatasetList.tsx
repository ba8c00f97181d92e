import { Button, Space, Table, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { request } from "../../api/client";
import { PageState, useLoad } from "../../components/State";
import { when } from "../../format";

export interface Dataset { id: string; name: string; status: string; latest_version: number | null; updated_at: string; description: string }

export default function DatasetList() {
  const { t } = useTranslation();
  const state = useLoad(() => request<Dataset[]>("/api/datasets?size=200"), []);
  return (
    <>
      <Space style={{ width: "100%", justifyContent: "space-between" }}>
        <Typography.Title level={2}>{t("datasets.title")}</Typography.Title>
        <Link to="/datasets/import"><Button type="primary">{t("datasets.import")}</Button></Link>
      </Space>
      <PageState state={state}>
        {(rows) => (
          <Table rowKey="id" dataSource={rows} pagination={{ pageSize: 20 }} locale={{ emptyText: t("common.empty") }}
            columns={[
              { title: t("common.name"), dataIndex: "name", render: (v, r) => <Link to={`/datasets/${r.id}`}>{v}</Link> },
              { title: t("common.status"), dataIndex: "status" },
              { title: t("datasets.version"), dataIndex: "latest_version" },
              { title: t("common.created"), dataIndex: "updated_at", render: when },
              { title: t("common.actions"), render: (_, r) => <Link to={`/datasets/${r.id}/chart`}>{t("datasets.chart")}</Link> },
            ]} />
        )}
      </PageState>
    </>
  );
}
