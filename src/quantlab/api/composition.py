"""The composition of the application: which domains exist.

The platform names no domain; it imports this module (by the path in
:data:`quantlab.platform.jobs.registry.COMPOSITION`) to learn which modules hold tables and
which register job types. Add a new domain here.
"""

from __future__ import annotations

# Each domain's models module, in dependency order (imported for ``Base.metadata``).
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
    "quantlab.strategies.models",
    "quantlab.ml.models",
    "quantlab.builder.models",
    "quantlab.studies.models",
]

# Every module that registers job types (imported by ``load_job_types`` in every process).
JOB_TYPE_MODULES = [
    "quantlab.platform.jobs.builtin",
    "quantlab.datasets.tasks",
    "quantlab.factors.tasks",
    "quantlab.backtests.tasks",
    "quantlab.strategies.tasks",
    "quantlab.ml.tasks",
    "quantlab.builder.tasks",
    "quantlab.studies.tasks",
]
