import type { Messages } from "./en";

const zh: Messages = {
  app: { title: "quantlab", subtitle: "量化研究工作台" },
  nav: {
    dashboard: "总览", datasets: "数据集", factors: "因子实验室", backtests: "回测",
    tasks: "任务", sandbox: "沙箱", settings: "设置", admin: "管理", help: "新手引导", strategies: "策略库",
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
  preprocess: {
    title: "预处理", steps: "处理步骤", addStep: "添加步骤", noSteps: "还没有步骤：添加一步即可看到效果。",
    op: "操作", method: "方法", scope: "范围", columns: "列", allColumns: "全部数值列",
    detect: "检测", action: "处理", stepJson: "步骤 JSON", invalidJson: "不是有效的 JSON",
    preview: "实时预览", rowsBefore: "处理前行数", rowsAfter: "处理后行数", future: "有步骤使用了未来信息（前视偏差）：不要将其结果用于回测。",
    distribution: "处理前后的分布", before: "处理前", after: "处理后", changed: "改动的单元格", outliers: "异常值",
    sample: "样本行（改动的在前）", removed: "已删除", execute: "生成新版本", note: "备注",
    executed: "任务 {{job}} 正在生成新版本。", built: "任务 {{job}} 已生成新版本。", templates: "模板", saveTemplate: "保存为模板",
    loadTemplate: "载入模板", templateName: "模板名称",
    help: "每一步清洗或缩放数据。编辑时预览会在样本上运行这些步骤；在生成新版本之前不会保存任何内容。",
    per_symbol_time: "每个标的的时间序列", per_day_cross_section: "每日全部标的截面", whole_sample: "全样本",
  },
  annotations: {
    title: "标注", add: "添加标注", text: "内容", price: "价格", none: "该标的暂无标注", pick: "点击 K 线选择日期。",
  },
  chartConfigs: { title: "已保存的图表", save: "保存图表", name: "图表名称", load: "打开已保存的图表", saved: "已保存" },
  compare: {
    title: "回测对比", pick: "选择 2 到 10 个已完成的回测", run: "对比", metric: "指标", overlay: "净值叠加",
    selected: "已选 {{n}} 个", incomplete: "不完整",
  },
  schedules: {
    title: "定时任务", new: "新建定时任务", jobType: "任务类型", cron: "Cron 表达式", timezone: "时区", enabled: "启用",
    nextRun: "下次运行", lastRun: "上次运行", params: "参数（JSON）", priority: "优先级",
    cronHelp: "五个字段：分 时 日 月 星期。例如 0 2 * * 1-5 表示工作日 02:00 运行。",
    jobs: "任务列表",
  },
  featureSets: {
    title: "Alpha158 / Alpha360", help: "Qlib 的标准特征集：浏览其表达式，然后在数据集上评估整个特征集，并按 IC IR 排序。",
    features: "特征数", lookback: "回看天数", filter: "按名称或表达式筛选", evaluate: "评估特征集",
    ranking: "排名", rank: "名次", icIr: "IC IR", icMean: "IC 均值", rankIcMean: "Rank IC 均值", rankIcIr: "Rank IC IR",
    coverage: "覆盖率", start: "起始日期", top: "|IC IR| 前 20 的特征", skipped: "跳过（缺少字段）：{{n}}",
  },
  library: {
    favourite: "收藏", unfavourite: "取消收藏", publish: "发布", clone: "克隆", public: "公开",
    all: "全部", mine: "我的", favourites: "收藏", published: "已公开",
  },
  strategies: {
    title: "策略库", gallery: "模板库", mine: "我的策略", use: "使用模板", usage: "已使用 {{n}} 次",
    version: "版本", versions: "版本历史", ratings: "评分", rate: "评分", comment: "评论", submitRating: "提交评分",
    removeRating: "删除我的评分", noRatings: "暂无评分", copy: "复制到我的策略", publish: "发布", unpublish: "取消发布",
    runOn: "回测数据集", runs: "运行记录", parameters: "参数", default: "默认值", current: "当前值", range: "范围",
    restore: "恢复", diff: "相对当前的改动", message: "说明", plain: "通俗描述", category: "类别", market: "市场",
    average: "{{avg}}（{{n}} 人评分）", favourite: "收藏", template: "模板",
  },
  admin: { title: "系统管理", users: "用户", audit: "审计日志", role: "角色", active: "启用", action: "操作", actor: "操作人", when: "时间" },
};
export default zh;
