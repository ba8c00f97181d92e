"""Input guards shared by every route: NUL bytes (which PostgreSQL cannot store in text)
and JSON nested too deep are refused before any handler runs or anything is stored.

The middleware (:mod:`quantlab.platform.middleware`) applies :func:`check_query`,
:func:`check_path` and :func:`check_body` to every request; form fields of multipart
bodies, which only the form parser sees, are checked by :func:`reject_nul_in_forms`, an
application-wide dependency."""

from __future__ import annotations

import json
import re

from fastapi import Request
from starlette.datastructures import UploadFile

from quantlab.platform.errors import BadRequest, QuantlabError, ValidationFailed

NUL_MESSAGE = "NUL characters (\\u0000) are not accepted"
# JSON string tokens (unrolled-loop form: fast in the C regex engine) and structural brackets
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class NulCharacter(ValidationFailed):
    """422 for a NUL character anywhere in the input."""


class JsonTooDeep(BadRequest):
    code = "JSON_TOO_DEEP"
    status = 400
    description = "The JSON body nests arrays/objects deeper than the configured limit."


class RequestTimeout(QuantlabError):
    code = "REQUEST_TIMEOUT"
    status = 408
    description = "The request body did not arrive in time."


def _nul(location: str) -> NulCharacter:
    return NulCharacter(
        f"{NUL_MESSAGE} in the {location}",
        details=[{"field": None, "location": location, "path": [location],
                  "message": NUL_MESSAGE, "type": "nul_character"}],
    )  # fmt: skip


def check_path(path: str) -> None:
    """Refuse a (percent-decoded) path holding NUL."""
    if "\x00" in path:
        raise _nul("path")


def check_query(query: bytes) -> None:
    """Refuse a query string holding NUL, raw or percent-encoded."""
    if query and (b"%00" in query or b"\x00" in query):
        raise _nul("query")


def check_json(body: bytes, max_depth: int) -> None:
    """Refuse JSON nested deeper than ``max_depth`` or holding NUL in any string.

    Only string tokens and brackets are visited (cheap, no full parse); bodies with fewer
    brackets than the limit or without a ``\\u0000`` escape skip the scan entirely.
    """
    if b"\x00" in body:
        raise _nul("body")
    deep = body.count(b"[") + body.count(b"{") > max_depth
    nul = b"\\u0000" in body
    if not (deep or nul):
        return
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token == b"[" or token == b"{":
            depth += 1
            if depth > max_depth:
                raise JsonTooDeep(
                    f"JSON body nests deeper than {max_depth} levels",
                    details={"max_depth": max_depth},
                )
        elif token == b"]" or token == b"}":
            depth -= 1
        elif nul and b"\\u0000" in token:
            try:
                text = json.loads(token)
            except ValueError:
                continue  # malformed: the JSON parser reports it
            if "\x00" in text:
                raise _nul("body")


def check_body(content_type: str, body: bytes, max_depth: int) -> None:
    """Guards for a buffered JSON or url-encoded body."""
    if content_type == "application/x-www-form-urlencoded":
        if b"%00" in body or b"\x00" in body:
            raise _nul("body")
    else:
        check_json(body, max_depth)


async def reject_nul_in_forms(request: Request) -> None:
    """Multipart forms: no NUL in any text field or file name (file contents may hold any
    bytes). The form is parsed once; FastAPI has already cached it for the route."""
    if not request.headers.get("content-type", "").startswith("multipart/"):
        return
    form = await request.form()
    for _, value in form.multi_items():
        text = (value.filename or "") if isinstance(value, UploadFile) else value
        if "\x00" in text:
            raise _nul("body")
