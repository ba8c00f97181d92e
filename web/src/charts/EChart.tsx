import { useEffect, useRef } from "react";
import echarts from "./echarts";

type Option = Parameters<ReturnType<typeof echarts.init>["setOption"]>[0];

/** One ECharts canvas sized to its box; ``label`` names it for screen readers. */
export default function EChart({ option, height = 280, label }: { option: Option; height?: number; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const chart = echarts.init(ref.current!, undefined, { renderer: "canvas" });
    chart.setOption({ aria: { enabled: true }, animation: false, ...option });
    const resize = () => chart.resize();
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.dispose();
    };
  }, [option]);
  return <div ref={ref} role="img" aria-label={label} data-chart={label} style={{ width: "100%", height }} />;
}
