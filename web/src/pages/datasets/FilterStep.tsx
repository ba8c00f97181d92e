// The filter step of the preprocessing pipeline as a form: date range, symbols to keep or
// drop, and row conditions (column, comparison, value) joined by AND or OR. Nested condition
// trees stay editable as the step's JSON in expert mode; the form shows them read-only.
import { Button, Input, Select, Space, Typography } from "antd";
import { useTranslation } from "react-i18next";
import type { Step } from "./Preprocessing";

interface Leaf { column: string; op: string; value?: unknown }
type Where = { and: Leaf[] } | { or: Leaf[] } | Leaf;

const COMPARATORS = ["eq", "ne", "gt", "ge", "lt", "le", "between", "in", "not_in", "contains", "starts_with", "is_null", "not_null"];
const NO_VALUE = new Set(["is_null", "not_null"]);
const LIST = new Set(["in", "not_in"]);

/** A typed value: a number when the text is one, else the text. */
const scalar = (text: string): string | number => (text.trim() !== "" && Number.isFinite(Number(text)) ? Number(text) : text);

function leaves(where: unknown): { join: "and" | "or"; items: Leaf[] } | null {
  if (!where || typeof where !== "object") return { join: "and", items: [] };
  const w = where as Record<string, unknown>;
  const flat = (xs: unknown) => Array.isArray(xs) && xs.every((x) => x && typeof x === "object" && "column" in x);
  if ("and" in w && flat(w.and)) return { join: "and", items: w.and as Leaf[] };
  if ("or" in w && flat(w.or)) return { join: "or", items: w.or as Leaf[] };
  if ("column" in w) return { join: "and", items: [w as unknown as Leaf] };
  return null; // a nested tree: JSON only
}

function withValue(leaf: Leaf, op: string): Leaf {
  const next: Leaf = { column: leaf.column, op };
  if (NO_VALUE.has(op)) return next;
  if (op === "between") return { ...next, value: Array.isArray(leaf.value) && leaf.value.length === 2 ? leaf.value : [0, 0] };
  if (LIST.has(op)) return { ...next, value: Array.isArray(leaf.value) ? leaf.value : [] };
  return { ...next, value: Array.isArray(leaf.value) ? leaf.value[0] ?? 0 : leaf.value ?? 0 };
}

export default function FilterStep({ step, n, fields, onChange }: { step: Step; n: number; fields: string[]; onChange(s: Step): void }) {
  const { t } = useTranslation();
  const set = (key: string, value: unknown) => {
    const next: Step = { ...step };
    if (value === undefined || value === "" || (Array.isArray(value) && !value.length)) delete next[key]; else next[key] = value;
    onChange(next);
  };
  const parsed = leaves(step.where);
  const setWhere = (join: "and" | "or", items: Leaf[]) => set("where", items.length === 0 ? undefined : (items.length === 1 ? items[0] : { [join]: items }) as Where);
  const columns = ["symbol", ...fields].map((f) => ({ value: f, label: f }));
  return (
    <Space direction="vertical" style={{ width: "100%" }} data-testid="filter-form">
      <Space wrap>
        <Input aria-label={`${t("preprocess.filterStart")} ${n}`} addonBefore={t("preprocess.filterStart")} style={{ width: 220 }} placeholder="YYYY-MM-DD"
          value={(step.start as string) ?? ""} onChange={(e) => set("start", e.target.value)} />
        <Input aria-label={`${t("preprocess.filterEnd")} ${n}`} addonBefore={t("preprocess.filterEnd")} style={{ width: 220 }} placeholder="YYYY-MM-DD"
          value={(step.end as string) ?? ""} onChange={(e) => set("end", e.target.value)} />
        <Select aria-label={`${t("preprocess.keepSymbols")} ${n}`} mode="tags" style={{ minWidth: 220 }} placeholder={t("preprocess.keepSymbols")}
          value={(step.symbols as string[]) ?? []} onChange={(v: string[]) => set("symbols", v)} tokenSeparators={[",", " "]} />
        <Select aria-label={`${t("preprocess.dropSymbols")} ${n}`} mode="tags" style={{ minWidth: 220 }} placeholder={t("preprocess.dropSymbols")}
          value={(step.exclude_symbols as string[]) ?? []} onChange={(v: string[]) => set("exclude_symbols", v)} tokenSeparators={[",", " "]} />
      </Space>
      {parsed === null ? <Typography.Text type="secondary">{t("preprocess.nestedWhere")}</Typography.Text> : (
        <>
          {parsed.items.map((leaf, i) => {
            const put = (l: Leaf) => setWhere(parsed.join, parsed.items.map((x, k) => (k === i ? l : x)));
            const label = `${t("preprocess.condition")} ${n}.${i + 1}`;
            return (
              <Space key={i} wrap data-testid="filter-condition">
                {i > 0 && <Typography.Text strong>{parsed.join.toUpperCase()}</Typography.Text>}
                <Select aria-label={`${label} ${t("preprocess.column")}`} style={{ width: 140 }} value={leaf.column} options={columns} onChange={(c: string) => put({ ...leaf, column: c })} />
                <Select aria-label={`${label} ${t("preprocess.comparison")}`} style={{ width: 130 }} value={leaf.op}
                  options={COMPARATORS.map((c) => ({ value: c, label: t(`preprocess.cmp.${c}`) }))} onChange={(op: string) => put(withValue(leaf, op))} />
                {leaf.op === "between" && Array.isArray(leaf.value) && (
                  <>
                    <Input aria-label={`${label} ${t("preprocess.low")}`} style={{ width: 100 }} value={String(leaf.value[0])} onChange={(e) => put({ ...leaf, value: [scalar(e.target.value), (leaf.value as unknown[])[1]] })} />
                    <Input aria-label={`${label} ${t("preprocess.high")}`} style={{ width: 100 }} value={String(leaf.value[1])} onChange={(e) => put({ ...leaf, value: [(leaf.value as unknown[])[0], scalar(e.target.value)] })} />
                  </>
                )}
                {LIST.has(leaf.op) && (
                  <Select aria-label={`${label} ${t("common.value")}`} mode="tags" style={{ minWidth: 200 }} value={(leaf.value as (string | number)[]).map(String)}
                    onChange={(v: string[]) => put({ ...leaf, value: v.map(scalar) })} tokenSeparators={[","]} />
                )}
                {!NO_VALUE.has(leaf.op) && leaf.op !== "between" && !LIST.has(leaf.op) && (
                  <Input aria-label={`${label} ${t("common.value")}`} style={{ width: 140 }} value={String(leaf.value ?? "")}
                    onChange={(e) => put({ ...leaf, value: leaf.op === "contains" || leaf.op === "starts_with" ? e.target.value : scalar(e.target.value) })} />
                )}
                <Button size="small" onClick={() => setWhere(parsed.join, parsed.items.filter((_, k) => k !== i))}>{t("common.delete")}</Button>
              </Space>
            );
          })}
          <Space>
            <Button size="small" onClick={() => setWhere(parsed.join, [...parsed.items, { column: fields[0] ?? "close", op: "gt", value: 0 }])}>{t("preprocess.addCondition")}</Button>
            {parsed.items.length > 1 && (
              <Select aria-label={`${t("preprocess.join")} ${n}`} size="small" style={{ width: 90 }} value={parsed.join}
                onChange={(j: "and" | "or") => setWhere(j, parsed.items)} options={[{ value: "and", label: "AND" }, { value: "or", label: "OR" }]} />
            )}
          </Space>
        </>
      )}
    </Space>
  );
}
