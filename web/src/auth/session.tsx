// Who is signed in and their interface preferences (mode, language, tooltips).
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import {
  api, ApiError, getAccessToken, getRefreshToken, json, onAuthChange, refreshTokens, request,
  setTokens, unwrap,
} from "../api/client";
import type { TokenPair } from "../api/client";
import type { components } from "../api/schema";
import { setLanguage } from "../i18n";
import type { Language } from "../i18n";

export type Me = components["schemas"]["MeOut"];
export type Preferences = components["schemas"]["PreferencesOut"];
export type PreferencesPatch = components["schemas"]["PreferencesPatch"];

interface Session {
  me: Me | null;
  prefs: Preferences | null;
  ready: boolean;
  signIn(username: string, password: string): Promise<void>;
  signOut(everywhere?: boolean): Promise<void>;
  updatePrefs(patch: PreferencesPatch): Promise<void>;
  setMode(mode: Preferences["mode"]): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}

/** True when the interface should show everything (expert mode). */
export function useExpert(): boolean {
  return useSession().prefs?.mode !== "beginner";
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [prefs, setPrefs] = useState<Preferences | null>(null);
  const [ready, setReady] = useState(false);

  const load = useCallback(async () => {
    const [who, p] = await Promise.all([
      unwrap<Me>(api.GET("/api/auth/me")),
      unwrap<Preferences>(api.GET("/api/user/preferences")),
    ]);
    setMe(who);
    setPrefs(p);
    setLanguage(p.language as Language);
  }, []);

  useEffect(() => {
    // a reload keeps the tab's refresh token: rotate it for a fresh access token
    const boot = getAccessToken() || !getRefreshToken() ? Promise.resolve(false) : refreshTokens();
    boot
      .then((ok) => (ok ? load() : undefined))
      .catch(() => setTokens(null))
      .finally(() => setReady(true));
    return onAuthChange((signedIn) => {
      if (!signedIn) {
        setMe(null);
        setPrefs(null);
      }
    });
  }, [load]);

  const signIn = useCallback(
    async (username: string, password: string) => {
      const body = new URLSearchParams({ username, password, grant_type: "password" });
      const resp = await fetch("/api/auth/token", { method: "POST", body });
      const data = await resp.json();
      if (!resp.ok) throw new ApiError(resp.status, data.error ?? { code: "HTTP", message: `HTTP ${resp.status}` });
      setTokens(data as TokenPair);
      await load();
    },
    [load],
  );

  const signOut = useCallback(async (everywhere = false) => {
    try {
      await request("/api/auth/logout", json("POST", { refresh_token: getRefreshToken(), everywhere }));
    } finally {
      setTokens(null);
    }
  }, []);

  const updatePrefs = useCallback<Session["updatePrefs"]>(async (patch) => {
    const p = await unwrap<Preferences>(api.PUT("/api/user/preferences", { body: patch }));
    setPrefs(p);
    if (patch.language) setLanguage(p.language as Language);
  }, []);

  const setMode = useCallback(async (mode: Preferences["mode"]) => {
    await unwrap(api.POST("/api/user/mode", { body: { mode } }));
    setPrefs((p) => (p ? { ...p, mode } : p));
  }, []);

  const value = useMemo(
    () => ({ me, prefs, ready, signIn, signOut, updatePrefs, setMode }),
    [me, prefs, ready, signIn, signOut, updatePrefs, setMode],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
