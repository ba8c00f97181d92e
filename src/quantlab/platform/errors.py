"""One error hierarchy and one catalog of error codes for the whole platform.

Domains raise subclasses of :class:`QuantlabError` (or use :func:`register_error_code`
for new codes); one handler in :mod:`quantlab.platform.handlers` turns them into the
error envelope. ``GET /api/meta/error-codes`` serves :data:`ERROR_CATALOG`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """A catalogued error: stable code, HTTP status and what it means."""

    code: str
    status: int
    description: str


ERROR_CATALOG: dict[str, ErrorCode] = {}


def register_error_code(code: str, status: int, description: str) -> ErrorCode:
    """Add a code to the catalog (idempotent for identical definitions)."""
    existing = ERROR_CATALOG.get(code)
    entry = ErrorCode(code, status, description)
    if existing is not None and existing != entry:
        raise ValueError(f"error code {code} registered twice with different meanings")
    ERROR_CATALOG[code] = entry
    return entry


class QuantlabError(Exception):
    """Base of every error a client may see; carries code, message, status and details."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500
    description: ClassVar[str] = "An unexpected server error; quote the correlation id."
    # False for 5xx statuses a client's input causes (e.g. the sandbox's EXECUTION_ERROR):
    # the domain logs those itself, so logs and alerts on server faults stay clean.
    server_fault: ClassVar[bool] = True
    headers: dict[str, str] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            register_error_code(cls.code, cls.status, cls.description)

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.description
        self.details = details
        if code is not None:
            if code not in ERROR_CATALOG:
                raise ValueError(f"unregistered error code {code}")
            self.code = code  # type: ignore[misc]
            self.status = status or ERROR_CATALOG[code].status  # type: ignore[misc]
        elif status is not None:
            self.status = status  # type: ignore[misc]
        self.headers = headers
        super().__init__(self.message)


register_error_code(QuantlabError.code, QuantlabError.status, QuantlabError.description)


class BadRequest(QuantlabError):
    code = "BAD_REQUEST"
    status = 400
    description = "The request is malformed."


class MalformedJSON(QuantlabError):
    code = "MALFORMED_JSON"
    status = 400
    description = "The request body is not valid JSON."


class Unauthorized(QuantlabError):
    code = "UNAUTHORIZED"
    status = 401
    description = "Authentication is required or the credentials are invalid."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(QuantlabError):
    code = "FORBIDDEN"
    status = 403
    description = "You are signed in but not allowed to do this."


class NotFound(QuantlabError):
    code = "NOT_FOUND"
    status = 404
    description = "The resource does not exist or is not visible to you."


class MethodNotAllowed(QuantlabError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    description = "The HTTP method is not supported on this path."


class Conflict(QuantlabError):
    code = "CONFLICT"
    status = 409
    description = "The request conflicts with the current state of the resource."


class PayloadTooLarge(QuantlabError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    description = "The request body exceeds the configured limit."


class UnsupportedMediaType(QuantlabError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    description = "The request body's Content-Type is not accepted here."


class ValidationFailed(QuantlabError):
    code = "VALIDATION_ERROR"
    status = 422
    description = "One or more fields are invalid; details lists each with its path."


class RateLimited(QuantlabError):
    code = "RATE_LIMITED"
    status = 429
    description = "Too many requests; retry after the time given in Retry-After."


class ServiceUnavailable(QuantlabError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    description = "A required service is unavailable; retry later."
