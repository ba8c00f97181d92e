import { Button, Space, Typography } from "antd";
import { lazy, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams } from "react-router-dom";
import { request } from "../../api/client";
import { PageState, useLoad } from "../../components/State";
import Monitor from "./Monitor";

const Results = lazy(() => import("./Results"));

export interface Backtest {
  id: string; name: string; status: string; job_id: string; error?: string | null; incomplete: boolean;
  summary?: Record<string, number | null> | null; request: Record<string, unknown>;
}

export default function BacktestPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation();
  const navigate = useNavigate();
  const state = useLoad(() => request<Backtest>(`/api/backtests/${id}`), [id]);
  const rerun = async () => navigate(`/backtests/${(await request<{ id: string }>(`/api/backtests/${id}/rerun`, { method: "POST" })).id}`);
  return (
    <PageState state={state}>
      {(bt) => (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Space style={{ width: "100%", justifyContent: "space-between" }}>
            <Typography.Title level={2}>{bt.name || bt.id}</Typography.Title>
            <Button onClick={() => void rerun()}>{t("backtests.rerun")}</Button>
          </Space>
          {["pending", "running", "paused"].includes(bt.status)
            ? <Monitor jobId={bt.job_id} onDone={state.reload} />
            : bt.status === "completed"
              ? <Suspense fallback={null}><Results backtest={bt} /></Suspense>
              : <Typography.Text type="danger">{bt.status}: {bt.error}</Typography.Text>}
        </Space>
      )}
    </PageState>
  );
}
