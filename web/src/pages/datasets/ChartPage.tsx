import { Card, Checkbox, Select, Space, Typography } from "antd";
import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router-dom";
import { request } from "../../api/client";
import type { OhlcvData } from "../../charts/KLine";
import { PageState, useLoad } from "../../components/State";

const KLine = lazy(() => import("../../charts/KLine"));
const PANES = ["MACD", "RSI", "KDJ", "VOL"];

export default function ChartPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation();
  const cov = useLoad(() => request<{ coverage: { symbol: string }[] | Record<string, unknown> }>(`/api/datasets/${id}/summary`), [id]);
  const symbols = (() => {
    const c = cov.data?.coverage;
    if (Array.isArray(c)) return c.map((x) => x.symbol);
    return c ? Object.keys(c) : [];
  })();
  const [symbol, setSymbol] = useState<string>();
  const [boll, setBoll] = useState(true);
  const [panes, setPanes] = useState<string[]>(["MACD", "RSI"]);
  const current = symbol ?? symbols[0];
  const data = useLoad(async () => {
    if (!current) return undefined;
    const q = new URLSearchParams({ dataset_id: id, symbol: current, ma: "5,20,60", max_points: "3000" });
    const ind = [...panes, ...(boll ? ["BOLL"] : [])];
    if (ind.length) q.set("indicators", ind.join(","));
    const d = await request<OhlcvData & { panes: Record<string, Record<string, (number | null)[]>> }>(`/api/charts/ohlcv?${q}`);
    // BOLL is drawn over the candles, not in a pane
    const { BOLL, ...rest } = d.panes;
    const overlays = { ...d.overlays };
    if (BOLL) Object.entries(BOLL).forEach(([k, v]) => (overlays[`BOLL.${k}`] = v));
    return { ...d, overlays, panes: rest };
  }, [id, current, boll, panes.join(",")]);
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("chart.title")}</Typography.Title>
      <Space wrap>
        <Select aria-label={t("common.symbol")} style={{ width: 160 }} value={current} onChange={setSymbol}
          options={symbols.map((s) => ({ value: s, label: s }))} loading={cov.loading} />
        <Checkbox checked={boll} onChange={(e) => setBoll(e.target.checked)}>BOLL</Checkbox>
        <Select aria-label={t("chart.panes")} mode="multiple" style={{ minWidth: 240 }} value={panes}
          onChange={(v) => setPanes(v.slice(0, 3))} options={PANES.map((p) => ({ value: p, label: p }))} />
      </Space>
      <Card>
        <PageState state={data}>
          {(d) => d ? (
            <Suspense fallback={null}>
              <Typography.Text type="secondary">{t("chart.bars", { n: d.candles.length })}</Typography.Text>
              <KLine data={d} label={`${current} K-line`} />
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t("chart.attribution")} — <a href="https://www.tradingview.com/" target="_blank" rel="noreferrer">TradingView</a>
              </Typography.Text>
            </Suspense>
          ) : null}
        </PageState>
      </Card>
    </Space>
  );
}
