"""Errors of the onboarding domain."""

from __future__ import annotations

from quantlab.platform.errors import QuantlabError


class GuideNotFound(QuantlabError):
    code = "GUIDE_NOT_FOUND"
    status = 404
    description = "No guide with this id."
