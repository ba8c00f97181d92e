// ECharts, tree-shaken: only the charts and components the workbench draws.
import { BarChart, HeatmapChart, LineChart, ParallelChart, ScatterChart } from "echarts/charts";
import {
  DataZoomComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent,
  VisualMapComponent, AriaComponent, ParallelComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  LineChart, BarChart, HeatmapChart, ScatterChart, ParallelChart, ParallelComponent, GridComponent, TooltipComponent, LegendComponent,
  DataZoomComponent, VisualMapComponent, TitleComponent, AriaComponent, CanvasRenderer,
]);

export default echarts;
