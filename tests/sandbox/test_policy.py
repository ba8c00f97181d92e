"""The children's seccomp filter, compiled once per executor: for any pid it is, bit for
bit, the program libseccomp generates for that pid, and once loaded it refuses what the
policy lists."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

from quantlab.sandbox.executor.inside import policy
from quantlab.sandbox.executor.inside.zygote import _load_seccomp


@pytest.fixture(scope="module")
def pyseccomp() -> Any:
    module = _load_seccomp(None)
    assert module is not None, "pyseccomp and libseccomp are installed here"
    return module


@pytest.fixture(scope="module")
def compiled(pyseccomp: Any) -> policy.CompiledFilter:
    return policy.compile_filter(pyseccomp)


@pytest.mark.parametrize("pid", [1, 2, 3, 255, 256, 65_536, 1_234_567, 4_194_303])
def test_patched_program_is_what_libseccomp_builds_for_the_pid(
    pyseccomp: Any, compiled: policy.CompiledFilter, pid: int
) -> None:
    assert compiled.pid_slots
    assert compiled.for_pid(pid) == policy.export_bpf(pyseccomp, pid)


def _in_child(compiled: policy.CompiledFilter) -> int:
    """Fork, load the filter, try what it must refuse and allow; the child's exit code."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            compiled.load(os.getpid())
            code = 0
            try:
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                code |= 1
            except PermissionError:
                pass
            try:
                os.kill(os.getppid(), 0)  # another process: refused
                code |= 2
            except PermissionError:
                pass
            try:
                os.fork()
                code |= 4
            except PermissionError:
                pass
            os.kill(os.getpid(), 0)  # itself: allowed
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), status
    return os.WEXITSTATUS(status)


def test_loaded_program_refuses_sockets_processes_and_signals_to_others(
    compiled: policy.CompiledFilter,
) -> None:
    assert _in_child(compiled) == 0
