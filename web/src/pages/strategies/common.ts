import type { components } from "../../api/schema";

export type Strategy = components["schemas"]["StrategyOut"];
export type StrategyDetail = components["schemas"]["StrategyDetail"];

/** A text of the gallery in the interface's language (templates carry zh-CN and en). */
export function localized(strategy: Strategy, key: "name" | "description", language: string): string {
  const texts = (strategy.texts as Record<string, Record<string, string> | undefined>)[key];
  const text = texts?.[language === "en-US" ? "en" : "zh-CN"];
  return text || strategy[key];
}

/** The strategy in plain words, in the interface's language. */
export function plain(strategy: Strategy, language: string): string {
  return strategy.human[language === "en-US" ? "en" : "zh-CN"] ?? "";
}
