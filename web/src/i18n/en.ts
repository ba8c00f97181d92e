const en = {
  app: { title: "quantlab", subtitle: "Quant research workbench" },
  nav: {
    dashboard: "Dashboard", datasets: "Datasets", factors: "Factor lab", backtests: "Backtests",
    tasks: "Tasks", sandbox: "Sandbox", settings: "Settings", admin: "Admin", help: "Getting started",
  },
  common: {
    loading: "Loading…", empty: "Nothing here yet", retry: "Retry", save: "Save", cancel: "Cancel",
    next: "Next", back: "Back", done: "Done", refresh: "Refresh", open: "Open", delete: "Delete",
    name: "Name", status: "Status", created: "Created", progress: "Progress", actions: "Actions",
    error: "Something went wrong", language: "Language", mode: "Mode", beginner: "Beginner",
    expert: "Expert", tooltips: "Tooltips", signOut: "Sign out", signOutAll: "Sign out everywhere",
    search: "Search", symbol: "Symbol", date: "Date", value: "Value", run: "Run", details: "Details",
  },
  login: {
    title: "Sign in", username: "Username or email", password: "Password", submit: "Sign in",
    required: "Required",
  },
  onboarding: {
    title: "Getting started", guides: "Quick-start guides", progress: "{{done}} of {{total}} done",
    complete: "Mark done", faq: "Frequently asked questions",
    modeHelp: "Beginner mode hides advanced settings and explains each step; expert mode shows everything.",
    tooltipsHelp: "Show explanations next to fields",
  },
  dashboard: {
    title: "Dashboard", recentDatasets: "Recent datasets", recentFactors: "Recent factors",
    recentRuns: "Recent backtests", runningJobs: "Running jobs",
  },
  datasets: {
    title: "Datasets", import: "Import data", rows: "Rows", symbols: "Symbols", version: "Version",
    preview: "Preview", summary: "Summary", versions: "Versions", chart: "Chart", fields: "Fields",
    missing: "Missing", mean: "Mean", std: "Std", min: "Min", max: "Max", range: "Range",
  },
  wizard: {
    title: "Import wizard", upload: "Upload", inspect: "Inspect", mapping: "Column mapping",
    validation: "Validation", job: "Import", done: "Done", chooseFiles: "Choose files (CSV, Excel, Parquet; up to 10)",
    datasetName: "Dataset name", encoding: "Encoding", delimiter: "Delimiter", layout: "Layout",
    canonical: "Field", source: "Source column", noProblems: "No problems found",
    problems: "Problems", row: "Row", column: "Column", message: "Message", start: "Start import",
    importing: "Importing…", finished: "Import finished", openDataset: "Open dataset",
    mappingHelp: "Map each standard field to a column of your file. The preview shows the first rows as they will be read.",
  },
  chart: {
    title: "K-line", overlays: "Overlays", panes: "Indicator panes", attribution: "Charts by TradingView Lightweight Charts™",
    bars: "{{n}} bars",
  },
  factors: {
    title: "Factor lab", expression: "Expression", dataset: "Dataset", validate: "Validate",
    evaluate: "Evaluate", valid: "Valid expression", lookback: "Lookback {{n}} days", library: "Factor library",
    saveAs: "Save as factor", ic: "IC / Rank IC", cumulativeIc: "Cumulative IC", decay: "IC decay by horizon",
    quantiles: "Mean return by quantile", longShort: "Long-short cumulative return", coverage: "Coverage",
    turnover: "Top-quantile turnover", horizon: "Horizon", evaluating: "Evaluating…",
    catalog: "Indicator catalog", featureSets: "Feature sets",
  },
  backtests: {
    title: "Backtests", new: "New backtest", configure: "Configuration", start: "Run backtest",
    monitor: "Live monitor", results: "Results", equity: "Equity vs benchmark", drawdown: "Drawdown",
    monthly: "Monthly returns", metrics: "Metrics", trades: "Trades", diagnostics: "Diagnostics",
    positions: "Positions", rejected: "Rejected orders", logs: "Logs", exports: "Export",
    pause: "Pause", resume: "Resume", cancel: "Cancel", eta: "ETA", currentDate: "Current date",
    advanced: "Advanced settings", tradeLog: "Trade log", rerun: "Run again", suggestion: "Suggestion",
    severity: "Severity", noDiagnostics: "No findings",
  },
  tasks: { title: "Tasks", type: "Type", logs: "Logs", cancel: "Cancel", retry: "Retry" },
  sandbox: { title: "Sandbox console", code: "Code", run: "Run", stdout: "stdout", stderr: "stderr", locals: "Returned locals", limits: "Limits", history: "History" },
  settings: {
    title: "Settings", preferences: "Preferences", tokens: "Personal access tokens", sessions: "Sessions",
    newToken: "Create token", readOnly: "Read-only", secretOnce: "Copy the secret now; it is not shown again.",
    sessionsHelp: "End every session of this account on every device.", theme: "Theme",
  },
  admin: { title: "Administration", users: "Users", audit: "Audit log", role: "Role", active: "Active", action: "Action", actor: "Actor", when: "When" },
};
export default en;
export type Messages = typeof en;
