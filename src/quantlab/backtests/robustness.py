"""Robustness checks: ±10 % parameter sensitivity and walk-forward windows.

A completed backtest whose request opts in (``robustness``) runs its variants through the
engine. A small run (:func:`small_enough`) runs them in its own job, in process (they are
engine runs of milliseconds on data already loaded). A large one enqueues one
``backtests.run`` job per variant, owned by the same user, with a child row pointing back
at it (``parent_id``, ``variant``); no job waits on another: the child that ends last (or
any child ending after the others, which gives the same answer) reads every child's results.
Either way the parent's ``robustness.json`` and its sensitivity / walk-forward findings in
``diagnostics.json`` are written. Scores are annualised Sharpe ratios of daily returns.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.backtests import results
from quantlab.backtests.models import Backtest
from quantlab.engine import expr, runner
from quantlab.engine.backtest import diagnostics as diag
from quantlab.engine.backtest import metrics as m
from quantlab.engine.data import Panel
from quantlab.engine.expr.ast import Call, Node, format_number, walk
from quantlab.engine.expr.operators import OPERATORS
from quantlab.engine.spec import RunSpec, ScoresStrategy, WalkForward, expressions
from quantlab.platform import audit
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.context import write_atomic
from quantlab.platform.jobs.models import Job
from quantlab.platform.jsonsafe import json_safe

BacktestRequest = RunSpec

MAX_PARAMETERS = 8
STEP = 0.10
WINDOW_PARAMS = frozenset({"window", "span", "offset", "lag"})
FINDING_TITLES = ("Parameter sensitivity", "Walk-forward efficiency")
FINISHED = ("completed", "failed", "cancelled")
IN_PROCESS_CELLS = 20_000_000  # days × symbols × variants run inside the parent's job


@dataclass(frozen=True)
class Child:
    """One child run: what it varies (JSON) and the request it runs."""

    variant: dict[str, Any]
    request: BacktestRequest


def _int_moves(value: float, low: int) -> list[int]:
    """``value`` ±10 %, rounded half up, at least one step, not below ``low``."""
    base = int(value)
    up = max(math.floor(base * (1 + STEP) + 0.5), base + 1)
    down = min(math.floor(base * (1 - STEP) + 0.5), base - 1)
    return [v for v in (up, down) if v >= low]


def _float_moves(value: float) -> list[float]:
    return [round(value * (1 + STEP), 10), round(value * (1 - STEP), 10)]


def _window_values(texts: dict[str, str]) -> list[float]:
    """Distinct window-like operator parameters of the expressions, in order of appearance."""
    seen: dict[float, None] = {}
    for text in texts.values():
        for node in walk(expr.parse(text)):
            if isinstance(node, Call):
                kinds = OPERATORS[node.op].params
                for kind, value in zip(kinds, node.params, strict=False):
                    if kind in WINDOW_PARAMS and value >= 1:
                        seen.setdefault(value, None)
    return list(seen)


def _replace_window(node: Node, old: float, new: float) -> Node:
    if not isinstance(node, Call):
        return node
    kinds = OPERATORS[node.op].params
    params = tuple(
        new if kind in WINDOW_PARAMS and value == old else value
        for kind, value in zip(kinds, node.params, strict=False)
    )
    args = tuple(_replace_window(a, old, new) for a in node.args)
    return Call(node.op, args, params)


def sensitivity_children(req: BacktestRequest) -> list[Child]:
    """Two children per numeric parameter (up and down), at most :data:`MAX_PARAMETERS`."""
    base = req.model_copy(update={"robustness": None})
    texts = expressions(base, resolved=True)
    strategy = base.strategy.model_dump(mode="json")
    execution = base.execution.model_dump(mode="json")
    out: list[Child] = []
    params = 0

    def add(name: str, old: float, new: float, update: dict[str, Any]) -> None:
        data = base.model_dump(mode="json")
        data.update(update)
        variant = {"kind": "sensitivity", "parameter": name, "base": old, "value": new}
        out.append(Child(variant, BacktestRequest.model_validate(data)))

    for value in _window_values(texts):
        if params >= MAX_PARAMETERS:
            break
        params += 1
        for new in _int_moves(value, 1):
            moved = dict(strategy)
            for path, text in texts.items():
                node = _replace_window(expr.parse(text), value, float(new))
                moved[path.split(".", 1)[1]] = str(node)
            add(f"window={format_number(value)}", value, new, {"strategy": moved})
    for label, value, moves, update in _indicator_moves(base):
        if params >= MAX_PARAMETERS:
            break
        params += 1
        for new in moves:
            add(label, value, new, update(new))
    if isinstance(base.strategy, ScoresStrategy):
        s = base.strategy
        for name, count, low in (("top_k", s.top_k, max(s.n_drop, 1)), ("n_drop", s.n_drop, 0)):
            if params >= MAX_PARAMETERS:
                break
            params += 1
            for moved_to in _int_moves(count, low):
                if name == "top_k" or moved_to <= s.top_k:
                    add(name, count, moved_to, {"strategy": {**strategy, name: moved_to}})
    for name in ("stop_loss_value", "take_profit_value"):
        level = execution.get(name)
        if level and params < MAX_PARAMETERS:
            params += 1
            for level_to in _float_moves(float(level)):
                add(
                    f"execution.{name}",
                    level,
                    level_to,
                    {"execution": {**execution, name: level_to}},
                )
    return out


def _indicator_moves(base: RunSpec) -> list[tuple[str, float, list[Any], Any]]:
    """Each numeric parameter an indicator sets (a number, or a named parameter it reads),
    with its ±10 % values inside the catalog's range and how a child request sets one."""
    from quantlab.engine.indicators import get_indicator

    indicators = {k: d.model_dump(mode="json") for k, d in base.indicators.items()}
    out: list[tuple[str, float, list[Any], Any]] = []
    seen: set[str] = set()
    for name, d in indicators.items():
        found = {p.name: p for p in get_indicator(d["indicator"]).params}
        for key, raw in d["params"].items():
            spec = found.get(key)
            if spec is None:
                continue
            if isinstance(raw, str):  # "{ref}": the child moves the parameter itself
                ref = raw[1:-1]
                if ref in seen:
                    continue
                seen.add(ref)
                label, value = ref, float(base.parameters[ref])
                update = partial(_set_parameter, dict(base.parameters), ref)
            else:
                label, value = f"indicators.{name}.{key}", float(raw)
                update = partial(_set_indicator_param, indicators, name, key)
            if spec.type == "int":
                moves: list[Any] = _int_moves(value, max(1, int(spec.minimum)))
            else:
                moves = _float_moves(value)
            moves = [v for v in moves if spec.minimum <= v <= spec.maximum]
            if moves:
                out.append((label, value, moves, update))
    return out


def _set_parameter(parameters: dict[str, float], ref: str, new: Any) -> dict[str, Any]:
    return {"parameters": {**parameters, ref: new}}


def _set_indicator_param(
    indicators: dict[str, dict[str, Any]], name: str, key: str, new: Any
) -> dict[str, Any]:
    moved = {**indicators[name], "params": {**indicators[name]["params"], key: new}}
    return {"indicators": {**indicators, name: moved}}


def walk_forward_children(
    req: BacktestRequest, calendar: np.ndarray, wf: WalkForward
) -> list[Child]:
    """Rolling windows over ``calendar`` (the parent's simulated days): in-sample length
    ``a`` and out-of-sample length ``b`` with ``a / (a + b) = in_sample``, stepping by ``b``,
    the last window ending on the last day."""
    n = len(calendar)
    ratio = wf.in_sample / (1.0 - wf.in_sample)
    oos = int(n // (wf.windows + ratio))
    is_len = n - wf.windows * oos
    if oos < 5 or is_len < 5:
        return []
    base = req.model_copy(update={"robustness": None}).model_dump(mode="json")
    out = []
    for i in range(wf.windows):
        lo, split, hi = i * oos, i * oos + is_len, i * oos + is_len + oos - 1
        variant = {
            "kind": "walk_forward",
            "window": i + 1,
            "start": str(calendar[lo]),
            "split": str(calendar[split]),
            "end": str(calendar[hi]),
        }
        data = {**base, "start": variant["start"], "end": variant["end"]}
        out.append(Child(variant, BacktestRequest.model_validate(data)))
    return out


async def enqueue_children(
    session: AsyncSession, parent: Backtest, calendar: np.ndarray
) -> list[str]:
    """Add the child rows and their pending jobs for ``parent`` (the caller commits)."""
    req = RunSpec.from_stored(parent.request)
    children = _children(req, calendar)
    job_ids = []
    for child in children:
        row = Backtest(
            owner_id=parent.owner_id,
            name=f"{parent.name} · {_label(child.variant)}"[:120],
            dataset_id=parent.dataset_id,
            dataset_version=parent.dataset_version,
            strategy_kind=parent.strategy_kind,
            request=child.request.model_dump(mode="json"),
            engine_version=parent.engine_version,
            seed=parent.seed,
            incomplete=False,
            parent_id=parent.id,
            variant=child.variant,
        )
        session.add(row)
        await session.flush()
        job = await job_service.enqueue(
            session, job_type="backtests.run", params={"backtest_id": row.id},
            owner_id=parent.owner_id,
        )  # fmt: skip
        row.job_id = job.id
        job_ids.append(job.id)
    audit.record(
        session,
        "backtest.robustness",
        actor_id=parent.owner_id,
        resource_type="backtest",
        resource_id=parent.id,
        details={"children": len(children), "job_ids": job_ids},
    )
    return job_ids


def _label(variant: dict[str, Any]) -> str:
    if variant["kind"] == "sensitivity":
        return f"{variant['parameter']} {format_number(variant['base'])}→{variant['value']}"
    return f"walk-forward {variant['window']} ({variant['start']}…{variant['end']})"


async def children_of(session: AsyncSession, parent_id: str) -> list[Backtest]:
    """A run's robustness children, oldest first."""
    rows = await session.scalars(
        select(Backtest).where(Backtest.parent_id == parent_id).order_by(Backtest.created_at)
    )
    return list(rows)


def _sharpe(returns: np.ndarray) -> float:
    return float(m.sharpe_ratio(returns))


def _children(req: RunSpec, calendar: np.ndarray) -> list[Child]:
    if req.robustness is None:
        return []
    children = sensitivity_children(req) if req.robustness.sensitivity else []
    if req.robustness.walk_forward is not None:
        children += walk_forward_children(req, calendar, req.robustness.walk_forward)
    return children


def small_enough(req: RunSpec, calendar: np.ndarray, instruments: np.ndarray) -> bool:
    """True when every variant together stays under :data:`IN_PROCESS_CELLS` (and none
    is a code strategy, whose runs go through the sandbox)."""
    assert req.robustness is not None
    if req.robustness.run_as != "auto":
        return req.robustness.run_as == "in_process"
    if req.strategy.kind == "code":
        return False
    variants = len(_children(req, calendar))
    return len(calendar) * len(instruments) * max(variants, 1) <= IN_PROCESS_CELLS


def _window_pair(
    variant: dict[str, Any], dates: np.ndarray, returns: np.ndarray
) -> tuple[float, float]:
    split = dates.astype(str) >= variant["split"]
    return _sharpe(returns[~split]), _sharpe(returns[split])


def run_in_process(
    path: Path, req: RunSpec, panel: Panel, calendar: np.ndarray, parent: runner.RunResult
) -> int:
    """Run every variant of ``req`` on ``panel`` here and write the findings; returns the
    number of variants."""
    children = _children(req, calendar)
    cache = expr.ExprCache(128 * 2**20)
    if panel.meta.get("version_key") is None:
        panel = Panel(panel.calendar, panel.instruments, panel.fields, panel.first, panel.last,
                      {**panel.meta, "version_key": f"robustness-{id(panel)}"})  # fmt: skip
    runs: list[tuple[dict[str, float], float]] = [({}, _metric(parent.metrics))]
    windows: list[tuple[float, float]] = []
    detail = []
    for child in children:
        variant = dict(child.variant)
        out = runner.run(child.request, panel, cache=cache, diagnostics=False)
        item: dict[str, Any] = {"status": "completed", "in_process": True}
        if variant["kind"] == "sensitivity":
            score = _metric(out.metrics)
            runs.append(({variant["parameter"]: float(variant["value"])}, score))
            item["sharpe_ratio"] = score
        else:
            pair = _window_pair(variant, out.dates, out.returns)
            windows.append(pair)
            item["in_sample_sharpe"], item["out_of_sample_sharpe"] = pair
        detail.append({**variant, **item})
    _write_findings(path, runs, windows, detail)
    return len(children)


def _metric(metrics: dict[str, Any]) -> float:
    value = metrics.get("sharpe_ratio")
    return math.nan if value is None else float(value)


def _write_findings(
    path: Path,
    runs: list[tuple[dict[str, float], float]],
    windows: list[tuple[float, float]],
    detail: list[dict[str, Any]],
) -> None:
    findings = [
        f
        for f in results.read_json(path, "diagnostics")
        if not (f.get("diagnostic") == "overfitting" and f.get("title") in FINDING_TITLES)
    ]
    if len(runs) > 1:
        found = diag.parameter_sensitivity(runs).to_dict()
        found["evidence"]["variants"] = [d for d in detail if d.get("kind") == "sensitivity"]
        findings.append(found)
    if windows:
        found = diag.walk_forward(windows).to_dict()
        found["evidence"]["windows_detail"] = [d for d in detail if d["kind"] == "walk_forward"]
        findings.append(found)
    findings = json_safe(findings)
    write_atomic(path / "diagnostics.json", json.dumps(findings, allow_nan=False).encode())
    summary = json_safe({"base_sharpe": runs[0][1], "children": detail})
    write_atomic(path / "robustness.json", json.dumps(summary, allow_nan=False).encode())


async def job_statuses(session: AsyncSession, rows: list[Backtest]) -> dict[str, str]:
    """Each row's status, read from its job."""
    ids = [r.job_id for r in rows if r.job_id]
    if not ids:
        return {}
    found = dict((await session.execute(select(Job.id, Job.status).where(Job.id.in_(ids)))).all())
    return {r.id: str(found.get(r.job_id or "", "pending")) for r in rows}


async def collect(session: AsyncSession, data_dir: Path, parent_id: str) -> bool:
    """Once every child has ended (its outcome recorded: ``finished_at``), store the
    robustness findings on the parent (idempotent). Returns True when they were written."""
    parent = await session.get(Backtest, parent_id)
    children = await children_of(session, parent_id)
    if parent is None or not parent.result_dir or not children:
        return False
    if any(c.finished_at is None for c in children):
        return False
    statuses = await job_statuses(session, children)
    path = data_dir / parent.result_dir
    base = results.read_json(path, "metrics").get("sharpe_ratio")
    runs: list[tuple[dict[str, float], float]] = [({}, math.nan if base is None else base)]
    windows: list[tuple[float, float]] = []
    detail = []
    for child in children:
        variant = dict(child.variant or {})
        ok = bool(child.result_dir) and not child.incomplete and child.error is None
        status = "completed" if ok else statuses.get(child.id, "failed")
        item: dict[str, Any] = {"id": child.id, "job_id": child.job_id, "status": status}
        if variant.get("kind") == "sensitivity" and ok:
            score = results.read_json(data_dir / str(child.result_dir), "metrics")["sharpe_ratio"]
            score = math.nan if score is None else float(score)
            runs.append(({variant["parameter"]: float(variant["value"])}, score))
            item["sharpe_ratio"] = score
        elif variant.get("kind") == "walk_forward" and ok:
            frame = results.read_frame(data_dir / str(child.result_dir), "series")
            returns = frame["returns"].to_numpy(dtype=np.float64)
            pair = _window_pair(variant, frame["date"].to_numpy(), returns)
            windows.append(pair)
            item["in_sample_sharpe"], item["out_of_sample_sharpe"] = pair
        detail.append({**variant, **item})
    _write_findings(path, runs, windows, detail)
    return True
