"""Imports every table so ``Base.metadata`` is complete (used by Alembic and tests).

The list of model modules belongs to the composition layer (``quantlab.api.composition``).
"""

from __future__ import annotations

import importlib

from quantlab.platform.db import Base
from quantlab.platform.jobs.registry import COMPOSITION

for _name in importlib.import_module(COMPOSITION).MODEL_MODULES:
    importlib.import_module(_name)

metadata = Base.metadata
