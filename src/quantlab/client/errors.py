"""The one exception the client raises, carrying the server's error envelope."""

from __future__ import annotations

from typing import Any


class QuantlabAPIError(Exception):
    """A request failed: an error envelope from the server, or no usable answer at all.

    ``code`` is the envelope's error code (``NOT_AUTHENTICATED``, ``DATASET_NOT_FOUND`` ...) or,
    when the server gave none, one of the client's own: ``UNREACHABLE`` (no connection),
    ``BAD_RESPONSE`` (not the JSON envelope), ``JOB_FAILED`` (a waited-for job failed) and
    ``STREAM_LOST`` (the server stayed away longer than the reconnect window).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "CLIENT_ERROR",
        status: int | None = None,
        correlation_id: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.correlation_id = correlation_id
        self.details = details

    def __str__(self) -> str:
        facts = [f"HTTP {self.status}" if self.status else None, self.code]
        if self.correlation_id:
            facts.append(f"correlation id {self.correlation_id}")
        return f"{self.message} ({', '.join(f for f in facts if f)})"

    @classmethod
    def from_response(cls, status: int, body: bytes, headers: Any = None) -> QuantlabAPIError:
        """The error of a failed response, read from its envelope when it has one."""
        import json

        correlation_id = headers.get("x-correlation-id") if headers is not None else None
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and "code" in error:
            return cls(
                str(error.get("message") or error["code"]),
                code=str(error["code"]),
                status=status,
                correlation_id=error.get("correlation_id") or correlation_id,
                details=error.get("details"),
            )
        if isinstance(payload, dict) and "detail" in payload:  # a framework answer
            message = str(payload["detail"])
        else:
            message = body[:200].decode("utf-8", "replace").strip() or "no body"
        return cls(message, code=f"HTTP_{status}", status=status, correlation_id=correlation_id)
