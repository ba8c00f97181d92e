import { Button, Space, Table, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { request } from "../../api/client";
import { PageState, useLoad } from "../../components/State";
import { num, pct, when } from "../../format";

interface Run { id: string; name: string; status: string; created_at: string; summary?: Record<string, number | null> | null }

export default function BacktestList() {
  const { t } = useTranslation();
  const state = useLoad(() => request<Run[]>("/api/backtests?size=200"), []);
  const navigate = useNavigate();
  const [selected, setSelected] = useState<string[]>([]);
  return (
    <>
      <Space style={{ width: "100%", justifyContent: "space-between" }}>
        <Typography.Title level={2}>{t("backtests.title")}</Typography.Title>
        <Space>
          <Button disabled={selected.length < 2 || selected.length > 10} data-testid="compare-selected"
            onClick={() => navigate(`/backtests/compare?ids=${selected.join(",")}`)}>
            {t("compare.run")} ({t("compare.selected", { n: selected.length })})
          </Button>
          <Link to="/backtests/new"><Button type="primary">{t("backtests.new")}</Button></Link>
        </Space>
      </Space>
      <PageState state={state}>
        {(rows) => (
          <Table rowKey="id" dataSource={rows}
            rowSelection={{ selectedRowKeys: selected, onChange: (keys) => setSelected(keys as string[]),
              getCheckboxProps: (r) => ({ disabled: r.status !== "completed", "aria-label": r.name || r.id }) }}
            locale={{ emptyText: t("common.empty") }} columns={[
            { title: t("common.name"), dataIndex: "name", render: (v, r) => <Link to={`/backtests/${r.id}`}>{v || r.id}</Link> },
            { title: t("common.status"), dataIndex: "status" },
            { title: "return", render: (_, r) => pct(r.summary?.total_return) },
            { title: "Sharpe", render: (_, r) => num(r.summary?.sharpe_ratio, 2) },
            { title: "max DD", render: (_, r) => pct(r.summary?.max_drawdown) },
            { title: t("common.created"), dataIndex: "created_at", render: when },
          ]} />
        )}
      </PageState>
    </>
  );
}
