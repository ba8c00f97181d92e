// CodeMirror 6 editor for the factor language: highlighting, completion of fields,
// operators and saved factors, and live validation by the API with the error at its position.
import { autocompletion } from "@codemirror/autocomplete";
import type { CompletionContext } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { linter, lintGutter } from "@codemirror/lint";
import type { Diagnostic } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { useEffect, useRef } from "react";

// the expression engine's operators (quantlab.engine.expr.operators.OPERATORS)
export const OPERATORS = (
  "Abs Add And CSDemean CSRank CSZScore Corr Count Cov Cross CrossDown Delta Div EMA Eq Ge Greater Gt " +
  "IdxMax IdxMin If Kurt Le Less Log Lt Mad Max Mean Med Min Mul Ne Not Or Power Quantile Rank Ref Resi " +
  "Rsquare Sign Skew Slope Std Sub Sum Var WMA"
).split(" ");

const factorLanguage = StreamLanguage.define({
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match(/^\$\$[A-Za-z_]\w*/)) return "special";
    if (stream.match(/^\$[A-Za-z_]\w*/)) return "variableName";
    if (stream.match(/^\d+(\.\d+)?([eE][-+]?\d+)?/)) return "number";
    if (stream.match(/^[A-Za-z_]\w*(?=\s*\()/)) return "function";
    if (stream.match(/^[A-Za-z_]\w*/)) return "name";
    if (stream.match(/^[-+*/<>=!&|]+/)) return "operator";
    stream.next();
    return "punctuation";
  },
});

const highlight = HighlightStyle.define([
  { tag: tags.variableName, color: "#0550ae" },
  { tag: tags.special(tags.variableName), color: "#8250df" },
  { tag: tags.function(tags.variableName), color: "#953800", fontWeight: "bold" },
  { tag: tags.number, color: "#116329" },
  { tag: tags.operator, color: "#cf222e" },
]);

export interface ValidationError { position: number; message: string }

export interface FactorEditorProps {
  value: string;
  onChange(v: string): void;
  fields: string[];
  factors: string[];
  validate(text: string): Promise<ValidationError | null>;
  label: string;
}

export default function FactorEditor({ value, onChange, fields, factors, validate, label }: FactorEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const props = useRef({ onChange, fields, factors, validate });
  props.current = { onChange, fields, factors, validate };
  const view = useRef<EditorView>(null);

  useEffect(() => {
    const complete = (ctx: CompletionContext) => {
      const word = ctx.matchBefore(/\$?\$?\w*/);
      if (!word || (word.from === word.to && !ctx.explicit)) return null;
      const { fields: fs, factors: fx } = props.current;
      return {
        from: word.from,
        options: [
          ...fs.map((f) => ({ label: `$${f}`, type: "variable", detail: "field" })),
          ...fx.map((f) => ({ label: `$$${f}`, type: "class", detail: "factor" })),
          ...OPERATORS.map((o) => ({ label: o, type: "function", apply: `${o}(`, detail: "operator" })),
        ],
      };
    };
    const lint = linter(async (v): Promise<Diagnostic[]> => {
      const text = v.state.doc.toString();
      if (!text.trim()) return [];
      const err = await props.current.validate(text);
      if (!err) return [];
      const from = Math.max(0, Math.min(err.position < 0 ? 0 : err.position, text.length));
      const to = Math.min(text.length, from + 1) || from;
      return [{ from: from === text.length && from > 0 ? from - 1 : from, to: Math.max(to, from), severity: "error", message: err.message }];
    }, { delay: 400 });
    view.current = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          history(), keymap.of([...defaultKeymap, ...historyKeymap]), factorLanguage,
          syntaxHighlighting(highlight), autocompletion({ override: [complete] }), lint, lintGutter(),
          placeholder("Mean($close, 5) / $close - 1"),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((u) => u.docChanged && props.current.onChange(u.state.doc.toString())),
          EditorView.theme({ "&": { border: "1px solid #d9d9d9", borderRadius: "6px", fontSize: "14px" }, ".cm-content": { minHeight: "64px", fontFamily: "monospace" } }),
        ],
      }),
    });
    return () => view.current?.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  return <div ref={host} data-testid="factor-editor" />;
}
