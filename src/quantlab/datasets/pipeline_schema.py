"""The JSON Schema of a preprocessing step, as the OpenAPI document shows it.

It mirrors :mod:`quantlab.engine.data.preprocess_spec` (the one validator that runs) so
clients and fuzzers can build valid steps: each ``op`` and method group lists its keys,
choices and ranges. Two rules stay with the validator only because JSON Schema cannot
compare two values: ``lower < upper`` (outliers) and ``feature_range[0] < feature_range[1]``.
"""

from __future__ import annotations

from typing import Any

from quantlab.engine.data.preprocess_spec import (
    ACTIONS,
    COMPARATORS,
    SCOPES,
)

_NAMES = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
_SCALAR = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}


def _number(lo: float, hi: float) -> dict[str, Any]:
    return {"type": "number", "minimum": lo, "maximum": hi}


# keys the parser reads as absent when they are null
_NULLABLE = {"columns", "symbols", "exclude_symbols", "where", "start", "end", "limit", "decimals"}


def _step(op: str, methods: dict[str, Any], keys: dict[str, Any], **extra: Any) -> dict[str, Any]:
    keys = {k: {"anyOf": [v, {"type": "null"}]} if k in _NULLABLE else v for k, v in keys.items()}
    return {
        "type": "object",
        "properties": {"op": {"const": op}, **methods, **keys},
        "required": ["op", *methods],
        "additionalProperties": False,
        **extra,
    }


def _scoped() -> list[dict[str, Any]]:
    """``scope`` is required; a window other than ``full`` needs ``per_symbol_time``."""
    rolling = {"anyOf": [{"enum": ["full", "expanding"]}, {"type": "integer", "minimum": 2}]}
    return [
        {"properties": {"scope": {"const": "per_symbol_time"}, "window": rolling}},
        {
            "properties": {
                "scope": {"enum": [s for s in SCOPES if s != "per_symbol_time"]},
                "window": {"const": "full"},
            }
        },
    ]


_ROW = {"scope": {"const": "per_row"}, "window": {"const": "full"}, "columns": _NAMES}
_ANY_SCOPE = {"scope": {"enum": list(SCOPES)}, "window": {}, "columns": _NAMES}


def _leaf() -> dict[str, Any]:
    plain = [c for c in COMPARATORS if c not in ("between", "in", "not_in", "is_null", "not_null")]
    text = ("contains", "starts_with")
    leaf = {"type": "object", "required": ["column", "op"], "additionalProperties": False}
    column = {"type": "string", "minLength": 1}
    return {
        "oneOf": [
            {**leaf, "properties": {"column": column, "op": {"enum": ["is_null", "not_null"]}}},
            {
                **leaf,
                "required": ["column", "op", "value"],
                "properties": {
                    "column": column,
                    "op": {"const": "between"},
                    "value": {"type": "array", "minItems": 2, "maxItems": 2, "items": _SCALAR},
                },
            },
            {
                **leaf,
                "required": ["column", "op", "value"],
                "properties": {
                    "column": column,
                    "op": {"enum": ["in", "not_in"]},
                    "value": {"type": "array", "minItems": 1, "items": _SCALAR},
                },
            },
            {
                **leaf,
                "required": ["column", "op", "value"],
                "properties": {
                    "column": column,
                    "op": {"enum": list(text)},
                    "value": {"type": "string"},
                },
            },
            {
                **leaf,
                "required": ["column", "op", "value"],
                "properties": {
                    "column": column,
                    "op": {"enum": [c for c in plain if c not in text]},
                    "value": _SCALAR,
                },
            },
        ]
    }


def _where() -> dict[str, Any]:
    """A leaf, or one level of and / or / not over leaves (deeper trees are also accepted)."""
    leaf = _leaf()
    group = {"type": "array", "minItems": 1, "items": leaf}
    return {
        "anyOf": [
            leaf,
            *(
                {
                    "type": "object",
                    "required": [k],
                    "additionalProperties": False,
                    "properties": {k: group},
                }
                for k in ("and", "or")
            ),
            {
                "type": "object",
                "required": ["not"],
                "additionalProperties": False,
                "properties": {"not": leaf},
            },
        ]
    }


def step_schema() -> dict[str, Any]:
    """One pipeline step: ``fill_missing``, ``outliers``, ``transform`` or ``filter``."""
    fill_limit = {"limit": {"type": "integer", "minimum": 1, "maximum": 1_000_000}}
    date = {"type": "string", "format": "date"}
    filter_keys = ("where", "start", "end", "symbols", "exclude_symbols")
    return {
        "oneOf": [
            _step("fill_missing", {"method": {"const": "drop_rows"}}, _ROW),
            _step(
                "fill_missing",
                {"method": {"const": "constant"}, "value": {"type": "number"}},
                _ROW,
            ),
            _step(
                "fill_missing",
                {"method": {"enum": ["ffill", "bfill", "interpolate"]}},
                {
                    "scope": {"const": "per_symbol_time"},
                    "window": {"const": "full"},
                    "columns": _NAMES,
                    **fill_limit,
                },
            ),
            _step(
                "fill_missing",
                {"method": {"enum": ["mean", "median"]}, "scope": {"enum": list(SCOPES)}},
                {"window": {}, "columns": _NAMES},
                anyOf=_scoped(),
            ),
            _step(
                "outliers",
                {
                    "detect": {"enum": ["std", "quantile", "iqr"]},
                    "action": {"enum": list(ACTIONS)},
                    "scope": {"enum": list(SCOPES)},
                },
                {
                    **_ANY_SCOPE,
                    "n_sigma": _number(1, 5),
                    "lower": _number(0, 1),
                    "upper": _number(0, 1),
                    "k": _number(0, 100),
                    "n": _number(0.5, 100),
                },
                anyOf=_scoped(),
            ),
            _step(
                "outliers",
                {
                    "detect": {"const": "mad"},
                    "action": {"enum": list(ACTIONS)},
                    "scope": {"enum": list(SCOPES)},
                },
                {
                    "window": {"const": "full"},
                    "columns": _NAMES,
                    "n_sigma": _number(1, 5),
                    "lower": _number(0, 1),
                    "upper": _number(0, 1),
                    "k": _number(0, 100),
                    "n": _number(0.5, 100),
                },
            ),
            _step(
                "transform",
                {"method": {"enum": ["log1p", "round", "cast"]}},
                {
                    **_ROW,
                    "decimals": {"type": "integer", "minimum": -10, "maximum": 15},
                    "dtype": {"enum": ["float", "int"]},
                },
            ),
            _step(
                "transform",
                {"method": {"enum": ["minmax", "zscore", "rank"]}, "scope": {"enum": list(SCOPES)}},
                {
                    **_ANY_SCOPE,
                    "feature_range": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 2,
                        "items": {"type": "number"},
                    },
                },
                anyOf=_scoped(),
            ),
            _step(
                "filter",
                {},
                {
                    "where": _where(),
                    "start": date,
                    "end": date,
                    "symbols": _NAMES,
                    "exclude_symbols": _NAMES,
                },
                anyOf=[{"required": [k]} for k in filter_keys],
            ),
        ]
    }
