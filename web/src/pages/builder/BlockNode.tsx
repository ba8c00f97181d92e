// One block on the canvas: its label, typed input ports (left) and outputs (right), the
// parameter values, and the validation issues of the block with their suggested fixes.
import { Handle, Position } from "@xyflow/react";
import type { NodeProps } from "@xyflow/react";
import { createContext, memo, useContext } from "react";
import type { BlockNode as Block, Issue, NodeType } from "./graph";

export interface CanvasInfo { types: Map<string, NodeType>; issues: Map<string, Issue[]>; lang: string }
export const CanvasContext = createContext<CanvasInfo>({ types: new Map(), issues: new Map(), lang: "zh-CN" });

export function typeLabel(nt: NodeType | undefined, type: string, lang: string): string {
  return nt?.label[lang === "en-US" ? "en" : "zh-CN"] ?? type;
}

function paramText(v: unknown): string {
  if (v && typeof v === "object" && "ref" in v) return `{${(v as { ref: string }).ref}}`;
  const s = String(v);
  return s.length > 28 ? s.slice(0, 27) + "…" : s;
}

const portRow = { position: "relative", padding: "1px 10px", whiteSpace: "nowrap" } as const;

function BlockNode({ id, data, selected }: NodeProps<Block>) {
  const { types, issues, lang } = useContext(CanvasContext);
  const nt = types.get(data.type);
  const mine = issues.get(id) ?? [];
  const bad = mine.some((i) => i.severity === "error");
  const border = bad ? "#cf1322" : mine.length ? "#ad4e00" : selected ? "#0958d9" : "#8c8c8c";
  const params = Object.entries(data.params);
  return (
    <div data-testid="builder-node" data-node-id={id} data-type={data.type} data-state={bad ? "error" : mine.length ? "warning" : "ok"}
      style={{ border: `2px solid ${border}`, background: "#fff", color: "rgba(0,0,0,0.88)", borderRadius: 6, minWidth: 150, maxWidth: 260, fontSize: 12 }}>
      <div style={{ padding: "4px 10px", fontWeight: 600, borderBottom: "1px solid #d9d9d9", background: bad ? "#fff1f0" : "#fafafa", borderRadius: "6px 6px 0 0" }}>
        {data.label || typeLabel(nt, data.type, lang)}
      </div>
      <div style={{ display: "flex", justifyContent: "space-between", gap: 8, padding: "4px 0" }}>
        <div>
          {(nt?.inputs ?? []).map((p) => (
            <div key={p.name} style={portRow}>
              <Handle type="target" position={Position.Left} id={p.name} />
              {p.name}<span style={{ color: "rgba(0,0,0,0.6)" }}> · {p.type}</span>
            </div>
          ))}
        </div>
        <div style={{ textAlign: "right" }}>
          {(nt?.outputs ?? []).map((p) => (
            <div key={p.name} style={portRow}>
              {p.name}<span style={{ color: "rgba(0,0,0,0.6)" }}> · {p.type}</span>
              <Handle type="source" position={Position.Right} id={p.name} />
            </div>
          ))}
        </div>
      </div>
      {params.length > 0 && (
        <div style={{ padding: "2px 10px 4px", color: "rgba(0,0,0,0.65)" }}>
          {params.slice(0, 4).map(([k, v]) => <div key={k}>{k} = {paramText(v)}</div>)}
        </div>
      )}
      {mine.length > 0 && (
        <div data-testid="node-issue" style={{ padding: "4px 10px", borderTop: "1px solid #d9d9d9", color: bad ? "#a8071a" : "#874d00", maxWidth: 240, whiteSpace: "normal" }}>
          {mine[0].message}{mine[0].fix ? ` → ${mine[0].fix}` : ""}{mine.length > 1 ? ` (+${mine.length - 1})` : ""}
        </div>
      )}
    </div>
  );
}

export default memo(BlockNode);
