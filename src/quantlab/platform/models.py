"""Imports every table so ``Base.metadata`` is complete (used by Alembic and tests)."""

from __future__ import annotations

import importlib

from quantlab.platform.db import Base

# Each domain's models module, in dependency order. Add new domains here.
MODEL_MODULES = [
    "quantlab.platform.audit",
    "quantlab.auth.models",
    "quantlab.onboarding.models",
    "quantlab.platform.jobs.models",
    "quantlab.tasks.models",
    "quantlab.datasets.models",
    "quantlab.factors.models",
    "quantlab.sandbox.models",
    "quantlab.backtests.models",
    "quantlab.ml.models",
]

for _name in MODEL_MODULES:
    importlib.import_module(_name)

metadata = Base.metadata
