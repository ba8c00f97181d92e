// ECharts, tree-shaken: only the charts and components the workbench draws.
import { BarChart, HeatmapChart, LineChart } from "echarts/charts";
import {
  DataZoomComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent,
  VisualMapComponent, AriaComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  LineChart, BarChart, HeatmapChart, GridComponent, TooltipComponent, LegendComponent,
  DataZoomComponent, VisualMapComponent, TitleComponent, AriaComponent, CanvasRenderer,
]);

export default echarts;
