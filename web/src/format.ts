export const pct = (v: unknown, digits = 2) =>
  typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : "—";
export const num = (v: unknown, digits = 4) =>
  typeof v === "number" && Number.isFinite(v) ? Number(v.toFixed(digits)).toLocaleString() : "—";
export const when = (v: unknown) => (typeof v === "string" ? v.replace("T", " ").slice(0, 19) : "—");
