import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./en";
import zh from "./zh";

export const LANGUAGES = ["zh-CN", "en-US"] as const;
export type Language = (typeof LANGUAGES)[number];
const KEY = "quantlab.lang";

export function initialLanguage(): Language {
  const saved = localStorage.getItem(KEY);
  return saved === "en-US" ? "en-US" : "zh-CN";
}

void i18n.use(initReactI18next).init({
  resources: { "zh-CN": { translation: zh }, "en-US": { translation: en } },
  lng: initialLanguage(),
  fallbackLng: "zh-CN",
  interpolation: { escapeValue: false },
});

export function setLanguage(lang: Language): void {
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang === "en-US" ? "en" : "zh-CN";
  void i18n.changeLanguage(lang);
}

document.documentElement.lang = initialLanguage() === "en-US" ? "en" : "zh-CN";
export default i18n;
