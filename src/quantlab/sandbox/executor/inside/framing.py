"""Length-prefixed JSON frames with raw blobs, spoken between the API side and the zygote.

Stdlib only: this file is also loaded inside the sandbox. A message is a 4-byte big-endian
length, a UTF-8 JSON header, then the raw bytes of every blob the header lists under
``"blobs"`` (``[{"name": str, "size": int}, ...]``) in order. No pickle anywhere.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

_LEN = struct.Struct(">I")
MAX_HEADER_BYTES = 1 << 20


class ProtocolError(Exception):
    """The peer closed the channel or sent something that is not a frame."""


def read_exact(fd: int, size: int) -> bytes:
    """Read exactly ``size`` bytes from ``fd``; raise ProtocolError on EOF."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise ProtocolError(f"channel closed with {remaining} of {size} bytes unread")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _header_size(prefix: bytes | bytearray) -> int:
    (size,) = _LEN.unpack_from(prefix)
    if size > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {size} bytes exceeds {MAX_HEADER_BYTES}")
    return int(size)


def _decode_header(body: bytes) -> dict[str, Any]:
    try:
        header = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    return header


def read_header(fd: int) -> dict[str, Any]:
    """Read one JSON header (the blobs that follow are left on the channel)."""
    return _decode_header(read_exact(fd, _header_size(read_exact(fd, _LEN.size))))


def encode_header(header: dict[str, Any]) -> bytes:
    """Serialise ``header`` with its length prefix."""
    body = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return _LEN.pack(len(body)) + body


def parse_frame(data: bytes | bytearray) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """The header and blobs of the frame at the start of ``data``; None while incomplete.

    For readers that collect the bytes themselves (the API side awaits them on its event
    loop); raises ProtocolError like ``read_header`` for what is not a frame.
    """
    if len(data) < _LEN.size:
        return None
    start = _LEN.size + _header_size(data)
    if len(data) < start:
        return None
    header = _decode_header(bytes(data[_LEN.size : start]))
    sizes = [(str(item["name"]), int(item["size"])) for item in header.get("blobs", [])]
    if len(data) < start + sum(n for _, n in sizes):
        return None
    blobs: dict[str, bytes] = {}
    for name, n in sizes:
        blobs[name] = bytes(data[start : start + n])
        start += n
    return header, blobs


def _listed(header: dict[str, Any], blobs: dict[str, bytes]) -> bytes:
    """The encoded header with the blob list filled in."""
    return encode_header(
        {**header, "blobs": [{"name": k, "size": len(v)} for k, v in blobs.items()]}
    )


def encode_message(header: dict[str, Any], blobs: dict[str, bytes] | None = None) -> bytes:
    """``header`` (with the blob list filled in) and the blobs, as one frame."""
    blobs = blobs or {}
    return b"".join([_listed(header, blobs), *blobs.values()])


def write_message(fd: int, header: dict[str, Any], blobs: dict[str, bytes] | None = None) -> None:
    """Write ``header`` (with the blob list filled in) followed by the blobs."""
    blobs = blobs or {}
    write_all(fd, _listed(header, blobs))
    for data in blobs.values():
        write_all(fd, data)


def read_blobs(fd: int, header: dict[str, Any]) -> dict[str, bytes]:
    """Read the blobs announced by ``header`` into memory."""
    out: dict[str, bytes] = {}
    for item in header.get("blobs", []):
        out[str(item["name"])] = read_exact(fd, int(item["size"]))
    return out
