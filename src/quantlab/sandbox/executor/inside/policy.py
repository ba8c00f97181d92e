"""Per-request hardening applied in the forked child just before user code runs.

Stdlib + pyseccomp only: loaded inside the sandbox. Two layers live here:

* resource limits (``setrlimit``): address space, file size, open files, no core dumps,
  CPU seconds as a backstop to the wall-clock SIGKILL, and no new processes;
* a seccomp filter (default allow, listed calls fail with ``EPERM``).

Threads are denied together with processes: the executor sets ``OPENBLAS_NUM_THREADS=1``
and friends so numpy never needs one, and a single-threaded child keeps one request on one
core and makes thread bombs impossible rather than merely bounded.
"""

from __future__ import annotations

import errno
import os
import resource
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
