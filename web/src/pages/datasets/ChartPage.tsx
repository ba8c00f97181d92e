import { Button, Card, Checkbox, Col, Input, List, Row, Select, Space, Typography } from "antd";
import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router-dom";
import { json, request } from "../../api/client";
import type { OhlcvData } from "../../charts/KLine";
import { ErrorAlert, PageState, useLoad } from "../../components/State";

const KLine = lazy(() => import("../../charts/KLine"));
const PANES = ["MACD", "RSI", "KDJ", "VOL"];

interface Annotation { id: string; dataset_id: string; symbol: string; date: string; price: number | null; text: string }
interface ChartConfig { id: string; name: string; config: { dataset_id?: string; symbol?: string; boll?: boolean; panes?: string[] } }

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
  const [error, setError] = useState<unknown>();
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

  // annotations of this symbol, pinned to their bars
  const notes = useLoad(async () => (current
    ? request<Annotation[]>(`/api/charts/annotations?${new URLSearchParams({ dataset_id: id, symbol: current, size: "200" })}`)
    : []), [id, current]);
  const [noteDate, setNoteDate] = useState("");
  const [noteText, setNoteText] = useState("");
  const lastDate = data.data?.candles.at(-1)?.date ?? "";
  const addNote = async () => {
    setError(undefined);
    try {
      await request("/api/charts/annotations", json("POST", { dataset_id: id, symbol: current, date: noteDate || lastDate, text: noteText }));
      setNoteText("");
      notes.reload();
    } catch (e) { setError(e); }
  };
  const removeNote = async (noteId: string) => {
    try { await request(`/api/charts/annotations/${noteId}`, { method: "DELETE" }); notes.reload(); } catch (e) { setError(e); }
  };

  // saved chart configurations: symbol, overlays and panes
  const configs = useLoad(() => request<ChartConfig[]>("/api/charts/configs?size=100"), []);
  const [configName, setConfigName] = useState("");
  const saveConfig = async () => {
    setError(undefined);
    try {
      await request("/api/charts/configs", json("POST", { name: configName, config: { dataset_id: id, symbol: current, boll, panes } }));
      setConfigName("");
      configs.reload();
    } catch (e) { setError(e); }
  };
  const openConfig = (configId: string) => {
    const c = configs.data?.find((x) => x.id === configId)?.config;
    if (!c) return;
    if (c.symbol && symbols.includes(c.symbol)) setSymbol(c.symbol);
    if (typeof c.boll === "boolean") setBoll(c.boll);
    if (Array.isArray(c.panes)) setPanes(c.panes.filter((p) => PANES.includes(p)).slice(0, 3));
  };

  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("chart.title")}</Typography.Title>
      {error !== undefined && <ErrorAlert error={error} />}
      <Space wrap>
        <Select aria-label={t("common.symbol")} style={{ width: 160 }} value={current} onChange={setSymbol}
          options={symbols.map((s) => ({ value: s, label: s }))} loading={cov.loading} />
        <Checkbox checked={boll} onChange={(e) => setBoll(e.target.checked)}>BOLL</Checkbox>
        <Select aria-label={t("chart.panes")} mode="multiple" style={{ minWidth: 240 }} value={panes}
          onChange={(v) => setPanes(v.slice(0, 3))} options={PANES.map((p) => ({ value: p, label: p }))} />
        <Select aria-label={t("chartConfigs.load")} placeholder={t("chartConfigs.load")} style={{ width: 200 }} value={null}
          data-testid="chart-configs" loading={configs.loading} onChange={openConfig}
          options={(configs.data ?? []).map((c) => ({ value: c.id, label: c.name }))} />
        <Input aria-label={t("chartConfigs.name")} placeholder={t("chartConfigs.name")} value={configName} onChange={(e) => setConfigName(e.target.value)} style={{ width: 160 }} />
        <Button onClick={() => void saveConfig()} disabled={!configName || !current}>{t("chartConfigs.save")}</Button>
      </Space>
      <Row gutter={16}>
        <Col xs={24} xl={18}>
          <Card>
            <PageState state={data}>
              {(d) => d ? (
                <Suspense fallback={null}>
                  <Typography.Text type="secondary">{t("chart.bars", { n: d.candles.length })}</Typography.Text>
                  <KLine data={d} label={`${current} K-line`} markers={(notes.data ?? []).map((n) => ({ date: n.date.slice(0, 10), text: n.text }))} onPick={setNoteDate} />
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {t("chart.attribution")} — <a href="https://www.tradingview.com/" target="_blank" rel="noreferrer">TradingView</a>
                  </Typography.Text>
                </Suspense>
              ) : null}
            </PageState>
          </Card>
        </Col>
        <Col xs={24} xl={6}>
          <Card title={t("annotations.title")} size="small" data-testid="annotations">
            <Space direction="vertical" style={{ width: "100%" }}>
              <Typography.Text type="secondary">{t("annotations.pick")}</Typography.Text>
              <Input aria-label={t("common.date")} placeholder={lastDate || "YYYY-MM-DD"} value={noteDate} onChange={(e) => setNoteDate(e.target.value)} />
              <Input aria-label={t("annotations.text")} placeholder={t("annotations.text")} value={noteText} onChange={(e) => setNoteText(e.target.value)} maxLength={500} />
              <Button type="primary" onClick={() => void addNote()} disabled={!noteText || !current}>{t("annotations.add")}</Button>
              <PageState state={notes}>
                {(items) => (
                  <List size="small" dataSource={items} locale={{ emptyText: t("annotations.none") }} renderItem={(n) => (
                    <List.Item actions={[<Button key="d" size="small" danger onClick={() => void removeNote(n.id)}>{t("common.delete")}</Button>]}>
                      <span><b>{n.date.slice(0, 10)}</b> {n.text}</span>
                    </List.Item>
                  )} />
                )}
              </PageState>
            </Space>
          </Card>
        </Col>
      </Row>
    </Space>
  );
}
