"""Input guards shared by every route: NUL bytes (which PostgreSQL cannot store in text)
and JSON nested too deep are refused before any handler runs or anything is stored.

The middleware (:mod:`quantlab.platform.middleware`) applies :func:`check_query`,
:func:`check_path` and :func:`check_body` to every request, and streams multipart bodies
through :class:`MultipartNulScanner` (text fields and part headers; file contents may hold
any bytes)."""

from __future__ import annotations

import json
import re

from python_multipart.multipart import MultipartParser

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


class MultipartNulScanner:
    """Follows a multipart body as it streams and raises 422 at the first NUL in a part's
    headers (field name, file name) or in a text field. The route's own form parser reads
    the same bytes; this one only looks, so uploads still stream."""

    def __init__(self, content_type_header: str) -> None:
        boundary = next(
            (
                p.split("=", 1)[1].strip().strip('"')
                for p in content_type_header.split(";")[1:]
                if p.strip().lower().startswith("boundary=")
            ),
            None,
        )
        self._header = b""
        self._file_part = False
        self._parser = (
            MultipartParser(
                boundary,
                {  # type: ignore[arg-type]
                    "on_part_begin": self._part_begin,
                    "on_header_value": self._header_value,
                    "on_header_end": self._header_end,
                    "on_part_data": self._part_data,
                },
            )
            if boundary
            else None
        )

    def _part_begin(self) -> None:
        self._file_part = False

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_end(self) -> None:
        header, self._header = self._header, b""
        if b"\x00" in header or b"%00" in header:
            raise _nul("body")
        if b"filename" in header.lower():
            self._file_part = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._file_part and data.find(b"\x00", start, end) >= 0:
            raise _nul("body")

    def feed(self, chunk: bytes) -> None:
        """Scan the next chunk; raises :class:`NulCharacter`. Malformed bodies are left to
        the route's parser to report."""
        if self._parser is None or not chunk:
            return
        try:
            self._parser.write(chunk)
        except NulCharacter:
            raise
        except Exception:
            self._parser = None
