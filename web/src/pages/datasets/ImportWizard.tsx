// upload → inspect → column mapping with preview → validation report → job progress → done
import { Alert, Button, Card, Descriptions, Input, Progress, Result, Select, Space, Steps, Table, Typography, Upload } from "antd";
import type { UploadFile } from "antd";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { request } from "../../api/client";
import { useExpert } from "../../auth/session";
import { ErrorAlert } from "../../components/State";

interface Inspection {
  file: { name: string }; format: string; encoding?: string; delimiter?: string; headers?: string[];
  rows?: string[][]; column_types?: Record<string, string>; mapping: Record<string, string>; layout?: string;
  problems: { row?: number; column?: string; message: string }[];
}
interface ImportRecord {
  id: string; dataset_id: string; job_id: string; status: string; error?: string | null;
  report?: { files: { name: string; mapping: Record<string, string>; report: { rows: number; symbols: number; fatal: boolean; problems: Problem[] } }[] } | null;
}
interface Problem { row?: number | null; rows?: number[]; column?: string | null; message?: string; kind?: string; severity?: string }

const CANONICAL = ["symbol", "date", "open", "high", "low", "close", "volume", "amount", "factor"];

export default function ImportWizard() {
  const { t } = useTranslation();
  const expert = useExpert();
  const [step, setStep] = useState(0);
  const [files, setFiles] = useState<UploadFile[]>([]);
  const [name, setName] = useState("");
  const [inspection, setInspection] = useState<Inspection>();
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [record, setRecord] = useState<ImportRecord>();
  const [percent, setPercent] = useState(0);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const inspect = async () => {
    setBusy(true); setError(undefined);
    try {
      const body = new FormData();
      body.append("file", files[0].originFileObj as File);
      const result = await request<Inspection>("/api/imports/inspect", { method: "POST", body });
      setInspection(result);
      setMapping(result.mapping ?? {});
      if (!name) setName(files[0].name.replace(/\.[^.]+$/, ""));
      setStep(1);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };

  const start = async () => {
    setBusy(true); setError(undefined);
    try {
      const body = new FormData();
      files.forEach((f) => body.append("files", f.originFileObj as File));
      body.append("dataset_name", name);
      body.append("options", JSON.stringify({ mapping }));
      setRecord(await request<ImportRecord>("/api/imports", { method: "POST", body }));
      setStep(4);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };

  useEffect(() => {
    if (step !== 4 || !record) return;
    const timer = setInterval(async () => {
      try {
        const [r, job] = await Promise.all([
          request<ImportRecord>(`/api/imports/${record.id}`),
          request<{ percentage: number }>(`/api/tasks/${record.job_id}`),
        ]);
        setPercent(job.percentage);
        if (r.status === "completed" || r.status === "failed") {
          setRecord(r); setStep(r.status === "completed" ? 5 : 4); clearInterval(timer);
        }
      } catch (e) { setError(e); clearInterval(timer); }
    }, 800);
    return () => clearInterval(timer);
  }, [step, record]);

  const previewRows = useMemo(() => {
    if (!inspection?.headers || !inspection.rows) return [];
    const idx = Object.fromEntries(inspection.headers.map((h, i) => [h, i]));
    return inspection.rows.slice(0, 8).map((row, n) => ({
      key: n, ...Object.fromEntries(Object.entries(mapping).map(([canon, src]) => [canon, row[idx[src]]])),
    }));
  }, [inspection, mapping]);

  const problems = (inspection?.problems ?? []).map((p, i) => ({ key: i, ...p }));
  const reportProblems = (record?.report?.files ?? []).flatMap((f) =>
    f.report.problems.map((p, i) => ({ key: `${f.name}-${i}`, file: f.name, ...p, row: p.row ?? p.rows?.join(", ") })));

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("wizard.title")}</Typography.Title>
      <Steps current={step} items={["upload", "inspect", "mapping", "validation", "job", "done"].map((k) => ({ title: t(`wizard.${k}`) }))} />
      {error !== undefined && <ErrorAlert error={error} />}
      {step === 0 && (
        <Card>
          <Upload.Dragger multiple beforeUpload={() => false} fileList={files} onChange={(i) => setFiles(i.fileList.slice(0, 10))}
            accept=".csv,.txt,.xlsx,.xls,.parquet,.zip" data-testid="upload">
            <p>{t("wizard.chooseFiles")}</p>
          </Upload.Dragger>
          <Button type="primary" style={{ marginTop: 16 }} disabled={!files.length} loading={busy} onClick={() => void inspect()}>{t("common.next")}</Button>
        </Card>
      )}
      {step === 1 && inspection && (
        <Card>
          <Descriptions bordered size="small" column={2} items={[
            { label: t("wizard.datasetName"), children: <Input aria-label={t("wizard.datasetName")} value={name} onChange={(e) => setName(e.target.value)} /> },
            { label: "format", children: inspection.format },
            { label: t("wizard.encoding"), children: inspection.encoding },
            { label: t("wizard.delimiter"), children: JSON.stringify(inspection.delimiter) },
            { label: t("wizard.layout"), children: inspection.layout },
            { label: t("datasets.fields"), children: (inspection.headers ?? []).join(", ") },
          ]} />
          <Space style={{ marginTop: 16 }}>
            <Button onClick={() => setStep(0)}>{t("common.back")}</Button>
            <Button type="primary" onClick={() => setStep(2)}>{t("common.next")}</Button>
          </Space>
        </Card>
      )}
      {step === 2 && inspection && (
        <Card>
          {!expert && <Alert type="info" showIcon title={t("wizard.mappingHelp")} style={{ marginBottom: 16 }} />}
          <Table size="small" pagination={false} rowKey="canon"
            dataSource={CANONICAL.filter((c) => expert || c in mapping || ["symbol", "date", "close"].includes(c)).map((canon) => ({ canon }))}
            columns={[
              { title: t("wizard.canonical"), dataIndex: "canon" },
              { title: t("wizard.source"), render: (_, r) => (
                <Select aria-label={r.canon} allowClear style={{ width: 220 }} value={mapping[r.canon]}
                  onChange={(v) => setMapping((m) => { const n = { ...m }; if (v) n[r.canon] = v; else delete n[r.canon]; return n; })}
                  options={(inspection.headers ?? []).map((h) => ({ value: h, label: `${h} (${inspection.column_types?.[h] ?? "?"})` }))} />
              ) },
            ]} />
          <Typography.Title level={3} style={{ fontSize: 16, marginTop: 16 }}>{t("datasets.preview")}</Typography.Title>
          <Table size="small" pagination={false} scroll={{ x: true }} dataSource={previewRows} data-testid="mapping-preview"
            columns={Object.keys(mapping).map((k) => ({ title: k, dataIndex: k }))} />
          <Space style={{ marginTop: 16 }}>
            <Button onClick={() => setStep(1)}>{t("common.back")}</Button>
            <Button type="primary" onClick={() => setStep(3)}>{t("common.next")}</Button>
          </Space>
        </Card>
      )}
      {step === 3 && (
        <Card>
          {problems.length === 0 ? <Alert type="success" showIcon title={t("wizard.noProblems")} /> : (
            <Table size="small" dataSource={problems} columns={[
              { title: t("wizard.row"), dataIndex: "row" }, { title: t("wizard.column"), dataIndex: "column" },
              { title: t("wizard.message"), dataIndex: "message" }]} />
          )}
          <Space style={{ marginTop: 16 }}>
            <Button onClick={() => setStep(2)}>{t("common.back")}</Button>
            <Button type="primary" loading={busy} onClick={() => void start()}>{t("wizard.start")}</Button>
          </Space>
        </Card>
      )}
      {step === 4 && (
        <Card>
          <Typography.Text>{t("wizard.importing")}</Typography.Text>
          <Progress percent={Math.round(percent)} aria-label={t("wizard.job")} />
          {record?.status === "failed" && <Alert type="error" showIcon title={record.error ?? "failed"} />}
        </Card>
      )}
      {step === 5 && record && (
        <Result status="success" title={t("wizard.finished")}
          subTitle={(record.report?.files ?? []).map((f) => `${f.name}: ${f.report.rows} rows`).join(" · ")}
          extra={[<Link key="o" to={`/datasets/${record.dataset_id}`}><Button type="primary">{t("wizard.openDataset")}</Button></Link>]}>
          {reportProblems.length > 0 && (
            <Table size="small" dataSource={reportProblems} columns={[
              { title: "file", dataIndex: "file" }, { title: t("wizard.row"), dataIndex: "row" },
              { title: t("wizard.column"), dataIndex: "column" }, { title: t("wizard.message"), render: (_, p) => p.message ?? p.kind }]} />
          )}
        </Result>
      )}
    </Space>
  );
}
