"""Pure computation on NumPy arrays: no web, database, platform or auth imports here.

The research core's public entry points (imported lazily, so ``import quantlab.engine.expr``
stays light)::

    run(spec, panel, *, start, end, benchmark=None, progress=None, checkpoint=None,
        code_runner=None, state=None) -> RunResult
    run_batch(spec, variants, panel, *, start, end, ...) -> Iterator[RunResult]
    RunSpec, migrate, spec_schema                     # quantlab.engine.spec

See :mod:`quantlab.engine.runner` and :mod:`quantlab.engine.spec`.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "run": "quantlab.engine.runner",
    "run_batch": "quantlab.engine.runner",
    "RunResult": "quantlab.engine.runner",
    "RunProgress": "quantlab.engine.runner",
    "RunSpec": "quantlab.engine.spec",
    "migrate": "quantlab.engine.spec",
    "spec_schema": "quantlab.engine.spec",
    "SpecError": "quantlab.engine.backtest.compile",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'quantlab.engine' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
