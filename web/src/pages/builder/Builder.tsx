// The visual strategy builder: drafts and templates (/builder), and the canvas of one draft
// (/builder/:draftId) with a searchable palette, typed ports, the block's parameter panel,
// live validation, node previews, generated Python and description, a quick test and saving
// as a strategy. Edits autosave with the draft's version (a stale save says so).
import {
  Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, addEdge, applyEdgeChanges, applyNodeChanges, useReactFlow,
} from "@xyflow/react";
import type { Connection, Edge, EdgeChange, FinalConnectionState, NodeChange } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import {
  Alert, App as AntApp, Button, Card, Col, Collapse, Descriptions, Empty, Form, Input, InputNumber, List, Row, Segmented, Select,
  Space, Statistic, Switch, Table, Tabs, Tag, Typography,
} from "antd";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ApiError, json, request } from "../../api/client";
import { useExpert } from "../../auth/session";
import EChart from "../../charts/EChart";
import { ErrorAlert, PageState, useLoad } from "../../components/State";
import { useJob } from "../../components/useJob";
import { when } from "../../format";
import type { Dataset } from "../datasets/DatasetList";
import type { Strategy, StrategyDetail } from "../strategies/common";
import { localized } from "../strategies/common";
import BlockNodeView, { CanvasContext, typeLabel } from "./BlockNode";
import { QlibYaml, Snapshots } from "./Panels";
import {
  autoLayout, catalogIndex, newId, refusal, toApi, toCanvas,
} from "./graph";
import type { ApiGraph, BlockNode, Catalog, Issue, NodeType, ParamDef, ParamValue } from "./graph";

interface Draft {
  id: string; name: string; version: number; graph: ApiGraph; strategy_id: string | null;
  last_job_id: string | null; last_result: QuickResult | null; updated_at: string; expires_at: string | null;
}
interface QuickResult { job_id: string; start: string | null; end: string | null; metrics: Record<string, unknown>; trades: number; curve: [string, number][] }
interface Preview { node_id: string; port: string; expression: string | null; dates: string[]; series: Record<string, (number | null)[]>; stats: { nan_share: number; min: number | null; max: number | null; mean: number | null } }

const nodeTypes = { block: BlockNodeView };
const MIME = "application/x-quantlab-block";

/** Open a template as a graph in a new draft. */
async function draftFromTemplate(id: string, name: string): Promise<{ id: string; dropped: string[] }> {
  const detail = await request<StrategyDetail>(`/api/strategies/${id}`);
  const { graph, dropped } = await request<{ graph: ApiGraph; dropped: string[] }>("/api/builder/from-spec", json("POST", { spec: detail.body }));
  const { nodes, edges } = toCanvas(graph);
  const laid = toApi(autoLayout(nodes, edges), edges, graph);
  const draft = await request<Draft>("/api/builder/drafts", json("POST", { name: name.slice(0, 120), graph: laid }));
  return { id: draft.id, dropped };
}

function Drafts() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>();
  const [template, setTemplate] = useState<string>();
  const drafts = useLoad(() => request<Draft[]>("/api/builder/drafts?size=100"), []);
  const templates = useLoad(() => request<Strategy[]>("/api/strategy-templates?size=100"), []);
  const act = async (fn: () => Promise<void>) => { setError(undefined); try { await fn(); } catch (e) { setError(e); } };
  const create = () => act(async () => navigate(`/builder/${(await request<Draft>("/api/builder/drafts", json("POST", { name: t("builder.untitled") }))).id}`));
  const open = () => act(async () => {
    const tpl = templates.data?.find((s) => s.id === template);
    if (!tpl) return;
    navigate(`/builder/${(await draftFromTemplate(tpl.id, localized(tpl, "name", i18n.language))).id}`);
  });
  return (
    <>
      <Typography.Title level={2}>{t("builder.title")}</Typography.Title>
      <Typography.Paragraph type="secondary">{t("builder.intro")}</Typography.Paragraph>
      <Space wrap style={{ marginBottom: 16 }}>
        <Button type="primary" onClick={() => void create()}>{t("builder.newDraft")}</Button>
        <Select aria-label={t("builder.template")} placeholder={t("builder.template")} style={{ width: 300 }} value={template} onChange={setTemplate}
          loading={templates.loading} data-testid="builder-template" showSearch optionFilterProp="label"
          options={(templates.data ?? []).map((s) => ({ value: s.id, label: localized(s, "name", i18n.language) }))} />
        <Button onClick={() => void open()} disabled={!template}>{t("builder.openTemplate")}</Button>
      </Space>
      {error !== undefined && <ErrorAlert error={error} />}
      <PageState state={drafts}>
        {(rows) => (
          <Table rowKey="id" size="small" dataSource={rows} data-testid="builder-drafts" locale={{ emptyText: t("common.empty") }} columns={[
            { title: t("common.name"), dataIndex: "name", render: (v, d) => <Link to={`/builder/${d.id}`}>{v}</Link> },
            { title: t("builder.version"), dataIndex: "version" },
            { title: t("builder.savedAs"), dataIndex: "strategy_id", render: (v) => (v ? <Link to={`/strategies/${v}`}>{t("builder.strategy")}</Link> : "—") },
            { title: t("builder.updated"), dataIndex: "updated_at", render: when },
          ]} />
        )}
      </PageState>
    </>
  );
}

function ParamField({ def, value, onChange, lang }: { def: ParamDef; value: ParamValue | undefined; onChange(v: ParamValue | undefined): void; lang: string }) {
  const label = def.name;
  const help = def.description || undefined;
  let control;
  if (value && typeof value === "object") {
    control = <Space><Tag>{`{${value.ref}}`}</Tag><Button size="small" onClick={() => onChange((def.default ?? undefined) as ParamValue | undefined)}>{lang === "en-US" ? "Use a constant" : "改为常数"}</Button></Space>;
  } else if (def.type === "int" || def.type === "float") {
    control = <InputNumber aria-label={label} value={value as number | undefined} min={def.minimum ?? undefined} max={def.maximum ?? undefined}
      step={def.type === "int" ? 1 : undefined} precision={def.type === "int" ? 0 : undefined} onChange={(v) => onChange(v ?? undefined)} style={{ width: "100%" }} />;
  } else if (def.type === "bool") {
    control = <Switch aria-label={label} checked={Boolean(value ?? def.default)} onChange={onChange} />;
  } else if ((def.type === "enum" || def.type === "field") && def.choices.length) {
    control = <Select aria-label={label} value={value as string | undefined} onChange={onChange} options={def.choices.map((c) => ({ value: c, label: c }))} style={{ width: "100%" }} />;
  } else {
    const Tag_ = def.type === "expression" ? Input.TextArea : Input;
    control = <Tag_ aria-label={label} value={(value as string | undefined) ?? ""} onChange={(e: { target: { value: string } }) => onChange(e.target.value || undefined)}
      style={def.type === "expression" ? { fontFamily: "monospace" } : undefined} />;
  }
  return <Form.Item label={label} help={help} required={def.required} style={{ marginBottom: 10 }}>{control}</Form.Item>;
}

function PreviewChart({ preview, label }: { preview: Preview; label: string }) {
  const option = useMemo(() => ({
    grid: { left: 48, right: 8, top: 8, bottom: 24 }, tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: preview.dates }, yAxis: { type: "value", scale: true },
    series: Object.entries(preview.series).map(([name, data]) => ({ type: "line", name, symbol: "none", data })),
  }), [preview]);
  return <EChart option={option} height={160} label={label} />;
}

const METRICS = ["total_return", "annual_return", "sharpe_ratio", "max_drawdown", "volatility", "win_rate"];
const num = (v: unknown) => (typeof v === "number" ? (Math.abs(v) < 10 ? v.toFixed(4) : v.toFixed(2)) : String(v ?? "—"));

function QuickTest({ draft, flush, onDone }: { draft: Draft; flush(): Promise<boolean>; onDone(): void }) {
  const { t } = useTranslation();
  const expert = useExpert();
  const datasets = useLoad(() => request<Dataset[]>("/api/datasets?size=200"), []);
  const [datasetId, setDatasetId] = useState<string>();
  const [period, setPeriod] = useState("1Y");
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const { job, error: jobError } = useJob(jobId, () => onDone());
  const dsId = datasetId ?? datasets.data?.[0]?.id;
  const start = async () => {
    setError(undefined);
    try {
      if (!(await flush())) return;
      const started = await request<{ job_id: string }>(`/api/builder/drafts/${draft.id}/quick-test`, json("POST", { dataset_id: dsId, period }));
      setJobId(started.job_id);
    } catch (e) { setError(e); }
  };
  const result = draft.last_result;
  const running = job !== undefined && !["completed", "failed", "cancelled"].includes(job.status);
  const option = useMemo(() => ({
    grid: { left: 64, right: 16, top: 16, bottom: 32 }, tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: (result?.curve ?? []).map((c) => c[0]) }, yAxis: { type: "value", scale: true },
    series: [{ type: "line", symbol: "none", data: (result?.curve ?? []).map((c) => c[1]) }],
  }), [result]);
  const metrics = Object.entries(result?.metrics ?? {}).filter(([k, v]) => typeof v === "number" && (expert || METRICS.includes(k)));
  return (
    <Space direction="vertical" style={{ width: "100%" }} data-testid="quick-test">
      <Space wrap>
        <Select aria-label={t("builder.dataset")} style={{ width: 260 }} value={dsId} onChange={setDatasetId} loading={datasets.loading}
          options={(datasets.data ?? []).map((d) => ({ value: d.id, label: d.name }))} />
        <Segmented aria-label={t("builder.period")} value={period} onChange={(v) => setPeriod(v as string)} options={["1M", "3M", "6M", "1Y"]} />
        <Button type="primary" onClick={() => void start()} disabled={!dsId || running} loading={running}>{t("builder.quickTest")}</Button>
      </Space>
      {!expert && <Typography.Text type="secondary">{t("builder.quickHelp")}</Typography.Text>}
      {(error !== undefined || jobError !== undefined) && <ErrorAlert error={error ?? jobError} />}
      {job && (
        <Typography.Text data-testid="quick-test-status">
          {t("common.status")}: {job.status} · {Math.round(job.percentage)}%{job.stage ? ` · ${job.stage}` : ""}
          {job.error?.message ? ` · ${job.error.message}` : ""}
        </Typography.Text>
      )}
      {result && (
        <div data-testid="quick-test-result">
          <Typography.Text type="secondary">{result.start} — {result.end} · {t("builder.trades", { n: result.trades })}</Typography.Text>
          <Row gutter={[16, 8]} style={{ marginTop: 8 }}>
            {metrics.map(([k, v]) => <Col key={k} xs={12} md={8} xl={6}><Statistic title={k} value={num(v)} /></Col>)}
          </Row>
          {result.curve.length > 1 && <EChart option={option} height={200} label={t("builder.equity")} />}
        </div>
      )}
    </Space>
  );
}

function Editor({ draftId }: { draftId: string }) {
  const { t, i18n } = useTranslation();
  const expert = useExpert();
  const { message } = AntApp.useApp();
  const flow = useReactFlow();
  const lang = i18n.language;
  const catalog = useLoad(() => request<Catalog>("/api/builder/catalog"), []);
  const types = useMemo(() => catalogIndex(catalog.data), [catalog.data]);
  const [draft, setDraft] = useState<Draft>();
  const [loadError, setLoadError] = useState<unknown>();
  const [nodes, setNodes] = useState<BlockNode[]>([]);
  const [edges, setEdges] = useState<Edge[]>([]);
  const [base, setBase] = useState<ApiGraph>({ nodes: [], edges: [] });
  const [selected, setSelected] = useState<string>();
  const [issues, setIssues] = useState<Issue[]>([]);
  const [valid, setValid] = useState<boolean>();
  const [checkError, setCheckError] = useState<unknown>();
  const [saveState, setSaveState] = useState<"saved" | "saving" | "stale" | "error">("saved");
  const [saveError, setSaveError] = useState<unknown>();
  const [refused, setRefused] = useState<string>();
  const [query, setQuery] = useState("");
  const [tab, setTab] = useState("issues");
  const [python, setPython] = useState<string>();
  const [describe, setDescribe] = useState<Record<string, string>>();
  const [preview, setPreview] = useState<Preview>();
  const [previewError, setPreviewError] = useState<unknown>();
  const [saved, setSaved] = useState<{ strategy_id: string; strategy_version: number }>();
  const [history, setHistory] = useState<{ past: string[]; future: string[] }>({ past: [], future: [] });
  const version = useRef(0);
  const [shownVersion, setShownVersion] = useState(0);
  const lastSaved = useRef("");
  const datasets = useLoad(() => request<Dataset[]>("/api/datasets?size=200"), []);

  const load = useCallback(async () => {
    setLoadError(undefined);
    try {
      const d = await request<Draft>(`/api/builder/drafts/${draftId}`);
      const c = toCanvas(d.graph);
      version.current = d.version;
      setShownVersion(d.version);
      lastSaved.current = JSON.stringify(toApi(c.nodes, c.edges, d.graph));
      setDraft(d); setBase(d.graph); setNodes(c.nodes); setEdges(c.edges); setSaveState("saved");
      setHistory({ past: [], future: [] });
      setTimeout(() => void flow.fitView({ padding: 0.2, maxZoom: 1 }), 50);
    } catch (e) { setLoadError(e); }
  }, [draftId, flow]);
  useEffect(() => { void load(); }, [load]);

  const graph = useMemo(() => toApi(nodes, edges, base), [nodes, edges, base]);
  const text = useMemo(() => JSON.stringify(graph), [graph]);
  // what validation depends on: everything but where the blocks sit
  const logical = useMemo(() => JSON.stringify({ ...graph, nodes: graph.nodes.map((n) => ({ ...n, position: undefined })) }), [graph]);

  // --- autosave -----------------------------------------------------------------------
  const save = useCallback(async (): Promise<boolean> => {
    if (!draft || saveState === "stale") return saveState !== "stale";
    if (text === lastSaved.current) return true;
    setSaveState("saving");
    try {
      const d = await request<Draft>(`/api/builder/drafts/${draft.id}`, json("PUT", { graph: JSON.parse(text), version: version.current }));
      version.current = d.version;
      setShownVersion(d.version);
      lastSaved.current = text;
      setSaveState("saved");
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setSaveState("stale");
      else { setSaveState("error"); setSaveError(e); }
      return false;
    }
  }, [draft, text, saveState]);
  useEffect(() => {
    if (!draft || text === lastSaved.current || saveState === "stale") return;
    const timer = setTimeout(() => void save(), 1200);
    return () => clearTimeout(timer);
  }, [text, draft, save, saveState]);

  // --- live validation (and the generated texts) -------------------------------------
  useEffect(() => {
    if (!draft) return;
    let live = true;
    const timer = setTimeout(() => {
      const body = json("POST", { graph: JSON.parse(logical) });
      request<{ valid: boolean; issues: Issue[] }>("/api/builder/validate", body)
        .then((r) => { if (live) { setIssues(r.issues); setValid(r.valid); setCheckError(undefined); } })
        .catch((e) => { if (live) { setCheckError(e); setValid(false); setIssues([]); } });
    }, 350);
    return () => { live = false; clearTimeout(timer); };
  }, [logical, draft]);
  useEffect(() => {
    if (!valid || (tab !== "python" && tab !== "describe")) return;
    let live = true;
    const body = json("POST", { graph: JSON.parse(logical) });
    if (tab === "python") request<{ code: string }>("/api/builder/python", body).then((r) => live && setPython(r.code)).catch((e) => live && setCheckError(e));
    else request<Record<string, string>>("/api/builder/describe", body).then((r) => live && setDescribe(r)).catch((e) => live && setCheckError(e));
    return () => { live = false; };
  }, [valid, tab, logical]);

  const byNode = useMemo(() => {
    const m = new Map<string, Issue[]>();
    for (const i of issues) if (i.node_id) m.set(i.node_id, [...(m.get(i.node_id) ?? []), i]);
    return m;
  }, [issues]);
  const badEdges = useMemo(() => new Map(issues.filter((i) => i.edge_id).map((i) => [i.edge_id!, i])), [issues]);
  const shownEdges = useMemo(() => edges.map((e) => (badEdges.has(e.id)
    ? { ...e, animated: true, style: { stroke: "#cf1322", strokeWidth: 2 }, label: badEdges.get(e.id)!.message.slice(0, 40), ariaLabel: badEdges.get(e.id)!.message }
    : e)), [edges, badEdges]);

  // --- editing (with undo/redo over the graph text) -----------------------------------
  const remember = useCallback(() => setHistory((h) => ({ past: [...h.past.slice(-49), text], future: [] })), [text]);
  const restore = (snapshot: string) => { const g = JSON.parse(snapshot) as ApiGraph; const c = toCanvas(g); setNodes(c.nodes); setEdges(c.edges); setBase(g); };
  const undo = () => setHistory((h) => { if (!h.past.length) return h; restore(h.past[h.past.length - 1]); return { past: h.past.slice(0, -1), future: [text, ...h.future] }; });
  const redo = () => setHistory((h) => { if (!h.future.length) return h; restore(h.future[0]); return { past: [...h.past, text], future: h.future.slice(1) }; });
  const onNodesChange = useCallback((changes: NodeChange<BlockNode>[]) => {
    if (changes.some((c) => c.type === "remove")) remember();
    setNodes((ns) => applyNodeChanges(changes, ns));
    const sel = changes.find((c) => c.type === "select" && c.selected);
    if (sel && "id" in sel) setSelected(sel.id);
  }, [remember]);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    if (changes.some((c) => c.type === "remove")) remember();
    setEdges((es) => applyEdgeChanges(changes, es));
  }, [remember]);
  const why = (c: Connection | Edge) => refusal(types, nodes, edges, c);
  const onConnect = (c: Connection) => {
    const no = why(c);
    if (no) { setRefused(t(no.key, no.vars)); return; }
    setRefused(undefined);
    remember();
    setEdges((es) => addEdge({ ...c, id: newId("e", new Set(es.map((e) => e.id))) }, es));
  };
  // a drop on a port that refused the edge (isValidConnection): say why
  const onConnectEnd = (_: unknown, state: FinalConnectionState) => {
    if (state.isValid !== false || !state.fromHandle || !state.toHandle) return;
    const [src, dst] = state.fromHandle.type === "source" ? [state.fromHandle, state.toHandle] : [state.toHandle, state.fromHandle];
    const no = why({ source: src.nodeId, sourceHandle: src.id ?? null, target: dst.nodeId, targetHandle: dst.id ?? null });
    if (no) setRefused(t(no.key, no.vars));
  };
  const add = (nt: NodeType, position?: { x: number; y: number }) => {
    remember();
    const params: Record<string, ParamValue> = {};
    for (const p of nt.params) if (p.default !== null && p.default !== undefined && p.default !== "") params[p.name] = p.default as ParamValue;
    const pos = position ?? flow.screenToFlowPosition({ x: window.innerWidth / 2, y: window.innerHeight / 2 });
    const id = newId(nt.type.split(".").pop() ?? "n", new Set(nodes.map((n) => n.id)));
    setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), { id, type: "block", position: pos, selected: true, data: { type: nt.type, params, label: "", issues: [] } }]);
    setSelected(id);
  };
  const onDrop = (ev: React.DragEvent) => {
    ev.preventDefault();
    const nt = types.get(ev.dataTransfer.getData(MIME));
    if (nt) add(nt, flow.screenToFlowPosition({ x: ev.clientX, y: ev.clientY }));
  };
  const layout = () => { remember(); setNodes((ns) => autoLayout(ns, edges)); setTimeout(() => void flow.fitView({ padding: 0.2, maxZoom: 1 }), 50); };
  const setParam = (nodeId: string, name: string, v: ParamValue | undefined) => setNodes((ns) => ns.map((n) => {
    if (n.id !== nodeId) return n;
    const params = { ...n.data.params };
    if (v === undefined) delete params[name]; else params[name] = v;
    return { ...n, data: { ...n.data, params } };
  }));
  const clipboard = useRef<{ nodes: BlockNode[]; edges: Edge[] }>({ nodes: [], edges: [] });
  const copy = () => {
    const picked = nodes.filter((n) => n.selected);
    const ids = new Set(picked.map((n) => n.id));
    if (picked.length) clipboard.current = { nodes: picked, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
    return picked.length > 0;
  };
  const paste = () => {
    const { nodes: picked, edges: inner } = clipboard.current;
    if (!picked.length) return;
    remember();
    const taken = new Set(nodes.map((n) => n.id));
    const ids = new Map(picked.map((n) => { const id = newId(n.data.type.split(".").pop() ?? "n", taken); taken.add(id); return [n.id, id]; }));
    const etaken = new Set(edges.map((e) => e.id));
    setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...picked.map((n) => ({ ...n, id: ids.get(n.id)!, selected: true, position: { x: n.position.x + 40, y: n.position.y + 40 } }))]);
    setEdges((es) => [...es, ...inner.map((e) => { const id = newId("e", etaken); etaken.add(id); return { ...e, id, source: ids.get(e.source)!, target: ids.get(e.target)! }; })]);
    clipboard.current = { nodes: picked.map((n) => ({ ...n, position: { x: n.position.x + 40, y: n.position.y + 40 } })), edges: inner };
  };
  const duplicate = () => { if (copy()) paste(); };
  // keyboard: undo/redo, copy/paste, duplicate (Delete/Backspace remove, handled by the canvas)
  const onKeyDown = (ev: React.KeyboardEvent) => {
    if (!(ev.ctrlKey || ev.metaKey) || (ev.target as HTMLElement).closest("input, textarea")) return;
    const k = ev.key.toLowerCase();
    const act = k === "z" ? (ev.shiftKey ? redo : undo) : k === "y" ? redo : k === "c" ? copy : k === "v" ? paste : k === "d" ? duplicate : null;
    if (act) { ev.preventDefault(); act(); }
  };

  const runPreview = async () => {
    if (!selected || !datasets.data?.[0]) return;
    setPreviewError(undefined); setPreview(undefined);
    try {
      if (!(await save())) return;
      setPreview(await request<Preview>("/api/builder/preview", json("POST", { graph: JSON.parse(text), node_id: selected, dataset_id: datasets.data[0].id })));
    } catch (e) { setPreviewError(e); }
  };
  const saveAs = async () => {
    try {
      if (!(await save())) return;
      const r = await request<{ strategy_id: string; strategy_version: number }>(`/api/builder/drafts/${draftId}/save`, json("POST", { name: draft?.name }));
      setSaved(r);
      message.success(t("builder.savedOk"));
    } catch (e) { setSaveError(e); setSaveState("error"); }
  };
  const reloadDraft = async () => {
    try { const d = await request<Draft>(`/api/builder/drafts/${draftId}`); setDraft(d); } catch (e) { setLoadError(e); }
  };

  if (loadError) return <ErrorAlert error={loadError} onRetry={() => void load()} />;
  if (catalog.error) return <ErrorAlert error={catalog.error} onRetry={catalog.reload} />;
  const node = nodes.find((n) => n.id === selected);
  const nt = node ? types.get(node.data.type) : undefined;
  const q = query.trim().toLowerCase();
  const palette = (catalog.data?.node_types ?? []).filter((n) => !q || n.type.toLowerCase().includes(q)
    || Object.values(n.label).some((l) => l.toLowerCase().includes(q)));
  const categories = [...new Set(palette.map((n) => n.category))];
  const errors = issues.filter((i) => i.severity === "error").length;
  return (
    <CanvasContext.Provider value={{ types, issues: byNode, lang }}>
      <Space wrap style={{ marginBottom: 12, width: "100%", justifyContent: "space-between" }}>
        <Typography.Title level={2} style={{ margin: 0 }}>{t("builder.title")}{draft ? ` · ${draft.name}` : ""}</Typography.Title>
        <Space wrap>
          <Tag data-testid="save-state" color={saveState === "saved" ? "#237804" : saveState === "saving" ? "#0958d9" : "#a8071a"}>{t(`builder.save.${saveState}`)}</Tag>
          <Tag data-testid="validation" color={valid ? "#237804" : "#a8071a"}>{valid === undefined ? "…" : valid ? t("builder.valid") : t("builder.invalid", { n: errors })}</Tag>
          <Button onClick={undo} disabled={!history.past.length}>{t("builder.undo")}</Button>
          <Button onClick={redo} disabled={!history.future.length}>{t("builder.redo")}</Button>
          <Button onClick={duplicate}>{t("builder.duplicate")}</Button>
          <Button onClick={layout}>{t("builder.layout")}</Button>
          <Button onClick={() => void flow.fitView({ padding: 0.2, maxZoom: 1 })}>{t("builder.fit")}</Button>
          <Button type="primary" onClick={() => void saveAs()} disabled={!valid}>{t("builder.saveAs")}</Button>
        </Space>
      </Space>
      {saveState === "stale" && (
        <Alert type="warning" showIcon style={{ marginBottom: 12 }} title={t("builder.stale")}
          action={<Button size="small" onClick={() => void load()}>{t("builder.reload")}</Button>} />
      )}
      {saveState === "error" && saveError !== undefined && <ErrorAlert error={saveError} />}
      {refused && <Alert type="error" role="alert" showIcon closable onClose={() => setRefused(undefined)} style={{ marginBottom: 12 }} title={refused} data-testid="refused" />}
      {saved && (
        <Alert type="success" showIcon style={{ marginBottom: 12 }}
          title={<span>{t("builder.savedOk")} <Link to={`/strategies/${saved.strategy_id}`}>{t("builder.strategy")} v{saved.strategy_version}</Link></span>} />
      )}
      <Row gutter={12}>
        <Col xs={24} lg={5}>
          <Card size="small" title={t("builder.palette")} styles={{ body: { padding: 8 } }}>
            <Input.Search aria-label={t("builder.searchBlocks")} placeholder={t("builder.searchBlocks")} allowClear onChange={(e) => setQuery(e.target.value)} style={{ marginBottom: 8 }} />
            <div data-testid="palette" style={{ maxHeight: 520, overflow: "auto" }} tabIndex={0} role="region" aria-label={t("builder.palette")}>
              <Collapse size="small" defaultActiveKey={["data", "signal", "output"]} activeKey={q ? categories : undefined} items={categories.map((c) => ({
                key: c, label: t(`builder.cat.${c}`, { defaultValue: c }),
                children: palette.filter((n) => n.category === c).map((n) => (
                  <div key={n.type} draggable onDragStart={(e) => { e.dataTransfer.setData(MIME, n.type); e.dataTransfer.effectAllowed = "move"; }}
                    data-testid="palette-item" data-type={n.type} title={n.description[lang === "en-US" ? "en" : "zh-CN"]}
                    style={{ display: "flex", justifyContent: "space-between", alignItems: "center", padding: "2px 4px", cursor: "grab", borderBottom: "1px solid #f0f0f0" }}>
                    <span>{typeLabel(n, n.type, lang)}{!n.compilable && <Tag style={{ marginLeft: 4 }}>{t("builder.previewOnly")}</Tag>}</span>
                    <Button size="small" type="text" aria-label={`${t("builder.add")} ${typeLabel(n, n.type, lang)}`} onClick={() => add(n)}>+</Button>
                  </div>
                )),
              }))} />
            </div>
          </Card>
        </Col>
        <Col xs={24} lg={13}>
          <div style={{ height: 600, border: "1px solid #d9d9d9", borderRadius: 6, background: "#fff" }} data-testid="canvas"
            onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }} onDrop={onDrop} onKeyDown={onKeyDown}>
            <ReactFlow nodes={nodes} edges={shownEdges} nodeTypes={nodeTypes} onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
              onConnect={onConnect} onConnectEnd={onConnectEnd} isValidConnection={(c) => why(c) === null} onPaneClick={() => setSelected(undefined)}
              onNodeDragStart={remember} deleteKeyCode={["Delete", "Backspace"]} minZoom={0.1} onlyRenderVisibleElements
              proOptions={{ hideAttribution: true }} fitView fitViewOptions={{ maxZoom: 1 }}>
              <Background />
              <Controls />
              <MiniMap pannable zoomable ariaLabel={t("builder.minimap")} />
            </ReactFlow>
          </div>
        </Col>
        <Col xs={24} lg={6}>
          <Card size="small" title={t("builder.properties")} data-testid="properties">
            {!node || !nt ? <Typography.Text type="secondary">{t("builder.selectBlock")}</Typography.Text> : (
              <Form layout="vertical" component="div">
                <Typography.Paragraph strong>{typeLabel(nt, nt.type, lang)} <Typography.Text type="secondary" code>{node.id}</Typography.Text></Typography.Paragraph>
                {!expert && <Typography.Paragraph type="secondary">{nt.description[lang === "en-US" ? "en" : "zh-CN"]}</Typography.Paragraph>}
                <Form.Item label={t("builder.label")} style={{ marginBottom: 10 }}>
                  <Input aria-label={t("builder.label")} value={node.data.label} maxLength={120}
                    onChange={(e) => setNodes((ns) => ns.map((n) => (n.id === node.id ? { ...n, data: { ...n.data, label: e.target.value } } : n)))} />
                </Form.Item>
                {nt.params.map((p) => <ParamField key={p.name} def={p} value={node.data.params[p.name]} lang={lang} onChange={(v) => setParam(node.id, p.name, v)} />)}
                {(byNode.get(node.id) ?? []).map((i, k) => <Alert key={k} type={i.severity === "error" ? "error" : "warning"} title={i.message} description={i.fix} style={{ marginBottom: 8 }} />)}
                <Button onClick={() => void runPreview()} disabled={!datasets.data?.length}>{t("builder.preview")}</Button>
                {previewError !== undefined && <ErrorAlert error={previewError} />}
                {preview && preview.node_id === node.id && (
                  <div data-testid="node-preview" style={{ marginTop: 8 }}>
                    <Typography.Text>{t("builder.nanShare")}: {(preview.stats.nan_share * 100).toFixed(1)}% · {t("builder.mean")}: {num(preview.stats.mean)}</Typography.Text>
                    {expert && preview.expression && <Typography.Paragraph code style={{ wordBreak: "break-all" }}>{preview.expression}</Typography.Paragraph>}
                    <PreviewChart preview={preview} label={t("builder.preview")} />
                  </div>
                )}
              </Form>
            )}
            {!node && expert && Object.keys(base.parameters ?? {}).length > 0 && (
              <Form layout="vertical" component="div" style={{ marginTop: 12 }}>
                <Typography.Paragraph strong>{t("builder.graphParams")}</Typography.Paragraph>
                {Object.entries(base.parameters ?? {}).map(([k, v]) => (
                  <Form.Item key={k} label={k} style={{ marginBottom: 8 }}>
                    <InputNumber aria-label={k} value={v} onChange={(x) => x !== null && setBase((b) => ({ ...b, parameters: { ...b.parameters, [k]: x } }))} style={{ width: "100%" }} />
                  </Form.Item>
                ))}
              </Form>
            )}
          </Card>
        </Col>
      </Row>
      <Card size="small" style={{ marginTop: 12 }}>
        <Tabs activeKey={tab} onChange={setTab} items={[
          {
            key: "issues", label: t("builder.issues", { n: issues.length }),
            children: (
              <>
                {checkError !== undefined && <ErrorAlert error={checkError} />}
                {issues.length === 0 ? <Empty description={valid ? t("builder.valid") : t("common.empty")} /> : (
                  <List size="small" data-testid="issues" dataSource={issues} renderItem={(i) => (
                    <List.Item onClick={() => i.node_id && setSelected(i.node_id)}>
                      <Space direction="vertical" size={0}>
                        <span><Tag color={i.severity === "error" ? "#a8071a" : "#ad4e00"}>{i.severity}</Tag>{i.node_id && <Tag>{i.node_id}</Tag>}{i.message}</span>
                        <Typography.Text type="secondary">{t("builder.fix")}: {i.fix}</Typography.Text>
                      </Space>
                    </List.Item>
                  )} />
                )}
              </>
            ),
          },
          {
            key: "describe", label: t("builder.description"),
            children: valid ? <Typography.Paragraph data-testid="graph-description" style={{ whiteSpace: "pre-wrap" }}>{describe?.[lang === "en-US" ? "en" : "zh-CN"] ?? "…"}</Typography.Paragraph> : <Typography.Text type="secondary">{t("builder.fixFirst")}</Typography.Text>,
          },
          ...(expert ? [{
            key: "python", label: t("builder.python"),
            children: valid ? <pre data-testid="graph-python" tabIndex={0} style={{ maxHeight: 360, overflow: "auto", background: "#f5f5f5", padding: 12 }}>{python ?? "…"}</pre> : <Typography.Text type="secondary">{t("builder.fixFirst")}</Typography.Text>,
          }] : []),
          ...(expert ? [{ key: "qlib", label: t("panels.qlib"), children: <QlibYaml graph={graph} valid={valid} /> }] : []),
          { key: "snapshots", label: t("panels.snapshots"), children: <Snapshots draftId={draftId} flush={save} onRestored={() => void load()} /> },
          {
            key: "quick", label: t("builder.quickTest"),
            children: draft ? <QuickTest draft={draft} flush={save} onDone={() => void reloadDraft()} /> : null,
          },
        ]} />
      </Card>
      {draft && expert && (
        <Descriptions size="small" style={{ marginTop: 12 }} items={[
          { key: "v", label: t("builder.version"), children: shownVersion },
          { key: "e", label: t("builder.expires"), children: draft.expires_at ? when(draft.expires_at) : "—" },
        ]} />
      )}
    </CanvasContext.Provider>
  );
}

export default function Builder() {
  const { draftId } = useParams();
  if (!draftId) return <Drafts />;
  return (
    <ReactFlowProvider>
      <Editor key={draftId} draftId={draftId} />
    </ReactFlowProvider>
  );
}
