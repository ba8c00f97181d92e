// Loading, empty and error states shared by every page; errors show the API's message.
import { Alert, Button, Empty, Spin } from "antd";
import { useCallback, useEffect, useState } from "react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={errorText(error)}
      description={code}
      action={onRetry ? <Button size="small" onClick={onRetry}>{t("common.retry")}</Button> : undefined}
    />
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Run ``load`` on mount and whenever ``deps`` change. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    load()
      .then((d) => live && setData(d))
      .catch((e) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** Spinner while loading, the error with retry, an empty state, or the content. */
export function PageState<T>({
  state, empty, children,
}: { state: Loaded<T>; empty?: (d: T) => boolean; children: (d: T) => ReactNode }) {
  const { t } = useTranslation();
  if (state.error) return <ErrorAlert error={state.error} onRetry={state.reload} />;
  if (state.loading && state.data === undefined)
    return <div style={{ padding: 32, textAlign: "center" }}><Spin tip={t("common.loading")}><div style={{ minHeight: 40 }} /></Spin></div>;
  if (state.data === undefined) return null;
  if (empty?.(state.data)) return <Empty description={t("common.empty")} />;
  return <>{children(state.data)}</>;
}
