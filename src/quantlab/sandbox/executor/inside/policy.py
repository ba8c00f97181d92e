"""Per-request hardening applied in the forked child just before user code runs.

Stdlib + pyseccomp only: loaded inside the sandbox. Two layers live here:

* resource limits (``setrlimit``): address space, file size, open files, no core dumps,
  CPU seconds as a backstop to the wall-clock SIGKILL, and no new processes;
* a seccomp filter (default allow, listed calls fail with ``EPERM``), compiled to BPF
  once per executor (:func:`compile_filter`); each child patches in its own pid and loads
  it, instead of building it through libseccomp again (a few ms of CPU per request).

Threads are denied together with processes: the executor sets ``OPENBLAS_NUM_THREADS=1``
and friends so numpy never needs one, and a single-threaded child keeps one request on one
core and makes thread bombs impossible rather than merely bounded.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import struct
from dataclasses import dataclass
from typing import Any

# Calls that fail with EPERM whatever their arguments.
DENIED_SYSCALLS: tuple[str, ...] = (
    # new processes and threads, program execution
    "fork", "vfork", "clone", "clone3", "execve", "execveat",
    # network and local sockets
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # other processes: tracing, memory access, signalling through pidfds
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_open",
    "pidfd_getfd", "pidfd_send_signal", "tkill", "rt_sigqueueinfo",
    # namespaces, mounts, kernel objects
    "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "open_by_handle_at",
    "name_to_handle_at", "mknod", "mknodat", "keyctl", "add_key", "request_key", "bpf",
    "perf_event_open", "personality", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "memfd_create", "memfd_secret", "fanotify_init", "quotactl",
    "syslog", "acct", "reboot", "swapon", "swapoff", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "vhangup", "setuid", "setgid",
    "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "ioperm", "iopl", "lookup_dcookie", "move_mount", "open_tree",
    "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
)  # fmt: skip

# Signals may only target the calling process itself (argument 0 must equal its pid).
SELF_ONLY_SIGNAL_SYSCALLS: tuple[str, ...] = ("kill", "tgkill", "rt_tgsigqueueinfo")


def build_filter(pyseccomp: Any, own_pid: int) -> Any:
    """Return an unloaded seccomp filter for a child whose pid is ``own_pid``."""
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    deny = pyseccomp.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        try:
            flt.add_rule(deny, name)
        except Exception:  # noqa: S112 - a call unknown to this kernel/arch cannot be made anyway
            continue
    for name in SELF_ONLY_SIGNAL_SYSCALLS:
        flt.add_rule(deny, name, pyseccomp.Arg(0, pyseccomp.NE, own_pid))
    return flt


# Stands for the child's pid in the compiled program: above any pid (pid_max <= 2**22) and
# below 2**31, so the high word of the 64-bit argument compares to 0 as for a real pid.
PID_PLACEHOLDER = 0x7FFF_FFF0
_INSN = struct.Struct("=HBBI")  # struct sock_filter: code, jt, jf, k
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@dataclass(frozen=True)
class CompiledFilter:
    """The filter of :func:`build_filter` as BPF, with the instructions that hold the pid."""

    program: bytes
    pid_slots: tuple[int, ...]
    prctl: Any

    def for_pid(self, own_pid: int) -> bytes:
        """The program for a child whose pid is ``own_pid``: what libseccomp would load."""
        out = bytearray(self.program)
        for index in self.pid_slots:
            code, jt, jf, _ = _INSN.unpack_from(out, index * _INSN.size)
            _INSN.pack_into(out, index * _INSN.size, code, jt, jf, own_pid)
        return bytes(out)

    def load(self, own_pid: int) -> None:
        """Install the program on this process (``no_new_privs`` first, as libseccomp does)."""
        program = ctypes.create_string_buffer(self.for_pid(own_pid), len(self.program))
        fprog = _SockFprog(len(self.program) // _INSN.size, ctypes.addressof(program))
        steps = (
            (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
            (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0),
        )
        for args in steps:
            if self.prctl(*args) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"prctl: {os.strerror(code)}")


def export_bpf(pyseccomp: Any, own_pid: int) -> bytes:
    """The BPF program libseccomp generates for :func:`build_filter` with ``own_pid``."""
    read, write = os.pipe()  # the program is a few hundred bytes: the pipe holds it
    with open(write, "wb") as fh:
        build_filter(pyseccomp, own_pid).export_bpf(fh)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    return b"".join(chunks)


def compile_filter(pyseccomp: Any) -> CompiledFilter:
    """Build the filter once for any child; RuntimeError if the pid cannot be located.

    The program is generated for two placeholder pids: the instructions where they differ
    must be exactly those holding the placeholder, so patching them gives, bit for bit,
    the program libseccomp would generate for the real pid.
    """
    first = export_bpf(pyseccomp, PID_PLACEHOLDER)
    second = export_bpf(pyseccomp, PID_PLACEHOLDER + 1)
    count = len(first) // _INSN.size
    if not count or len(first) % _INSN.size or len(second) != len(first):
        raise RuntimeError("unexpected seccomp program size")
    slots = tuple(
        i for i in range(count) if _INSN.unpack_from(first, i * _INSN.size)[3] == PID_PLACEHOLDER
    )
    changed = tuple(
        i
        for i in range(count)
        if first[i * _INSN.size : (i + 1) * _INSN.size]
        != second[i * _INSN.size : (i + 1) * _INSN.size]
    )
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = (ctypes.c_int, *[ctypes.c_ulong] * 4)  # unsigned long, as the kernel reads
    prctl.restype = ctypes.c_int
    compiled = CompiledFilter(first, slots, prctl)
    if not slots or slots != changed or compiled.for_pid(PID_PLACEHOLDER + 1) != second:
        raise RuntimeError("the pid's place in the seccomp program is ambiguous")
    return compiled


def current_address_space() -> int:
    """Virtual size of this process in bytes (from /proc/self/statm)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def apply_rlimits(memory_bytes: int, file_bytes: int, cpu_seconds: int) -> int:
    """Cap this process; return the address-space limit that was set, in bytes.

    The address-space limit is the current virtual size (the interpreter with numpy and
    pandas loaded) plus ``memory_bytes``, so the user's budget does not include the baseline.
    """
    limit = current_address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    # Belt and braces with seccomp. The kernel exempts a uid mapped to host root from it,
    # which is why process creation is denied by the filter first.
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
    return limit
