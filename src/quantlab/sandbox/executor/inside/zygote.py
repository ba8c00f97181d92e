"""The warm executor: imports numpy and pandas once, then forks one child per request.

Started by the API side as a fresh interpreter (``python -I -S zygote.py CONFIG_JSON``),
normally inside bubblewrap. It speaks framing messages on the stdin/stdout pipes it was
given and never parses the user's payload itself: request blobs are spliced from the pipe
into files in the private /tmp and results are sent back with ``sendfile``, so no user's
code or data sits in this process's memory for the next request's child to find.
"""

from __future__ import annotations

import gc
import json
import os
import re
import select
import shutil
import signal
import stat
import sys
import time
from typing import Any

_IN_NAME = re.compile(r"^(request\.json|in/in_\d{1,6}\.npy)$")
_OUT_NAME = re.compile(r"^out_\d{1,6}\.npy$")


def main() -> None:
    """Serve requests until the channel closes."""
    cfg = json.loads(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [here, *cfg["sys_path"]]
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)

    import child
    import framing

    for name in cfg["preload"]:
        __import__(name)
    seccomp = _compile_seccomp(cfg.get("libseccomp"))
    seccomp_ok, child_baseline_kb = _probe_child(seccomp)
    if not seccomp_ok:
        seccomp = None
    # Objects that exist now are never collected; keeps gc from dirtying shared pages
    # in every forked child.
    gc.collect()
    gc.freeze()
    scratch = cfg["scratch_dirs"]
    req_dir = os.path.join(scratch[0], "req")
    hello = {
        "op": "hello",
        "pid": os.getpid(),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "zygote_rss_kb": _rss_kb(),
        "baseline_rss_kb": child_baseline_kb,
        "seccomp": seccomp_ok,
        "python": sys.version.split()[0],
        "versions": {n: getattr(sys.modules[n], "__version__", "?") for n in cfg["preload"]},
    }
    framing.write_all(proto_out, framing.encode_header(hello))
    ready = _spawn_standby(child, req_dir, seccomp)
    while True:
        try:
            header = framing.read_header(proto_in)
        except framing.ProtocolError:
            return
        if header.get("op") == "ping":
            framing.write_all(proto_out, framing.encode_header({"op": "pong"}))
        elif header.get("op") == "run":
            _serve_run(header, proto_in, proto_out, req_dir, ready, framing)
            if not _wipe(scratch):
                return  # cannot guarantee a clean slate: let the API side replace us
            ready = _spawn_standby(child, req_dir, seccomp)
        else:
            return


def _spawn_standby(child: Any, req_dir: str, seccomp: Any) -> tuple[int, int]:
    """Fork the child for the next request; return its pid and the control pipe's write end."""
    control_r, control_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        child.standby(control_r, req_dir, seccomp)
    os.close(control_r)
    return pid, control_w


def _serve_run(
    header: dict[str, Any], proto_in: int, proto_out: int, req_dir: str,
    ready: tuple[int, int], framing: Any,
) -> None:  # fmt: skip
    limits = header["limits"]
    for sub in ("in", "out", "work"):
        os.makedirs(os.path.join(req_dir, sub), mode=0o700)
    for blob in header.get("blobs", []):
        name, size = str(blob["name"]), int(blob["size"])
        if not _IN_NAME.match(name):
            raise SystemExit(f"refusing blob name {name!r}")
        fd = os.open(os.path.join(req_dir, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _splice_exact(proto_in, fd, size)
        finally:
            os.close(fd)

    pid, control = ready
    pidfd = os.pidfd_open(pid)
    started = time.monotonic()
    try:
        framing.write_all(control, json.dumps(limits).encode())
    except OSError:
        pass  # the standby child died; its exit status is reported below
    os.close(control)
    exited, _, _ = select.select([pidfd], [], [], float(limits["timeout"]))
    timed_out = not exited
    if timed_out:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    os.close(pidfd)

    files: list[tuple[str, str, int]] = []  # (blob name, path, bytes to send)
    totals: dict[str, int] = {}
    for name in ("stdout", "stderr"):
        size = _regular_size(os.path.join(req_dir, name))
        totals[name] = size
        files.append((name, os.path.join(req_dir, name), min(size, int(limits["output_cap"]))))
    result_path = os.path.join(req_dir, "result.json")
    result_size = _regular_size(result_path)
    totals["result"] = result_size
    if 0 < result_size <= int(limits["result_cap"]):
        files.append(("result", result_path, result_size))
    out_dir = os.path.join(req_dir, "out")
    outputs = sorted(n for n in os.listdir(out_dir) if _OUT_NAME.match(n))
    out_sizes = [(n, _regular_size(os.path.join(out_dir, n))) for n in outputs]
    totals["outputs"] = sum(s for _, s in out_sizes)
    if totals["outputs"] <= int(limits["arrays_cap"]):
        files += [(n, os.path.join(out_dir, n), s) for n, s in out_sizes]

    reply = {
        "op": "done",
        "timed_out": timed_out,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "maxrss_kb": usage.ru_maxrss,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "wall_seconds": wall,
        "totals": totals,
        "blobs": [{"name": n, "size": s} for n, _, s in files],
    }
    framing.write_all(proto_out, framing.encode_header(reply))
    for _, path, size in files:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            _sendfile_exact(proto_out, fd, size)
        finally:
            os.close(fd)


def _regular_size(path: str) -> int:
    """Size of a regular file at ``path``; 0 for anything else (links, fifos, missing)."""
    try:
        info = os.lstat(path)
    except OSError:
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


def _splice_exact(src: int, dst: int, size: int) -> None:
    while size:
        moved = os.splice(src, dst, min(size, 1 << 20))
        if moved == 0:
            raise SystemExit("channel closed mid-blob")
        size -= moved


def _sendfile_exact(dst: int, src: int, size: int) -> None:
    offset = 0
    while offset < size:
        sent = os.sendfile(dst, src, offset, size - offset)
        if sent == 0:  # file shrank under us: pad so the frame stays well-formed
            os.write(dst, b"\0" * (size - offset))
            return
        offset += sent


def _wipe(dirs: list[str]) -> bool:
    """Remove everything a child left in the scratch directories; False if anything stays."""

    def unlock(func: Any, path: str, _exc: Any) -> None:
        os.chmod(os.path.dirname(path), 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
        func(path)

    for root in dirs:
        if not os.path.isdir(root):
            continue
        for entry in os.scandir(root):
            try:
                if entry.is_dir(follow_symlinks=False):
                    os.chmod(entry.path, 0o700)
                    shutil.rmtree(entry.path, onerror=unlock)
                else:
                    os.unlink(entry.path)
            except OSError:
                return False
        if os.listdir(root):
            return False
    return True


def _load_seccomp(libseccomp: str | None) -> Any:
    # ctypes.util.find_library shells out to ldconfig/gcc, which the sandbox does not have.
    import ctypes.util

    known = {"c": "libc.so.6", "seccomp": libseccomp or "libseccomp.so.2"}
    original = ctypes.util.find_library
    ctypes.util.find_library = lambda name: known.get(name) or original(name)
    try:
        import pyseccomp
    except Exception:
        return None
    finally:
        ctypes.util.find_library = original
    return pyseccomp


def _compile_seccomp(libseccomp: str | None) -> Any:
    """The children's seccomp filter, compiled once (None when libseccomp cannot)."""
    import policy

    pyseccomp = _load_seccomp(libseccomp)
    if pyseccomp is None:
        return None
    try:
        return policy.compile_filter(pyseccomp)
    except (OSError, RuntimeError):
        return None  # reported as seccomp missing (the probe below fails)


def _probe_child(seccomp: Any) -> tuple[bool, int]:
    """Fork a do-nothing child: does the seccomp filter load and refuse a socket, and
    what is a child's peak RSS (kB) before any user code (the baseline for memory use)?"""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if seccomp is not None:
                seccomp.load(os.getpid())
                import socket

                try:
                    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                except PermissionError:
                    code = 0
            exec(compile("pass", "<probe>", "exec"), {})  # noqa: S102 - constant code
        finally:
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    ok = seccomp is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return ok, int(usage.ru_maxrss)


def _rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


if __name__ == "__main__":
    main()
