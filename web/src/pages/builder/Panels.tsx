// Side tabs of the builder canvas: the draft's snapshots (create, list, restore as the next
// version) and the graph as a Qlib workflow YAML (top-k graphs only; others say why not).
import { Alert, App as AntApp, Button, Input, List, Popconfirm, Space, Typography } from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { json, request } from "../../api/client";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { when } from "../../format";
import type { ApiGraph } from "./graph";

interface Snapshot { id: string; draft_id: string; draft_version: number; message: string; created_at: string }

export function Snapshots({ draftId, flush, onRestored }: { draftId: string; flush(): Promise<boolean>; onRestored(): void }) {
  const { t } = useTranslation();
  const { message } = AntApp.useApp();
  const state = useLoad(() => request<Snapshot[]>(`/api/builder/drafts/${draftId}/snapshots`), [draftId]);
  const [note, setNote] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<void>) => {
    setError(undefined); setBusy(true);
    try { await work(); } catch (e) { setError(e); } finally { setBusy(false); }
  };
  const create = () => act(async () => {
    if (!(await flush())) return;
    await request(`/api/builder/drafts/${draftId}/snapshots`, json("POST", { message: note }));
    setNote(""); state.reload();
    message.success(t("panels.snapshotTaken"));
  });
  const restore = (s: Snapshot) => act(async () => {
    await request(`/api/builder/drafts/${draftId}/snapshots/${s.id}/restore`, { method: "POST" });
    message.success(t("panels.restored", { v: s.draft_version }));
    onRestored();
  });
  return (
    <Space direction="vertical" style={{ width: "100%" }} data-testid="snapshots">
      <Typography.Text type="secondary">{t("panels.snapshotHelp")}</Typography.Text>
      <Space.Compact style={{ maxWidth: 520 }}>
        <Input aria-label={t("panels.snapshotNote")} placeholder={t("panels.snapshotNote")} value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
        <Button type="primary" loading={busy} onClick={() => void create()}>{t("panels.takeSnapshot")}</Button>
      </Space.Compact>
      {error !== undefined && <ErrorAlert error={error} />}
      <PageState state={state}>
        {(rows) => (
          <List size="small" dataSource={rows} locale={{ emptyText: t("panels.noSnapshots") }} renderItem={(s) => (
            <List.Item data-testid="snapshot" actions={[
              <Popconfirm key="r" title={t("panels.restoreConfirm")} onConfirm={() => void restore(s)}>
                <Button size="small" disabled={busy}>{t("panels.restore")}</Button>
              </Popconfirm>,
            ]}>
              <Space direction="vertical" size={0}>
                <span>{t("panels.ofVersion", { v: s.draft_version })}{s.message ? ` · ${s.message}` : ""}</span>
                <Typography.Text type="secondary">{when(s.created_at)}</Typography.Text>
              </Space>
            </List.Item>
          )} />
        )}
      </PageState>
    </Space>
  );
}

interface Qlib { supported: boolean; reason: string | null; yaml: string | null }

export function QlibYaml({ graph, valid }: { graph: ApiGraph; valid: boolean | undefined }) {
  const { t } = useTranslation();
  const [out, setOut] = useState<Qlib>();
  const [error, setError] = useState<unknown>();
  const text = JSON.stringify(graph);
  useEffect(() => {
    if (!valid) return;
    let live = true;
    setError(undefined);
    request<Qlib>("/api/builder/qlib-yaml", json("POST", { graph: JSON.parse(text) }))
      .then((r) => live && setOut(r)).catch((e) => live && setError(e));
    return () => { live = false; };
  }, [text, valid]);
  if (!valid) return <Typography.Text type="secondary">{t("builder.fixFirst")}</Typography.Text>;
  if (error !== undefined) return <ErrorAlert error={error} />;
  if (!out) return <Typography.Text type="secondary">{t("common.loading")}</Typography.Text>;
  if (!out.supported) return <Alert type="info" showIcon title={t("panels.qlibUnsupported")} description={out.reason} data-testid="qlib-yaml" />;
  return (
    <div data-testid="qlib-yaml">
      <Typography.Paragraph type="secondary">{t("panels.qlibHelp")}</Typography.Paragraph>
      <Typography.Paragraph copyable={{ text: out.yaml ?? "" }}>{t("panels.copy")}</Typography.Paragraph>
      <pre tabIndex={0} style={{ maxHeight: 360, overflow: "auto", background: "#f5f5f5", padding: 12 }}>{out.yaml}</pre>
    </div>
  );
}
