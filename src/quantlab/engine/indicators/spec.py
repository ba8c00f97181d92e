"""Indicator specifications, parameter validation and the indicator errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Category = Literal["trend", "oscillator", "volume", "volatility", "financial"]
Source = Literal["native", "talib", "financial"]
ParamType = Literal["int", "float"]

CATEGORIES: tuple[str, ...] = ("trend", "oscillator", "volume", "volatility", "financial")
SOURCES: tuple[str, ...] = ("native", "talib", "financial")

# A compute function receives the input fields as (T, N) float64 arrays and the validated
# parameters, and returns one (T, N) array per output name.
ComputeFunc = Callable[[Mapping[str, np.ndarray], Mapping[str, Any]], dict[str, np.ndarray]]


class IndicatorError(Exception):
    """Base class of every error the indicator catalog raises."""


class UnknownIndicatorError(IndicatorError, LookupError):
    """No indicator of that name is registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown indicator {name!r}")
        self.name = name


class IndicatorParameterError(IndicatorError, ValueError):
    """A parameter is unknown, of the wrong type or outside its allowed range."""

    def __init__(
        self,
        indicator: str,
        param: str,
        value: object,
        message: str,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> None:
        super().__init__(f"{indicator}: parameter {param!r}={value!r}: {message}")
        self.indicator = indicator
        self.param = param
        self.value = value
        self.minimum = minimum
        self.maximum = maximum


class IndicatorUnavailableError(IndicatorError, ValueError):
    """The data lacks fields the indicator needs; ``missing`` names them."""

    def __init__(self, indicator: str, missing: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.indicator = indicator
        self.missing = missing


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One tunable parameter: its default and the inclusive range it must lie in."""

    name: str
    default: int | float
    minimum: int | float
    maximum: int | float
    type: ParamType = "int"
    description: str = ""

    def validate(self, indicator: str, value: object) -> int | float:
        """The value coerced to the parameter's type, or an `IndicatorParameterError`."""
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise self._error(indicator, value, f"must be {self.type}")
        if self.type == "int":
            if not float(value).is_integer():
                raise self._error(indicator, value, "must be an integer")
            coerced: int | float = int(value)
        else:
            coerced = float(value)
            if not np.isfinite(coerced):
                raise self._error(indicator, value, "must be finite")
        if not self.minimum <= coerced <= self.maximum:
            raise self._error(indicator, value, "out of range")
        return coerced

    def _error(self, indicator: str, value: object, why: str) -> IndicatorParameterError:
        allowed = f"{why}; allowed: {self.type} in [{self.minimum}, {self.maximum}]"
        return IndicatorParameterError(
            indicator, self.name, value, allowed, self.minimum, self.maximum
        )


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """A catalog entry: what an indicator is called, needs, takes and returns.

    ``inputs`` are lower-case field names of a panel (``open``, ``high``, ``low``,
    ``close``, ``volume``, or the financial fields listed in
    `quantlab.engine.indicators.financial`). ``outputs`` name the arrays `compute`
    returns, in display order.
    """

    name: str
    zh_name: str
    en_name: str
    category: Category
    source: Source
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: tuple[ParamSpec, ...] = ()
    description: str = ""
    formula: str = ""
    func: ComputeFunc | None = field(default=None, repr=False, compare=False)

    def param(self, name: str) -> ParamSpec:
        """The parameter called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, int | float]:
        """Parameter name to default value."""
        return {p.name: p.default for p in self.params}

    def validate_params(self, params: Mapping[str, object] | None) -> dict[str, int | float]:
        """Defaults overlaid with ``params``, each checked against its range."""
        given = dict(params or {})
        known = {p.name for p in self.params}
        for name in given:
            if name not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise IndicatorParameterError(
                    self.name, name, given[name], f"unknown parameter (allowed: {allowed})"
                )
        return {p.name: p.validate(self.name, given.get(p.name, p.default)) for p in self.params}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (everything but the compute function)."""
        return {
            "name": self.name,
            "zh_name": self.zh_name,
            "en_name": self.en_name,
            "category": self.category,
            "source": self.source,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "params": [
                {
                    "name": p.name,
                    "default": p.default,
                    "min": p.minimum,
                    "max": p.maximum,
                    "type": p.type,
                    "description": p.description,
                }
                for p in self.params
            ],
            "description": self.description,
            "formula": self.formula,
        }
