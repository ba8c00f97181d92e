"""Which isolation layers are available, and the bubblewrap command that applies them."""

from __future__ import annotations

import ctypes.util
import functools
import importlib.util
import json
import os
import subprocess
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from quantlab.sandbox.executor.config import SAFE_ENV, SandboxConfig

INSIDE_DIR = Path(__file__).resolve().parent / "inside"
SANDBOX_ROOT = "/opt/quantlab-sandbox"
LAYERS = (
    "separate_process",
    "clean_environment",
    "namespaces",
    "read_only_filesystem",
    "no_network",
    "unprivileged_user",
    "fork_per_request",
    "resource_limits",
    "seccomp",
    "wall_clock_kill",
)


@dataclass(frozen=True)
class IsolationReport:
    """Layers in force: ``level`` is ``full`` only when none is missing."""

    level: Literal["full", "degraded"]
    layers: dict[str, bool]
    missing: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for health endpoints and logs."""
        return {
            "level": self.level,
            "layers": dict(self.layers),
            "missing": list(self.missing),
            "notes": list(self.notes),
        }


@functools.lru_cache(maxsize=4)
def bwrap_works(bwrap_path: str) -> bool:
    """True when bubblewrap exists and can create every namespace on this machine."""
    if not os.access(bwrap_path, os.X_OK):
        return False
    try:
        proc = subprocess.run(
            [bwrap_path, "--unshare-all", "--unshare-user", "--die-with-parent",
             "--ro-bind", "/", "/", "true"],
            env=SAFE_ENV, capture_output=True, timeout=20, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def libseccomp_path() -> str | None:
    """Soname of libseccomp on this host, if installed."""
    return ctypes.util.find_library("seccomp")


def isolation_report(
    config: SandboxConfig, seccomp_in_force: bool | None = None
) -> IsolationReport:
    """Report the layers that apply to executors started with ``config``.

    ``seccomp_in_force`` is what a running executor observed (its probe child loads the
    filter and checks that a socket is refused); ``None`` means judge from the host.
    """
    sandboxed = config.use_bwrap and bwrap_works(config.bwrap_path)
    seccomp = (libseccomp_path() is not None) if seccomp_in_force is None else seccomp_in_force
    layers = dict.fromkeys(LAYERS, True)
    for name in ("namespaces", "read_only_filesystem", "no_network", "unprivileged_user"):
        layers[name] = sandboxed
    layers["seccomp"] = seccomp
    missing = tuple(k for k, v in layers.items() if not v)
    notes = []
    if not sandboxed:
        notes.append(
            "bubblewrap missing or user namespaces unavailable: user code can read host "
            "files the service account can read"
        )
    if not seccomp:
        notes.append("libseccomp unavailable: process creation and sockets are not filtered")
    return IsolationReport("degraded" if missing else "full", layers, missing, tuple(notes))


def _package_paths(names: tuple[str, ...]) -> list[Path]:
    paths: list[Path] = []
    for name in (*names, "pyseccomp"):
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            path = Path(next(iter(spec.submodule_search_locations)))
        elif spec.origin:
            path = Path(spec.origin)
        else:
            continue
        paths.append(path)
        libs = path.parent / f"{name}.libs"  # vendored shared libraries of manylinux wheels
        if libs.is_dir():
            paths.append(libs)
    return paths


def build_command(config: SandboxConfig, sandboxed: bool) -> tuple[list[str], str | None]:
    """The argv that starts one zygote, and the host scratch dir to remove (degraded only)."""
    zygote_cfg: dict[str, object] = {
        "preload": list(config.preload),
        "libseccomp": libseccomp_path(),
    }
    python_args = ["-I", "-S", "-B"]
    if not sandboxed:
        scratch = tempfile.mkdtemp(prefix="quantlab-sandbox-")
        site_dirs = sorted({str(p.parent) for p in _package_paths(config.packages)})
        zygote_cfg |= {"sys_path": site_dirs, "scratch_dirs": [scratch]}
        argv = [config.python, *python_args, str(INSIDE_DIR / "zygote.py"), json.dumps(zygote_cfg)]
        return argv, scratch

    site = f"{SANDBOX_ROOT}/site"
    # These paths are the sandbox's own private tmpfs mounts, not the host's.
    zygote_cfg |= {"sys_path": [site], "scratch_dirs": ["/tmp", "/dev/shm"]}  # noqa: S108
    tmp_bytes = str(config.tmp_size_mb << 20)
    argv = [
        config.bwrap_path,
        "--unshare-all", "--unshare-user", "--disable-userns",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--uid", str(config.sandbox_uid), "--gid", str(config.sandbox_gid),
        "--hostname", "sandbox", "--clearenv",
    ]  # fmt: skip
    for key, value in SAFE_ENV.items():
        argv += ["--setenv", key, value]
    for system_dir in ("/usr/lib", "/usr/lib64"):
        if os.path.isdir(system_dir):
            argv += ["--ro-bind", system_dir, system_dir]
    argv += ["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"]
    for host_path in _interpreter_paths(config.python):
        argv += ["--ro-bind", host_path, host_path]
    for package in _package_paths(config.packages):
        argv += ["--ro-bind", str(package), f"{site}/{package.name}"]
    argv += ["--ro-bind", str(INSIDE_DIR), f"{SANDBOX_ROOT}/inside"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", tmp_bytes, "--tmpfs", "/tmp"]  # noqa: S108
    argv += ["--size", tmp_bytes, "--tmpfs", "/dev/shm"]  # noqa: S108
    argv += ["--remount-ro", "/", "--chdir", "/tmp", "--"]  # noqa: S108
    argv += [config.python, *python_args, f"{SANDBOX_ROOT}/inside/zygote.py"]
    argv.append(json.dumps(zygote_cfg))
    return argv, None


def _interpreter_paths(python: str) -> list[str]:
    """The interpreter binary, its stdlib and libpython: the only host files it needs."""
    # Not sysconfig's "platstdlib": inside a virtualenv that points into the venv itself.
    stdlib = os.path.dirname(os.__file__)
    paths = {os.path.realpath(python), os.path.realpath(stdlib)}
    libdir = sysconfig.get_config_var("LIBDIR")
    ldlibrary = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY")
    if libdir and ldlibrary and os.path.exists(os.path.join(libdir, ldlibrary)):
        paths.add(os.path.realpath(os.path.join(libdir, ldlibrary)))
        paths.add(os.path.join(libdir, ldlibrary))
    # Paths already under the /usr/lib bind need no bind of their own.
    return sorted(p for p in paths if not p.startswith(("/usr/lib/", "/usr/lib64/")))
