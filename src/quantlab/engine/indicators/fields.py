"""Indicator outputs as panel fields, so factor-language expressions can read them.

A run spec's ``indicators`` section (:class:`quantlab.engine.spec.IndicatorField`) names
outputs of the catalog; :func:`add_indicator_fields` computes each with :func:`compute` on
the whole panel and returns the panel with one more field per name (``$name`` in an
expression). The builder's node preview goes through the same function, so the values a
preview shows are the values a run uses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from quantlab.engine.data.panel import Panel
from quantlab.engine.indicators.catalog import availability, compute, get_indicator
from quantlab.engine.indicators.spec import IndicatorError


class IndicatorFieldError(ValueError):
    """An ``indicators`` entry that cannot be computed; ``name`` is the entry."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"indicators.{name}: {message}")
        self.name = name


def _definition(d: Any) -> tuple[str, dict[str, float], str]:
    if isinstance(d, Mapping):
        return str(d["indicator"]), dict(d.get("params") or {}), str(d["output"])
    return d.indicator, dict(d.params), d.output


def check_indicator_fields(defs: Mapping[str, Any], fields: Collection[str]) -> None:
    """Refuse entries naming an unknown indicator, parameter or output, reading a field
    missing from ``fields``, or shadowing one of ``fields`` (:class:`IndicatorFieldError`)."""
    for name, d in defs.items():
        indicator, params, output = _definition(d)
        if name in fields:
            raise IndicatorFieldError(name, f"${name} is already a field of the data; rename it")
        try:
            spec = get_indicator(indicator)
            spec.validate_params(params)
        except IndicatorError as err:
            raise IndicatorFieldError(name, str(err)) from None
        if output not in spec.outputs:
            raise IndicatorFieldError(
                name, f"{spec.name} has no output {output!r}; outputs: {list(spec.outputs)}"
            )
        ok, reason = availability(spec, fields)
        if not ok:
            raise IndicatorFieldError(name, reason)


def add_indicator_fields(panel: Panel, defs: Mapping[str, Any]) -> Panel:
    """``panel`` with one field per entry of ``defs`` (name -> indicator, params, output).

    Each output is computed over the whole panel (float64, NaN on warm-up and skipped
    bars, as :func:`compute`). The panel's ``version_key`` gains a digest of ``defs`` so
    that cached expressions over another definition of the same name are not reused.
    """
    if not defs:
        return panel
    check_indicator_fields(defs, panel.fields)
    fields = dict(panel.fields)
    for name, d in defs.items():
        indicator, params, output = _definition(d)
        fields[name] = np.asfortranarray(compute(indicator, panel, params)[output])
    meta = dict(panel.meta)
    if meta.get("version_key") is not None:
        meta["version_key"] = f"{meta['version_key']}+{digest(defs)}"
    return dataclasses.replace(panel, fields=fields, meta=meta)


def digest(defs: Mapping[str, Any]) -> str:
    """A short stable digest of indicator definitions (for cache keys)."""
    plain = {k: _definition(v) for k, v in sorted(defs.items())}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]
