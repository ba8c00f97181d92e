// The builder graph between the API's shape (nodes, edges with ports) and the canvas's
// (React Flow nodes and edges with handles), the catalog's types, port compatibility
// (the backend's ACCEPTS table) and a layered auto-layout.
import type { Edge, Node } from "@xyflow/react";

export interface Port { name: string; type: string; multiple: boolean; optional: boolean }
export interface ParamDef {
  name: string; type: "int" | "float" | "bool" | "enum" | "field" | "expression" | "text";
  default: unknown; minimum: number | null; maximum: number | null; choices: string[]; required: boolean; description: string;
}
export interface NodeType {
  type: string; category: string; label: Record<string, string>; description: Record<string, string>;
  inputs: Port[]; outputs: Port[]; params: ParamDef[]; compilable: boolean;
}
export interface Catalog { version: number; node_types: NodeType[]; factors: { id: string; name: string; expression?: string }[] }
export interface Issue {
  code: string; message: string; fix: string; node_id?: string | null; edge_id?: string | null;
  port?: string | null; param?: string | null; severity: "error" | "warning";
}
export type ParamValue = number | string | boolean | { ref: string; negate?: boolean };
export interface ApiNode { id: string; type: string; params: Record<string, ParamValue>; position: { x: number; y: number }; label?: string }
export interface ApiEdge { id: string; source: string; source_port: string; target: string; target_port: string }
export interface ApiGraph {
  schema_version?: 1; name?: string; nodes: ApiNode[]; edges: ApiEdge[];
  parameters?: Record<string, number>; settings?: Record<string, unknown>;
}
export interface BlockData extends Record<string, unknown> {
  type: string; params: Record<string, ParamValue>; label: string; issues: Issue[];
}
export type BlockNode = Node<BlockData, "block">;

// which output types an input of each type takes (quantlab.engine.builder.catalog.ACCEPTS)
export const ACCEPTS: Record<string, string[]> = {
  series: ["series", "bool"], bool: ["bool"], score: ["score", "series", "bool"], weights: ["weights"],
  order: ["order"], sizing: ["sizing"], risk: ["risk"], filter: ["filter"],
};

export function catalogIndex(catalog: Catalog | undefined): Map<string, NodeType> {
  return new Map((catalog?.node_types ?? []).map((n) => [n.type, n]));
}

/** Why an edge may not join these ports, or null when it may. */
export function refusal(types: Map<string, NodeType>, nodes: BlockNode[], edges: Edge[], c: {
  source: string | null; sourceHandle?: string | null; target: string | null; targetHandle?: string | null;
}): { key: string; vars?: Record<string, string> } | null {
  if (!c.source || !c.target) return { key: "builder.refuse.missing" };
  if (c.source === c.target) return { key: "builder.refuse.self" };
  const src = nodes.find((n) => n.id === c.source), dst = nodes.find((n) => n.id === c.target);
  const out = types.get(src?.data.type ?? "")?.outputs.find((p) => p.name === (c.sourceHandle ?? "out"));
  const inp = types.get(dst?.data.type ?? "")?.inputs.find((p) => p.name === c.targetHandle);
  if (!out || !inp) return { key: "builder.refuse.missing" };
  if (!ACCEPTS[inp.type]?.includes(out.type)) return { key: "builder.refuse.type", vars: { from: out.type, to: inp.type, port: inp.name } };
  if (!inp.multiple && edges.some((e) => e.target === c.target && e.targetHandle === c.targetHandle))
    return { key: "builder.refuse.taken", vars: { port: inp.name } };
  return null;
}

export function toCanvas(graph: ApiGraph): { nodes: BlockNode[]; edges: Edge[] } {
  return {
    nodes: graph.nodes.map((n) => ({
      id: n.id, type: "block", position: { x: n.position?.x ?? 0, y: n.position?.y ?? 0 },
      data: { type: n.type, params: n.params ?? {}, label: n.label ?? "", issues: [] },
    })),
    edges: graph.edges.map((e) => ({ id: e.id, source: e.source, sourceHandle: e.source_port, target: e.target, targetHandle: e.target_port })),
  };
}

const round = (v: number) => Math.max(-1e6, Math.min(1e6, Math.round(v)));

export function toApi(nodes: BlockNode[], edges: Edge[], base: ApiGraph): ApiGraph {
  return {
    schema_version: 1, name: base.name ?? "", parameters: base.parameters ?? {}, settings: base.settings ?? {},
    nodes: nodes.map((n) => ({
      id: n.id, type: n.data.type, params: n.data.params, position: { x: round(n.position.x), y: round(n.position.y) },
      ...(n.data.label ? { label: n.data.label } : {}),
    })),
    edges: edges.map((e) => ({ id: e.id, source: e.source, source_port: e.sourceHandle ?? "out", target: e.target, target_port: e.targetHandle ?? "" })),
  };
}

let counter = 0;
/** A fresh id in the graph's id syntax (letter first, then letters, digits, _ and -). */
export function newId(prefix: string, taken: Set<string>): string {
  const stem = prefix.replace(/[^A-Za-z0-9_]/g, "_").replace(/^[^A-Za-z_]/, "_").slice(0, 40);
  let id = "";
  do id = `${stem}_${(++counter).toString(36)}`; while (taken.has(id));
  return id;
}

/** Layers by longest path from the sources (left to right), stacked in each layer. */
export function autoLayout(nodes: BlockNode[], edges: Edge[]): BlockNode[] {
  const depth = new Map(nodes.map((n) => [n.id, 0]));
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false;
    for (const e of edges) {
      const d = (depth.get(e.source) ?? 0) + 1;
      if (depth.has(e.target) && d > depth.get(e.target)! && d <= nodes.length) { depth.set(e.target, d); changed = true; }
    }
    if (!changed) break;
  }
  const rows = new Map<number, number>();
  return nodes.map((n) => {
    const d = depth.get(n.id) ?? 0;
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    return { ...n, position: { x: d * 260, y: row * 150 } };
  });
}
