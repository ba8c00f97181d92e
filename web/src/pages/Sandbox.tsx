import { Alert, Button, Card, Col, Descriptions, Row, Space, Switch, Table, Typography } from "antd";
import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { ErrorAlert, PageState, useLoad } from "../components/State";
import { when } from "../format";

const CodeEditor = lazy(() => import("../editor/CodeEditor"));
type Result = components["schemas"]["ExecuteResult"];
type Limits = components["schemas"]["SandboxLimits"];
type Execution = components["schemas"]["ExecutionOut"];

export default function Sandbox() {
  const { t } = useTranslation();
  const [code, setCode] = useState("import numpy as np\nx = np.arange(10)\nprint(x.mean())\n");
  const [capture, setCapture] = useState(true);
  const [result, setResult] = useState<Result>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const limits = useLoad(() => unwrap<Limits>(api.GET("/api/security/limits")), []);
  const history = useLoad(() => unwrap<Execution[]>(api.GET("/api/security/executions")), []);
  const run = async () => {
    setBusy(true); setError(undefined);
    try {
      setResult(await unwrap<Result>(api.POST("/api/security/execute", { body: { code, capture_locals: capture } as components["schemas"]["ExecuteRequest"] })));
      history.reload();
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("sandbox.title")}</Typography.Title>
      <Row gutter={16}>
        <Col xs={24} lg={16}>
          <Card title={t("sandbox.code")}>
            <Suspense fallback={null}><CodeEditor value={code} onChange={setCode} label={t("sandbox.code")} /></Suspense>
            <Space style={{ marginTop: 12 }}>
              <Button type="primary" loading={busy} onClick={() => void run()}>{t("sandbox.run")}</Button>
              <Switch aria-label={t("sandbox.locals")} checked={capture} onChange={setCapture} /> {t("sandbox.locals")}
            </Space>
            {error !== undefined && <div style={{ marginTop: 12 }}><ErrorAlert error={error} /></div>}
            {result && (
              <div style={{ marginTop: 12 }}>
                {!result.success && <Alert type="error" showIcon title={`${result.error_type}: ${result.error_message}`} />}
                <Typography.Text type="secondary">{result.execution_time.toFixed(3)} s · {result.memory_used_mb.toFixed(1)} MiB</Typography.Text>
                <h3>{t("sandbox.stdout")}</h3><pre data-testid="stdout">{result.stdout}</pre>
                {result.stderr && (<><h3>{t("sandbox.stderr")}</h3><pre>{result.stderr}</pre></>)}
                {result.locals_dict && (<><h3>{t("sandbox.locals")}</h3><pre>{JSON.stringify(result.locals_dict, null, 1)}</pre></>)}
              </div>
            )}
          </Card>
        </Col>
        <Col xs={24} lg={8}>
          <Card title={t("sandbox.limits")}>
            <PageState state={limits}>
              {(l) => <Descriptions size="small" column={1} items={[
                { label: "timeout", children: `${l.timeout_seconds.default} s (≤ ${l.timeout_seconds.max})` },
                { label: "memory", children: `${l.max_memory_mb.default} MiB (≤ ${l.max_memory_mb.max})` },
                { label: "rate", children: l.rate_limit }, { label: "code", children: `${l.code_max_chars} chars` }]} />}
            </PageState>
          </Card>
        </Col>
      </Row>
      <Card title={t("sandbox.history")}>
        <PageState state={history}>
          {(rows) => <Table size="small" rowKey="id" dataSource={rows} columns={[
            { title: t("common.created"), dataIndex: "created_at", render: when }, { title: "outcome", dataIndex: "outcome" },
            { title: "s", dataIndex: "execution_time", render: (v: number) => v.toFixed(3) }]} />}
        </PageState>
      </Card>
    </Space>
  );
}
