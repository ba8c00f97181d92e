import { Alert, Button, Card, Space, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import { json, request } from "../../api/client";
import { useExpert, useSession } from "../../auth/session";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import type { Dataset } from "../datasets/DatasetList";
import SchemaForm from "./SchemaForm";
import type { JsonSchema, Value } from "./SchemaForm";

export default function BacktestNew() {
  const { t } = useTranslation();
  const expert = useExpert();
  const { prefs } = useSession();
  const navigate = useNavigate();
  const state = useLoad(async () => {
    const [schema, datasets] = await Promise.all([
      request<JsonSchema>("/api/backtests/schema"), request<Dataset[]>("/api/datasets?size=200"),
    ]);
    return { schema, datasets };
  }, []);
  const [value, setValue] = useState<Value>({
    strategy: { kind: "signals", entry: "Cross(Mean($close,10), Mean($close,30))", exit: "CrossDown(Mean($close,10), Mean($close,30))" },
  });
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const start = async (datasets: Dataset[]) => {
    setBusy(true); setError(undefined);
    try {
      const body = { dataset_id: datasets[0]?.id, ...value };
      const r = await request<{ id: string }>("/api/backtests", json("POST", body));
      navigate(`/backtests/${r.id}`);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("backtests.new")}</Typography.Title>
      <PageState state={state}>
        {({ schema, datasets }) => (
          <Card>
            {!expert && <Alert type="info" showIcon style={{ marginBottom: 16 }} title={schema.description} />}
            <SchemaForm schema={schema} value={{ dataset_id: datasets[0]?.id, ...value }} onChange={setValue} expert={expert}
              tooltips={prefs?.show_tooltips ?? true} datasets={datasets.map((d) => ({ value: d.id, label: d.name }))} />
            {error !== undefined && <div style={{ margin: "16px 0" }}><ErrorAlert error={error} /></div>}
            <Button type="primary" loading={busy} onClick={() => void start(datasets)}>{t("backtests.start")}</Button>
          </Card>
        )}
      </PageState>
    </Space>
  );
}
