"""Request and response bodies of the factors and indicators API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from quantlab.platform.envelope import IsoDate, JsonInt, VersionNumber, json_number

FactorKind = Literal["expression", "python", "model"]
#: kinds a client writes; a ``model`` factor is made from a model run (POST /api/models/{id}/factor)
WritableKind = Literal["expression", "python"]
NAME_PATTERN = r"^[^\W\d]\w{0,79}$"
MAX_SYMBOLS = 500
DEFAULT_HORIZONS = [1, 5, 10, 20]


Tag = Annotated[str, Field(max_length=40, description="blank tags are dropped")]
Horizon = Annotated[
    int, Field(ge=1, le=250, description="trading days ahead"), BeforeValidator(json_number)
]


def _tags(value: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in value if t.strip()))


def exactly_one_of(*names: str, only_with: dict[str, str] | None = None) -> dict[str, Any]:
    """JSON Schema ``oneOf`` saying exactly one of ``names`` is given (not null).

    ``only_with`` maps a field to the one of ``names`` it may accompany (e.g. ``params``
    only with ``indicator``): with any other choice it must be absent or empty.
    """
    branches = []
    for name in names:
        props: dict[str, Any] = {n: {"type": "null"} for n in names if n != name}
        props[name] = {"not": {"type": "null"}}
        for extra, owner in (only_with or {}).items():
            if owner != name:
                props[extra] = {"maxProperties": 0}
        branches.append({"required": [name], "properties": props})
    return {"oneOf": branches}


class FactorBody(BaseModel):
    """What a factor is made of (shared by create and update)."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=4000)
    expression: str | None = Field(None, min_length=1, max_length=20000)
    code: str | None = Field(None, min_length=1, max_length=100_000)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    is_public: StrictBool = False
    dataset_id: str | None = Field(
        None, max_length=32, description="check the fields against this dataset's latest version"
    )

    _clean_tags = field_validator("tags")(_tags)


class FactorCreate(FactorBody):
    """A new factor: ``expression`` for kind expression, ``code`` for kind python."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["expression"],
                    "properties": {
                        "kind": {"const": "expression"},
                        "expression": {"type": "string"},
                        "code": {"type": "null"},
                    },
                },
                {
                    "required": ["kind", "code"],
                    "properties": {
                        "kind": {"const": "python"},
                        "code": {"type": "string"},
                        "expression": {"type": "null"},
                    },
                },
            ]
        }
    )

    name: str = Field(pattern=NAME_PATTERN, description="letters, digits, _; referenced as $$name")
    kind: WritableKind = "expression"

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
    tags: list[Tag] | None = Field(None, max_length=20)
    is_public: StrictBool | None = None
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
    model_run_id: str | None = None
    usage_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    is_favourite: bool = False


class DataSelection(BaseModel):
    """Which data: a dataset version, symbols (all when omitted) and an inclusive date range."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, max_length=32)
    version: VersionNumber | None = None
    symbols: list[str] | None = Field(None, min_length=1, max_length=MAX_SYMBOLS)
    start: IsoDate | None = None
    end: IsoDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Any:
        if self.start and self.end and self.start > self.end:
            raise ValueError("start must not be after end")
        return self


class ComputeRequest(DataSelection):
    """Exactly one of ``indicator`` (with ``params``), ``expression`` or ``factor_id``."""

    model_config = ConfigDict(
        json_schema_extra=exactly_one_of(
            "indicator", "expression", "factor_id", only_with={"params": "indicator"}
        )
    )

    indicator: str | None = Field(None, max_length=60)
    params: dict[str, Any] = Field(default_factory=dict)
    expression: str | None = Field(None, min_length=1, max_length=20000)
    factor_id: str | None = Field(None, max_length=32)
    limit: JsonInt = Field(20, ge=1, le=10000, description="rows returned (preview size)")
    offset: JsonInt = Field(0, ge=0)

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

    model_config = ConfigDict(
        json_schema_extra=exactly_one_of("factor_id", "expression", "feature_set")
    )

    factor_id: str | None = Field(None, max_length=32)
    expression: str | None = Field(None, min_length=1, max_length=20000)
    feature_set: str | None = Field(None, max_length=40)
    horizons: list[Horizon] = Field(
        default_factory=lambda: list(DEFAULT_HORIZONS), min_length=1, max_length=10
    )
    quantiles: JsonInt = Field(5, ge=2, le=20)
    dated_universe: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="a dated universe of the dataset (e.g. csi300): a symbol enters the "
        "cross-section (IC, quantiles, turnover) only on days it was a member",
    )
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


# --- response shapes ---------------------------------------------------------------------


class RecentFactorOut(FactorOut):
    """A factor with how often and when the caller last used it."""

    my_uses: int
    my_last_used_at: datetime | None


class IndicatorParamOut(BaseModel):
    """One tunable parameter of an indicator."""

    name: str
    default: int | float
    min: int | float
    max: int | float
    type: Literal["int", "float"]
    description: str


class IndicatorOut(BaseModel):
    """A catalog entry: inputs, outputs, parameters, formula."""

    name: str
    zh_name: str
    en_name: str
    category: str
    source: str
    inputs: list[str]
    outputs: list[str]
    params: list[IndicatorParamOut]
    description: str
    formula: str


class Availability(BaseModel):
    """Whether a dataset's latest version has the fields an indicator needs."""

    dataset_id: str
    available: bool
    reason: str | None
    missing: list[str]


class IndicatorDetail(IndicatorOut):
    """A catalog entry, with its availability on a dataset when one was named."""

    availability: Availability | None = None


class ComputeOut(BaseModel):
    """A page of long rows ``[date, symbol, output...]`` of an indicator or expression."""

    indicator: str | None = None
    params: dict[str, int | float] | None = None
    factor_id: str | None = None
    expression: str | None = None
    dataset_id: str
    version: int
    outputs: list[str]
    columns: list[str]
    rows: list[dict[str, str | float | None]] = Field(description="date, symbol, each output")
    total_rows: int
    offset: int
    truncated: bool


class ExpressionInfo(BaseModel):
    """A checked expression: its expansion, canonical form, fields and look-back."""

    expression: str
    expanded: str
    canonical: str
    fields: list[str]
    dependencies: list[str]
    lookback: int | None


class FeatureSetOut(BaseModel):
    """A named feature set: its size and the longest look-back of its features."""

    name: str
    features: int
    lookback: int | None


class Feature(BaseModel):
    """One named expression of a feature set."""

    name: str
    expression: str


class FeatureSetDetail(BaseModel):
    """The features of a named set."""

    name: str
    features: list[Feature]


class EvaluationStarted(BaseModel):
    """An evaluation queued as a job."""

    id: str = Field(description="the evaluation; poll GET /api/factors/evaluations/{id}")
    job_id: str
    status: str


class EvaluationJob(BaseModel):
    """Progress of the job behind an evaluation."""

    id: str
    status: str
    progress: float | None
    stage: str | None
    error: str | None


class EvaluationDetail(EvaluationOut):
    """An evaluation with its job's progress and, once completed, its analysis."""

    job: EvaluationJob | None
    result: dict[str, Any] | None = Field(
        description="IC/Rank IC series and summaries, quantile returns, decay, turnover"
    )
