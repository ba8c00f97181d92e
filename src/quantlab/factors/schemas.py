"""Request and response bodies of the factors and indicators API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FactorKind = Literal["expression", "python"]
NAME_PATTERN = r"^[^\W\d]\w{0,79}$"
MAX_SYMBOLS = 500
DEFAULT_HORIZONS = [1, 5, 10, 20]


def _tags(value: list[str]) -> list[str]:
    cleaned = [t.strip() for t in value if t.strip()]
    if any(len(t) > 40 for t in cleaned):
        raise ValueError("a tag has at most 40 characters")
    return list(dict.fromkeys(cleaned))


class FactorBody(BaseModel):
    """What a factor is made of (shared by create and update)."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=4000)
    expression: str | None = Field(None, min_length=1, max_length=20000)
    code: str | None = Field(None, min_length=1, max_length=100_000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    is_public: bool = False
    dataset_id: str | None = Field(
        None, max_length=32, description="check the fields against this dataset's latest version"
    )

    _clean_tags = field_validator("tags")(_tags)


class FactorCreate(FactorBody):
    """A new factor: ``expression`` for kind expression, ``code`` for kind python."""

    name: str = Field(pattern=NAME_PATTERN, description="letters, digits, _; referenced as $$name")
    kind: FactorKind = "expression"

    @model_validator(mode="after")
    def _source_matches_kind(self) -> FactorCreate:
        if self.kind == "expression" and (self.expression is None or self.code is not None):
            raise ValueError("an expression factor needs 'expression' and no 'code'")
        if self.kind == "python" and (self.code is None or self.expression is not None):
            raise ValueError("a python factor needs 'code' and no 'expression'")
        return self


class FactorUpdate(BaseModel):
    """Fields to change; the kind is fixed at creation."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, pattern=NAME_PATTERN)
    description: str | None = Field(None, max_length=4000)
    expression: str | None = Field(None, min_length=1, max_length=20000)
    code: str | None = Field(None, min_length=1, max_length=100_000)
    tags: list[str] | None = Field(None, max_length=20)
    is_public: bool | None = None
    dataset_id: str | None = Field(None, max_length=32)

    @field_validator("tags")
    @classmethod
    def _clean(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _tags(value)


class FactorValidate(BaseModel):
    """An expression to check without saving it."""

    model_config = ConfigDict(extra="forbid")

    expression: str = Field(min_length=1, max_length=20000)
    dataset_id: str | None = Field(None, max_length=32)


class CloneBody(BaseModel):
    """Optional new name of the copy (default: the original's name)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, pattern=NAME_PATTERN)


class FactorOut(BaseModel):
    """A factor as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    owner_id: str
    name: str
    description: str
    kind: FactorKind
    expression: str | None
    code: str | None
    tags: list[str]
    is_public: bool
    dependencies: list[str]
    lookback: int | None
    cloned_from: str | None
    usage_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    is_favourite: bool = False


class DataSelection(BaseModel):
    """Which data: a dataset version, symbols (all when omitted) and an inclusive date range."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, max_length=32)
    version: int | None = Field(None, ge=1)
    symbols: list[str] | None = Field(None, min_length=1, max_length=MAX_SYMBOLS)
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Any:
        if self.start and self.end and self.start > self.end:
            raise ValueError("start must not be after end")
        return self


class ComputeRequest(DataSelection):
    """Exactly one of ``indicator`` (with ``params``), ``expression`` or ``factor_id``."""

    indicator: str | None = Field(None, max_length=60)
    params: dict[str, Any] = Field(default_factory=dict)
    expression: str | None = Field(None, min_length=1, max_length=20000)
    factor_id: str | None = Field(None, max_length=32)
    limit: int = Field(20, ge=1, le=10000, description="rows returned (preview size)")
    offset: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _one_target(self) -> ComputeRequest:
        given = [x for x in (self.indicator, self.expression, self.factor_id) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'indicator', 'expression' or 'factor_id'")
        if self.params and self.indicator is None:
            raise ValueError("'params' apply to an indicator only")
        return self


class EvaluateRequest(DataSelection):
    """Exactly one of ``factor_id``, ``expression`` or ``feature_set``."""

    factor_id: str | None = Field(None, max_length=32)
    expression: str | None = Field(None, min_length=1, max_length=20000)
    feature_set: str | None = Field(None, max_length=40)
    horizons: list[int] = Field(
        default_factory=lambda: list(DEFAULT_HORIZONS), min_length=1, max_length=10
    )
    quantiles: int = Field(5, ge=2, le=20)
    label: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description=(
            "What the factor should predict, as an expression that may read the future "
            "(e.g. Qlib's 'Ref($close, -2) / Ref($close, -1) - 1'). Horizon h compares the "
            "factor on day t with the label on day t + h - 1. Default: the h-day forward "
            "return of close."
        ),
    )

    @field_validator("horizons")
    @classmethod
    def _horizons(cls, value: list[int]) -> list[int]:
        if any(h < 1 or h > 250 for h in value):
            raise ValueError("horizons are trading days in [1, 250]")
        return sorted(set(value))

    @model_validator(mode="after")
    def _one_target(self) -> EvaluateRequest:
        given = [x for x in (self.factor_id, self.expression, self.feature_set) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'factor_id', 'expression' or 'feature_set'")
        return self


class EvaluationOut(BaseModel):
    """An evaluation row (``result`` only on the single-item view)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    owner_id: str
    factor_id: str | None
    feature_set: str | None
    expression: str | None
    dataset_id: str
    dataset_version: int
    job_id: str | None
    params: dict[str, Any]
    status: str
    summary: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime
