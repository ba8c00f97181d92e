import { App as AntApp, ConfigProvider, Spin, theme } from "antd";
import enUS from "antd/locale/en_US";
import zhCN from "antd/locale/zh_CN";
import { lazy, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { SessionProvider, useSession } from "./auth/session";
import Shell from "./components/Shell";
import Login from "./pages/Login";

// every page is its own chunk: charts and editors load only where they are used
const Dashboard = lazy(() => import("./pages/Dashboard"));
const Onboarding = lazy(() => import("./pages/Onboarding"));
const Datasets = lazy(() => import("./pages/datasets/DatasetList"));
const ImportWizard = lazy(() => import("./pages/datasets/ImportWizard"));
const DatasetPage = lazy(() => import("./pages/datasets/DatasetPage"));
const ChartPage = lazy(() => import("./pages/datasets/ChartPage"));
const FactorLab = lazy(() => import("./pages/factors/FactorLab"));
const Backtests = lazy(() => import("./pages/backtests/BacktestList"));
const BacktestNew = lazy(() => import("./pages/backtests/BacktestNew"));
const BacktestPage = lazy(() => import("./pages/backtests/BacktestPage"));
const Compare = lazy(() => import("./pages/backtests/Compare"));
const FeatureSets = lazy(() => import("./pages/factors/FeatureSets"));
const Strategies = lazy(() => import("./pages/strategies/StrategyLibrary"));
const StrategyPage = lazy(() => import("./pages/strategies/StrategyPage"));
const Builder = lazy(() => import("./pages/builder/Builder"));
const Studies = lazy(() => import("./pages/studies/Studies"));
const StudyPage = lazy(() => import("./pages/studies/StudyPage"));
const Models = lazy(() => import("./pages/models/ModelList"));
const ModelPage = lazy(() => import("./pages/models/ModelPage"));
const Schedules = lazy(() => import("./pages/Schedules"));
const Tasks = lazy(() => import("./pages/Tasks"));
const Sandbox = lazy(() => import("./pages/Sandbox"));
const Settings = lazy(() => import("./pages/Settings"));
const Admin = lazy(() => import("./pages/Admin"));

function Routed() {
  const { me, ready } = useSession();
  if (!ready) return <Spin fullscreen />;
  if (!me) return <Login />;
  return (
    <Shell>
      <Suspense fallback={<Spin style={{ display: "block", margin: 48 }} />}>
        <Routes>
          <Route path="/" element={<Dashboard />} />
          <Route path="/welcome" element={<Onboarding />} />
          <Route path="/datasets" element={<Datasets />} />
          <Route path="/datasets/import" element={<ImportWizard />} />
          <Route path="/datasets/:id" element={<DatasetPage />} />
          <Route path="/datasets/:id/chart" element={<ChartPage />} />
          <Route path="/factors" element={<FactorLab />} />
          <Route path="/factors/sets" element={<FeatureSets />} />
          <Route path="/strategies" element={<Strategies />} />
          <Route path="/strategies/:id" element={<StrategyPage />} />
          <Route path="/builder" element={<Builder />} />
          <Route path="/builder/:draftId" element={<Builder />} />
          <Route path="/studies" element={<Studies />} />
          <Route path="/studies/:id" element={<StudyPage />} />
          <Route path="/models" element={<Models />} />
          <Route path="/models/:id" element={<ModelPage />} />
          <Route path="/backtests" element={<Backtests />} />
          <Route path="/backtests/new" element={<BacktestNew />} />
          <Route path="/backtests/compare" element={<Compare />} />
          <Route path="/backtests/:id" element={<BacktestPage />} />
          <Route path="/tasks" element={<Tasks />} />
          <Route path="/tasks/schedules" element={<Schedules />} />
          <Route path="/sandbox" element={<Sandbox />} />
          <Route path="/settings" element={<Settings />} />
          <Route path="/admin" element={<Admin />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </Suspense>
    </Shell>
  );
}

function Themed() {
  const { i18n } = useTranslation();
  const { prefs } = useSession();
  return (
    <ConfigProvider
      locale={i18n.language === "en-US" ? enUS : zhCN}
      button={{ autoInsertSpace: false }}
      theme={{
        algorithm: prefs?.theme === "dark" ? theme.darkAlgorithm : theme.defaultAlgorithm,
        // WCAG AA contrast (4.5:1) for buttons, links and secondary text
        token: prefs?.theme === "dark" ? {} : {
          colorPrimary: "#0958d9", colorPrimaryHover: "#003eb3", colorLink: "#0958d9", colorLinkHover: "#003eb3", colorInfo: "#0958d9", colorError: "#cf1322",
          colorTextSecondary: "rgba(0,0,0,0.65)", colorTextTertiary: "rgba(0,0,0,0.6)",
          colorTextQuaternary: "rgba(0,0,0,0.58)", colorTextDescription: "rgba(0,0,0,0.65)",
          colorTextPlaceholder: "rgba(0,0,0,0.58)", colorTextDisabled: "rgba(0,0,0,0.58)",
        },
      }}
    >
      <AntApp>
        <BrowserRouter>
          <Routed />
        </BrowserRouter>
      </AntApp>
    </ConfigProvider>
  );
}

export default function App() {
  return (
    <SessionProvider>
      <Themed />
    </SessionProvider>
  );
}
