"""Every HTTP endpoint the client calls, in one table (checked against ``/openapi.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Endpoint:
    """One operation of the public API: method and path template."""

    method: str
    path: str

    def url(self, **params: str) -> str:
        """The path with its ``{name}`` parameters filled in (URL-quoted)."""
        return self.path.format(**{k: quote(str(v), safe="") for k, v in params.items()})


SIGN_IN = Endpoint("POST", "/api/auth/token")
REFRESH = Endpoint("POST", "/api/auth/refresh")
ME = Endpoint("GET", "/api/auth/me")
CREATE_TOKEN = Endpoint("POST", "/api/auth/tokens")
HEALTH = Endpoint("GET", "/api/health")

DATASETS = Endpoint("GET", "/api/datasets")
DATASET = Endpoint("GET", "/api/datasets/{dataset_id}")
DATASET_PREVIEW = Endpoint("GET", "/api/datasets/{dataset_id}/preview")
DATASET_EXPORT = Endpoint("GET", "/api/datasets/{dataset_id}/export")
IMPORT = Endpoint("POST", "/api/imports")
IMPORT_STATUS = Endpoint("GET", "/api/imports/{import_id}")
OHLCV = Endpoint("GET", "/api/charts/ohlcv")

COMPUTE = Endpoint("POST", "/api/indicators/compute")
EVALUATE = Endpoint("POST", "/api/factors/evaluate")
EVALUATION = Endpoint("GET", "/api/factors/evaluations/{evaluation_id}")

BACKTEST_RUN = Endpoint("POST", "/api/backtests")
BACKTESTS = Endpoint("GET", "/api/backtests")
BACKTEST = Endpoint("GET", "/api/backtests/{backtest_id}")
BACKTEST_EQUITY = Endpoint("GET", "/api/backtests/{backtest_id}/equity")
BACKTEST_DRAWDOWN = Endpoint("GET", "/api/backtests/{backtest_id}/drawdown")
BACKTEST_TRADES = Endpoint("GET", "/api/backtests/{backtest_id}/trades")
BACKTEST_POSITIONS = Endpoint("GET", "/api/backtests/{backtest_id}/positions")
BACKTEST_EXPORT = Endpoint("GET", "/api/backtests/{backtest_id}/export/{fmt}")

TASKS = Endpoint("GET", "/api/tasks")
TASK = Endpoint("GET", "/api/tasks/{job_id}")
TASK_LOGS = Endpoint("GET", "/api/tasks/{job_id}/logs")
TASK_CANCEL = Endpoint("POST", "/api/tasks/{job_id}/cancel")
TASK_PAUSE = Endpoint("POST", "/api/tasks/{job_id}/pause")
TASK_RESUME = Endpoint("POST", "/api/tasks/{job_id}/resume")
TASK_TICKET = Endpoint("POST", "/api/tasks/{job_id}/ws-ticket")

ALL: tuple[Endpoint, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Endpoint))

TASK_EVENTS_WS = "/ws/tasks/{job_id}"
