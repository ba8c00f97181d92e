import type { Messages } from "./en";

const zh: Messages = {
  app: { title: "quantlab", subtitle: "量化研究工作台" },
  nav: {
    dashboard: "总览", datasets: "数据集", factors: "因子实验室", backtests: "回测",
    tasks: "任务", sandbox: "沙箱", settings: "设置", admin: "管理", help: "新手引导",
  },
  common: {
    loading: "加载中…", empty: "暂无内容", retry: "重试", save: "保存", cancel: "取消",
    next: "下一步", back: "上一步", done: "完成", refresh: "刷新", open: "打开", delete: "删除",
    name: "名称", status: "状态", created: "创建时间", progress: "进度", actions: "操作",
    error: "出错了", language: "语言", mode: "模式", beginner: "新手", expert: "专家",
    tooltips: "提示说明", signOut: "退出登录", signOutAll: "退出所有设备",
    search: "搜索", symbol: "代码", date: "日期", value: "数值", run: "运行", details: "详情",
  },
  login: { title: "登录", username: "用户名或邮箱", password: "密码", submit: "登录", required: "必填" },
  onboarding: {
    title: "新手引导", guides: "快速上手", progress: "已完成 {{done}} / {{total}}", complete: "标记完成",
    faq: "常见问题", modeHelp: "新手模式隐藏高级设置并解释每一步；专家模式显示全部选项。",
    tooltipsHelp: "在字段旁显示说明",
  },
  dashboard: {
    title: "总览", recentDatasets: "最近的数据集", recentFactors: "最近的因子", recentRuns: "最近的回测",
    runningJobs: "运行中的任务",
  },
  datasets: {
    title: "数据集", import: "导入数据", rows: "行数", symbols: "标的数", version: "版本", preview: "预览",
    summary: "统计", versions: "版本", chart: "图表", fields: "字段", missing: "缺失", mean: "均值",
    std: "标准差", min: "最小值", max: "最大值", range: "区间",
  },
  wizard: {
    title: "导入向导", upload: "上传", inspect: "识别", mapping: "列映射", validation: "校验",
    job: "导入", done: "完成", chooseFiles: "选择文件（CSV、Excel、Parquet，最多 10 个）",
    datasetName: "数据集名称", encoding: "编码", delimiter: "分隔符", layout: "布局",
    canonical: "字段", source: "源列", noProblems: "未发现问题", problems: "问题", row: "行",
    column: "列", message: "说明", start: "开始导入", importing: "导入中…", finished: "导入完成",
    openDataset: "打开数据集",
    mappingHelp: "为每个标准字段选择文件中的列。预览显示按此映射读取的前几行。",
  },
  chart: {
    title: "K 线", overlays: "叠加指标", panes: "指标副图", attribution: "图表由 TradingView Lightweight Charts™ 提供",
    bars: "{{n}} 根 K 线",
  },
  factors: {
    title: "因子实验室", expression: "表达式", dataset: "数据集", validate: "校验", evaluate: "评估",
    valid: "表达式有效", lookback: "回看 {{n}} 天", library: "因子库", saveAs: "保存为因子",
    ic: "IC / Rank IC", cumulativeIc: "累计 IC", decay: "IC 衰减", quantiles: "分位组平均收益",
    longShort: "多空累计收益", coverage: "覆盖率", turnover: "头部分位换手率", horizon: "持有期",
    evaluating: "评估中…", catalog: "指标目录", featureSets: "特征集",
  },
  backtests: {
    title: "回测", new: "新建回测", configure: "配置", start: "开始回测", monitor: "实时监控",
    results: "结果", equity: "净值与基准", drawdown: "回撤", monthly: "月度收益", metrics: "指标",
    trades: "成交", diagnostics: "诊断", positions: "持仓", rejected: "被拒订单", logs: "日志",
    exports: "导出", pause: "暂停", resume: "继续", cancel: "取消", eta: "预计剩余",
    currentDate: "当前日期", advanced: "高级设置", tradeLog: "成交流水", rerun: "重新运行",
    suggestion: "建议", severity: "严重程度", noDiagnostics: "没有发现问题",
  },
  tasks: { title: "任务", type: "类型", logs: "日志", cancel: "取消", retry: "重试" },
  sandbox: { title: "沙箱控制台", code: "代码", run: "运行", stdout: "标准输出", stderr: "标准错误", locals: "返回变量", limits: "限制", history: "历史" },
  settings: {
    title: "设置", preferences: "偏好", tokens: "个人访问令牌", sessions: "会话", newToken: "创建令牌",
    readOnly: "只读", secretOnce: "请立即复制密钥，之后不会再显示。", sessionsHelp: "结束此账号在所有设备上的会话。",
    theme: "主题",
  },
  admin: { title: "系统管理", users: "用户", audit: "审计日志", role: "角色", active: "启用", action: "操作", actor: "操作人", when: "时间" },
};
export default zh;
