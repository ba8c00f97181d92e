import { Col, Row } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import EChart from "../../charts/EChart";
import type { EvaluationResult } from "./FactorLab";

function cumulative(xs: (number | null)[]): (number | null)[] {
  let s = 0;
  return xs.map((x) => (x === null ? s : (s += x)));
}

export default function EvaluationCharts({ result }: { result: EvaluationResult }) {
  const { t } = useTranslation();
  const h = String(result.horizons[0]);
  const opts = useMemo(() => {
    const grid = { left: 56, right: 16, top: 32, bottom: 48 };
    const x = { type: "category" as const, data: result.dates };
    return {
      ic: {
        grid: { ...grid, bottom: 80 }, legend: { top: 0 }, tooltip: { trigger: "axis" }, xAxis: x, yAxis: { type: "value" }, dataZoom: [{ type: "inside" }, { type: "slider", height: 20, bottom: 8 }],
        series: [{ name: `IC ${h}d`, type: "bar", data: result.ic[h], large: true }, { name: `Rank IC ${h}d`, type: "line", data: result.rank_ic[h], symbol: "none", lineStyle: { width: 1 } }],
      },
      cum: {
        grid, legend: { top: 0 }, tooltip: { trigger: "axis" }, xAxis: x, yAxis: { type: "value" },
        series: [{ name: "IC", type: "line", symbol: "none", data: cumulative(result.ic[h]) }, { name: "Rank IC", type: "line", symbol: "none", data: cumulative(result.rank_ic[h]) }],
      },
      decay: {
        grid, tooltip: {}, xAxis: { type: "category", name: t("factors.horizon"), data: Object.keys(result.ic_decay) }, yAxis: { type: "value" },
        series: [{ name: "Rank IC", type: "bar", data: Object.values(result.ic_decay) }],
      },
      quant: {
        grid, tooltip: {}, xAxis: { type: "category", data: (result.quantile_returns[h] ?? []).map((_, i) => `Q${i + 1}`) }, yAxis: { type: "value" },
        series: [{ name: `${h}d`, type: "bar", data: result.quantile_returns[h] }],
      },
      ls: {
        grid, tooltip: { trigger: "axis" }, xAxis: x, yAxis: { type: "value" },
        series: [{ name: "long-short", type: "line", symbol: "none", data: result.long_short_cumulative }],
      },
      cov: {
        grid, legend: { top: 0 }, tooltip: { trigger: "axis" }, xAxis: x, yAxis: { type: "value", max: 1 },
        series: [{ name: t("factors.coverage"), type: "line", symbol: "none", data: result.coverage }, { name: t("factors.turnover"), type: "line", symbol: "none", data: result.top_turnover, lineStyle: { width: 1 } }],
      },
    };
  }, [result, h, t]);
  return (
    <Row gutter={[16, 16]} data-testid="ic-charts">
      <Col xs={24} lg={12}><h3>{t("factors.ic")}</h3><EChart option={opts.ic} label={t("factors.ic")} /></Col>
      <Col xs={24} lg={12}><h3>{t("factors.cumulativeIc")}</h3><EChart option={opts.cum} label={t("factors.cumulativeIc")} /></Col>
      <Col xs={24} lg={8}><h3>{t("factors.decay")}</h3><EChart option={opts.decay} label={t("factors.decay")} /></Col>
      <Col xs={24} lg={8}><h3>{t("factors.quantiles")}</h3><EChart option={opts.quant} label={t("factors.quantiles")} /></Col>
      <Col xs={24} lg={8}><h3>{t("factors.longShort")}</h3><EChart option={opts.ls} label={t("factors.longShort")} /></Col>
      <Col xs={24}><h3>{t("factors.coverage")} / {t("factors.turnover")}</h3><EChart option={opts.cov} height={200} label={t("factors.coverage")} /></Col>
    </Row>
  );
}
