"""The throw-away child: harden itself, run one piece of user code, write result.json.

Runs inside the sandbox, forked from the zygote, never in the API process. Everything the
user's code can reach is its own copy of memory, so the result it writes is untrusted: the
API side validates it again. Values leave only as JSON (never pickle) or ``.npy`` files
written with ``allow_pickle=False``.
"""

from __future__ import annotations

import builtins
import io
import json
import linecache
import math
import os
import sys
import traceback
import types
from typing import Any

import policy

USER_FILENAME = "<user-code>"
MAX_LOCAL_NAMES = 1000
MAX_DEPTH = 6
MAX_STR = 10_000
EXIT_CRASHED = 70  # our own code failed before a result could be written
EXIT_OUT_OF_MEMORY = 71  # ran out of memory while writing the result


class CappedStream(io.TextIOBase):
    """Unbuffered text sink on a file descriptor that keeps the first ``cap`` bytes only."""

    def __init__(self, fd: int, cap: int) -> None:
        self._fd = fd
        self._left = cap
        self.truncated = False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:  # type: ignore[override]
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = text.encode("utf-8", "backslashreplace")
        if len(data) > self._left:
            data, self.truncated = data[: self._left], True
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
            self._left -= written
        return len(text)


def type_name(value: Any) -> str:
    """``<module.qualname>`` of the value's type: how a non-JSON value is named."""
    cls = type(value)
    module = getattr(cls, "__module__", "?")
    name = getattr(cls, "__qualname__", "?")
    return f"<{name}>" if module == "builtins" else f"<{module}.{name}>"


def json_safe(value: Any, depth: int = 0) -> Any:
    """Copy ``value`` into plain JSON types; anything else becomes its type name."""
    cls = type(value)
    if value is None or cls is bool or (cls is str and len(value) <= MAX_STR):
        return value
    if cls is int:
        return value if value.bit_length() <= 64 else type_name(value)
    if cls is float:
        if math.isfinite(value):
            return value
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return json_safe(value.item(), depth)
    if depth >= MAX_DEPTH:
        return type_name(value)
    if cls is list or cls is tuple:
        return (
            [json_safe(v, depth + 1) for v in value[:10_000]]
            if len(value) <= 10_000
            else (type_name(value))
        )
    if cls is dict and len(value) <= 10_000 and all(type(k) is str for k in value):
        return {k: json_safe(v, depth + 1) for k, v in value.items()}
    return type_name(value)


def capture_locals(namespace: dict[str, Any], hidden: set[str], cap: int) -> dict[str, Any]:
    """JSON-safe view of the user's top-level names, at most ``cap`` encoded bytes."""
    out: dict[str, Any] = {}
    used = 2
    for name, value in list(namespace.items())[:MAX_LOCAL_NAMES]:
        if type(name) is not str or name.startswith("_") or name in hidden:
            continue
        if isinstance(value, types.ModuleType):
            continue
        safe = json_safe(value)
        size = len(json.dumps(safe, allow_nan=False)) + len(name) + 4
        if used + size > cap:
            safe = type_name(value)
            size = len(safe) + len(name) + 6
            if used + size > cap:
                break
        out[name] = safe
        used += size
    return out


def user_traceback(exc: BaseException) -> str:
    """Traceback limited to frames of the user's code, plus the exception line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == USER_FILENAME]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def describe(exc: BaseException) -> dict[str, Any]:
    """Error fields of the result for ``exc``."""
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {type(exc).__name__}>"
    try:
        tb = user_traceback(exc)
    except Exception:
        tb = ""
    return {"error_type": type(exc).__name__, "error_message": message[:MAX_STR], "traceback": tb}


def load_request(req_dir: str) -> dict[str, Any]:
    """Read request.json and the input arrays it names (``.npy``, no pickle)."""
    with open(os.path.join(req_dir, "request.json"), "rb") as fh:
        request = json.loads(fh.read())
    arrays = {}
    if request.get("inputs"):
        import numpy as np

        for item in request["inputs"]:
            path = os.path.join(req_dir, "in", item["file"])
            arrays[item["name"]] = np.load(path, allow_pickle=False)
    request["arrays"] = arrays
    return request


def save_outputs(namespace: dict[str, Any], request: dict[str, Any], out_dir: str) -> list:
    """Write the requested (or all new) ndarray names as ``out_<i>.npy`` files."""
    import numpy as np

    wanted = request.get("outputs")
    if wanted is None:
        wanted = [
            k
            for k, v in namespace.items()
            if isinstance(v, np.ndarray) and not k.startswith("_") and k not in request["arrays"]
        ]
    written = []
    for index, name in enumerate(wanted):
        if name not in namespace:
            raise NameError(f"output {name!r} was not defined by the code")
        value = namespace[name]
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufcmM":
            raise TypeError(
                f"output {name!r} must be a numeric numpy array, got {type_name(value)}"
            )
        fname = f"out_{index}.npy"
        np.save(os.path.join(out_dir, fname), np.ascontiguousarray(value), allow_pickle=False)
        written.append({"name": name, "file": fname})
    return written


def standby(control_fd: int, req_dir: str, seccomp: policy.CompiledFilter | None) -> None:
    """Body of a pre-forked child; never returns.

    Forked ahead of the request so that fork, closing inherited descriptors and loading
    the seccomp filter are off the request's critical path. It then blocks until the
    zygote writes the request's limits (JSON) to ``control_fd`` and closes it; an empty
    read means the zygote is shutting down.
    """
    status = EXIT_CRASHED
    try:
        os.closerange(3, control_fd)
        os.closerange(control_fd + 1, 65536)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        if seccomp is not None:
            seccomp.load(os.getpid())
        chunks = []
        while chunk := os.read(control_fd, 65536):
            chunks.append(chunk)
        os.close(control_fd)
        if not chunks:
            status = 0
            return
        status = _run(req_dir, json.loads(b"".join(chunks)))
    except MemoryError:
        status = EXIT_OUT_OF_MEMORY
    finally:
        os._exit(status)


def _run(req_dir: str, limits: dict[str, Any]) -> int:
    for fd, name in ((1, "stdout"), (2, "stderr")):
        out = os.open(os.path.join(req_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    stdout = CappedStream(1, int(limits["output_cap"]))
    stderr = CappedStream(2, int(limits["output_cap"]))
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(), stdout, stderr
    request = load_request(req_dir)
    os.chdir(os.path.join(req_dir, "work"))

    write_result = _result_writer(os.path.join(req_dir, "result.json"))
    dumps = json.dumps
    memory = int(limits["memory_mb"]) << 20
    policy.apply_rlimits(memory, int(limits["file_cap"]), int(limits["cpu_seconds"]))

    code = request["code"]
    result: dict[str, Any] = {"status": "ok"}
    try:
        compiled = compile(code, USER_FILENAME, "exec", dont_inherit=True)
    except MemoryError as exc:
        result = {"status": "memory", **describe(exc)}
        return write_result(result, stdout, stderr, dumps)
    except (SyntaxError, ValueError) as exc:
        result = {"status": "syntax_error", **describe(exc)}
        return write_result(result, stdout, stderr, dumps)
    linecache.cache[USER_FILENAME] = (len(code), None, code.splitlines(True), USER_FILENAME)

    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    injected = _inject_libraries(namespace)
    namespace.update(request.get("globals") or {})
    namespace.update(request.get("locals") or {})
    namespace.update(request["arrays"])
    try:
        exec(compiled, namespace)  # noqa: S102 - this process is the sandbox
    except SystemExit as exc:
        if exc.code not in (None, 0):
            result = {"status": "exception", **describe(exc)}
    except MemoryError as exc:
        result = {"status": "memory", **describe(exc)}
    except BaseException as exc:
        result = {"status": "exception", **describe(exc)}
    if result["status"] == "ok":
        try:
            if request.get("mode") == "arrays":
                out_dir = os.path.join(req_dir, "out")
                result["outputs"] = save_outputs(namespace, request, out_dir)
            if request.get("capture_locals"):
                hidden = set(injected)
                result["locals"] = capture_locals(namespace, hidden, int(limits["locals_cap"]))
        except MemoryError as exc:
            result = {"status": "memory", **describe(exc)}
        except BaseException as exc:
            result = {"status": "exception", **describe(exc)}
    return write_result(result, stdout, stderr, dumps)


def _inject_libraries(namespace: dict[str, Any]) -> list[str]:
    names = []
    for alias, module in (("np", "numpy"), ("pd", "pandas")):
        if module in sys.modules:
            namespace[alias] = sys.modules[module]
            names.append(alias)
    return names


def _result_writer(path: str) -> Any:
    # Bound before user code runs, so rebinding os/json names in the user's namespace
    # cannot redirect where the result goes.
    os_open, os_write, os_close = os.open, os.write, os.close

    def write(result: dict[str, Any], out: CappedStream, err: CappedStream, dumps: Any) -> int:
        result["stdout_truncated"] = out.truncated
        result["stderr_truncated"] = err.truncated
        data = dumps(result, allow_nan=False).encode()
        fd = os_open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        while data:
            data = data[os_write(fd, data) :]
        os_close(fd)
        return 0

    return write
