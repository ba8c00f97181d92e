"""The strategy library's pure parts: system templates, named parameters with linked
constraints, structural checks and plain-language descriptions (zh-CN and en).

Public API::

    TEMPLATES: dict[key, Template]           # the seeded system templates
    resolve(params, constraints, overrides)  # checked parameter values
    apply(body, params, values)              # a spec body with the values written in
    check(spec, fields=None) -> [problem]    # structural problems, with fixes
    describe(spec) -> {"zh-CN": ..., "en": ...}
"""

from quantlab.engine.library.checks import check
from quantlab.engine.library.describe import describe
from quantlab.engine.library.params import (
    Constraint,
    ParameterProblem,
    ParamSpec,
    Text,
    apply,
    check_schema,
    resolve,
)
from quantlab.engine.library.templates import CATEGORIES, TEMPLATES, Template

__all__ = [
    "CATEGORIES",
    "TEMPLATES",
    "Constraint",
    "ParamSpec",
    "ParameterProblem",
    "Template",
    "Text",
    "apply",
    "check",
    "check_schema",
    "describe",
    "resolve",
]
