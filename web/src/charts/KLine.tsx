// K-line with MA/BOLL overlays and up to three indicator panes (lightweight-charts, one
// chart with a pane per indicator). TradingView's attribution logo stays on, as its licence asks.
import {
  CandlestickSeries, createChart, createSeriesMarkers, HistogramSeries, LineSeries,
} from "lightweight-charts";
import type { IChartApi, ISeriesApi, ISeriesMarkersPluginApi, SeriesType, Time } from "lightweight-charts";
import { useEffect, useRef } from "react";

export interface OhlcvData {
  candles: { date: string; open: number; high: number; low: number; close: number; volume?: number }[];
  overlays: Record<string, (number | null)[]>;
  panes: Record<string, Record<string, (number | null)[]>>;
}

const COLORS = ["#1677ff", "#fa8c16", "#722ed1", "#13c2c2", "#eb2f96", "#a0d911", "#faad14", "#2f54eb"];

function line(dates: string[], values: (number | null)[]) {
  const out: { time: Time; value: number }[] = [];
  values.forEach((v, i) => {
    if (v !== null && Number.isFinite(v)) out.push({ time: dates[i] as Time, value: v });
  });
  return out;
}

/** A note pinned to a bar (a saved chart annotation). */
export interface Marker { date: string; text: string }

/** Draw ``data`` into a fresh chart in ``el``; returns the chart (call ``remove`` to free)
 * and its candle series (where annotations are pinned). */
export function drawKLine(el: HTMLElement, data: OhlcvData, height: number): { chart: IChartApi; candles: ISeriesApi<SeriesType> } {
  const chart = createChart(el, {
    height,
    autoSize: true,
    layout: { attributionLogo: true, panes: { separatorColor: "#e5e5e5" } },
    timeScale: { borderVisible: false },
  });
  const dates = data.candles.map((c) => c.date);
  // China convention: red rises, green falls
  const candles = chart.addSeries(CandlestickSeries, {
    upColor: "#cf1322", downColor: "#389e0d", wickUpColor: "#cf1322", wickDownColor: "#389e0d", borderVisible: false,
  });
  candles.setData(data.candles.map((c) => ({ time: c.date as Time, open: c.open, high: c.high, low: c.low, close: c.close })));
  Object.entries(data.overlays).forEach(([name, values], i) => {
    chart.addSeries(LineSeries, { color: COLORS[i % COLORS.length], lineWidth: 1, title: name, priceLineVisible: false, lastValueVisible: false })
      .setData(line(dates, values));
  });
  Object.entries(data.panes).forEach(([pane, series], p) => {
    Object.entries(series).forEach(([name, values], i) => {
      const opts = { color: COLORS[(i + p) % COLORS.length], title: `${pane}.${name}`, priceLineVisible: false, lastValueVisible: false };
      const s = name === "MACD" || name === "VOL" || name === "HIST"
        ? chart.addSeries(HistogramSeries, opts, p + 1)
        : chart.addSeries(LineSeries, { ...opts, lineWidth: 1 }, p + 1);
      s.setData(line(dates, values));
    });
  });
  // candles take about half the height, the indicator panes share the rest
  const panes = chart.panes();
  panes.forEach((pane, i) => pane.setStretchFactor(i === 0 ? Math.max(1, panes.length - 1) : 1));
  chart.timeScale().fitContent();
  return { chart, candles };
}

export default function KLine({ data, height = 560, label, markers = [], onPick }: {
  data: OhlcvData; height?: number; label: string; markers?: Marker[]; onPick?: (date: string) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const pins = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const pick = useRef(onPick);
  pick.current = onPick;
  useEffect(() => {
    const t0 = performance.now();
    const { chart, candles } = drawKLine(ref.current!, data, height);
    pins.current = createSeriesMarkers(candles, []);
    // a click on a bar picks its date (e.g. for a new annotation)
    chart.subscribeClick((p) => {
      const t = p.time as Time | undefined;
      if (typeof t === "string") pick.current?.(t);
      else if (t && typeof t === "object") pick.current?.(`${t.year}-${String(t.month).padStart(2, "0")}-${String(t.day).padStart(2, "0")}`);
    });
    requestAnimationFrame(() => {
      // measured by benchmarks/web.py: data arrived -> panes painted
      (window as unknown as { __klineDrawMs?: number }).__klineDrawMs = performance.now() - t0;
      ref.current?.setAttribute("data-drawn", "1");
    });
    return () => { pins.current = null; chart.remove(); };
  }, [data, height]);
  // annotations: arrows above their bars, redrawn without rebuilding the chart
  const key = JSON.stringify(markers);
  useEffect(() => {
    const dates = new Set(data.candles.map((c) => c.date));
    pins.current?.setMarkers(markers.filter((m) => dates.has(m.date)).sort((a, b) => a.date.localeCompare(b.date))
      .map((m) => ({ time: m.date as Time, position: "aboveBar", shape: "arrowDown", color: "#ad4e00", text: m.text })));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data, key]);
  return <div ref={ref} role="figure" aria-label={label} data-testid="kline" style={{ width: "100%", height }} />;
}
