// A form generated from the served JSON Schema of a backtest request. Beginner mode shows
// the essentials with their explanations; expert mode adds every advanced group.
import { Card, Collapse, Form, Input, InputNumber, Select, Switch, Typography } from "antd";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";

export interface JsonSchema {
  type?: string; title?: string; description?: string; default?: unknown; enum?: unknown[]; const?: unknown;
  format?: string; minimum?: number; maximum?: number; maxLength?: number; $ref?: string;
  properties?: Record<string, JsonSchema>; required?: string[]; anyOf?: JsonSchema[]; oneOf?: JsonSchema[];
  discriminator?: { propertyName: string; mapping: Record<string, string> }; items?: JsonSchema; $defs?: Record<string, JsonSchema>;
}
export type Value = Record<string, unknown>;

// top-level groups a beginner does not need (the presets fill them)
export const ADVANCED = new Set(["costs", "rules", "execution", "robustness", "seed", "schema_version", "dataset_version"]);

interface Ctx { defs: Record<string, JsonSchema>; expert: boolean; tooltips: boolean; datasets: { value: string; label: string }[] }

function resolve(s: JsonSchema, defs: Ctx["defs"]): JsonSchema {
  return s.$ref ? { ...defs[s.$ref.split("/").pop()!], ...s, $ref: undefined } : s;
}

function nonNull(s: JsonSchema): JsonSchema[] {
  return (s.anyOf ?? []).filter((x) => x.type !== "null");
}

function Field({ name, schema, value, onChange, ctx, required }: {
  name: string; schema: JsonSchema; value: unknown; onChange(v: unknown): void; ctx: Ctx; required?: boolean;
}): ReactNode {
  let s = resolve(schema, ctx.defs);
  const opts = nonNull(s);
  if (s.anyOf && opts.length === 1) s = { ...resolve(opts[0], ctx.defs), title: s.title, description: s.description ?? opts[0].description, default: s.default };
  const label = s.title ?? name;
  const help = ctx.tooltips || !ctx.expert ? s.description : undefined;
  const placeholder = s.default === undefined || s.default === null ? undefined : String(s.default);
  let control: ReactNode;
  if (name === "dataset_id") {
    control = <Select aria-label={label} value={value as string} onChange={onChange} options={ctx.datasets} style={{ maxWidth: 360 }} />;
  } else if (s.oneOf && s.discriminator) {
    const key = s.discriminator.propertyName;
    const kinds = Object.keys(s.discriminator.mapping);
    const current = ((value as Value | undefined)?.[key] as string) ?? kinds[0];
    const sub = resolve({ $ref: s.discriminator.mapping[current] }, ctx.defs);
    return (
      <Card size="small" title={label} style={{ marginBottom: 16 }}>
        <Form.Item label={key} help={help}>
          <Select aria-label={`${label} ${key}`} value={current} onChange={(k) => onChange({ [key]: k })} options={kinds.map((k) => ({ value: k, label: k }))} style={{ maxWidth: 240 }} />
        </Form.Item>
        <ObjectFields schema={sub} value={{ ...(value as Value), [key]: current }} onChange={onChange} ctx={ctx} skip={[key]} />
      </Card>
    );
  } else if (s.type === "object" && s.properties) {
    return (
      <Card size="small" title={label} style={{ marginBottom: 16 }}>
        {s.description && <Typography.Paragraph type="secondary">{s.description}</Typography.Paragraph>}
        <ObjectFields schema={s} value={(value as Value) ?? {}} onChange={(v) => onChange(Object.keys(v as Value).length ? v : undefined)} ctx={ctx} />
      </Card>
    );
  } else if (s.const !== undefined) {
    return null;
  } else if (s.enum) {
    control = <Select aria-label={label} allowClear value={value} placeholder={placeholder} onChange={onChange} options={s.enum.map((e) => ({ value: e, label: String(e) }))} style={{ maxWidth: 240 }} />;
  } else if (s.anyOf && opts.some((o) => o.const !== undefined) && opts.some((o) => o.type === "array")) {
    const all = opts.find((o) => o.const !== undefined)!.const;
    control = <Select aria-label={label} mode="tags" placeholder={String(all)} value={Array.isArray(value) ? value : []} onChange={(v: string[]) => onChange(v.length ? v : undefined)} style={{ maxWidth: 480 }} />;
  } else if (s.type === "boolean") {
    control = <Switch aria-label={label} checked={(value ?? s.default ?? false) as boolean} onChange={onChange} />;
  } else if (s.type === "number" || s.type === "integer") {
    control = <InputNumber aria-label={label} value={value as number} placeholder={placeholder} min={s.minimum} max={s.maximum} step={s.type === "integer" ? 1 : undefined} onChange={(v) => onChange(v ?? undefined)} style={{ width: 200 }} />;
  } else if (s.type === "string") {
    const props = { "aria-label": label, value: (value as string) ?? "", placeholder: s.format === "date" ? "YYYY-MM-DD" : placeholder, onChange: (e: { target: { value: string } }) => onChange(e.target.value || undefined) };
    control = (s.maxLength ?? 0) > 1000 ? <Input.TextArea rows={3} {...props} style={{ fontFamily: "monospace" }} /> : <Input {...props} style={{ maxWidth: s.format === "date" ? 160 : 480 }} />;
  } else {
    // anything else (e.g. dated tax schedules) as JSON
    control = <Input aria-label={label} placeholder="JSON" defaultValue={value === undefined ? "" : JSON.stringify(value)}
      onChange={(e) => { try { onChange(e.target.value ? JSON.parse(e.target.value) : undefined); } catch { /* keep typing */ } }} />;
  }
  return <Form.Item label={label} required={required} help={help} style={{ marginBottom: 12 }}>{control}</Form.Item>;
}

function ObjectFields({ schema, value, onChange, ctx, skip = [], only }: {
  schema: JsonSchema; value: Value; onChange(v: Value): void; ctx: Ctx; skip?: string[]; only?: (k: string) => boolean;
}) {
  const props = Object.entries(schema.properties ?? {}).filter(([k]) => !skip.includes(k) && (!only || only(k)));
  return (
    <>
      {props.map(([k, sub]) => (
        <Field key={k} name={k} schema={sub} value={value[k]} ctx={ctx} required={schema.required?.includes(k)}
          onChange={(v) => { const next = { ...value }; if (v === undefined) delete next[k]; else next[k] = v; onChange(next); }} />
      ))}
    </>
  );
}

export default function SchemaForm({ schema, value, onChange, expert, tooltips, datasets }: {
  schema: JsonSchema; value: Value; onChange(v: Value): void; expert: boolean; tooltips: boolean; datasets: Ctx["datasets"];
}) {
  const { t } = useTranslation();
  const ctx: Ctx = { defs: schema.$defs ?? {}, expert, tooltips, datasets };
  return (
    <Form layout="vertical" component="div">
      <ObjectFields schema={schema} value={value} onChange={onChange} ctx={ctx} only={(k) => !ADVANCED.has(k)} />
      {expert && (
        <Collapse data-testid="advanced" items={[{
          key: "adv", label: t("backtests.advanced"),
          children: <ObjectFields schema={schema} value={value} onChange={onChange} ctx={ctx} only={(k) => ADVANCED.has(k)} />,
        }]} />
      )}
    </Form>
  );
}
