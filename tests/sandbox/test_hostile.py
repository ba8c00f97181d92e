"""Hostile code: each case asserts the host is unharmed and the executor still answers
(the ``run`` fixture re-checks the executor after every call)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantlab.sandbox.executor import Outcome

from .conftest import HOST_SECRET

REPO = Path(__file__).resolve().parents[2]

# Ways to reach os/subprocess/socket/ctypes; each must still be powerless.
ESCAPE_ROUTES = {
    "builtins": "m = __builtins__.__import__('os')",
    "subclasses": (
        "m = [c for c in ().__class__.__base__.__subclasses__()"
        " if c.__name__ == '_wrap_close'][0].__init__.__globals__['sys'].modules['os']"
    ),
    "generator_frame": (
        "g = (i for i in [1])\nm = g.gi_frame.f_globals['__builtins__'].__import__('os')"
    ),
    "traceback_frame": (
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    f = e.__traceback__.tb_frame\n"
        "    while f.f_back is not None:\n        f = f.f_back\n"
        "    m = f.f_globals['os']"
    ),
    "format_string": (
        "m = '{0.__init__.__globals__[sys].modules[os]}'.format"
        "([c for c in object.__subclasses__() if c.__name__ == '_wrap_close'][0]) and "
        "[c for c in object.__subclasses__() if c.__name__ == '_wrap_close'][0]"
        ".__init__.__globals__['sys'].modules['os']"
    ),
    "pandas_attribute": "m = pd.io.common.os",
    "numpy_ctypeslib": "m = np.ctypeslib.ctypes.CDLL(None)",
}


@pytest.mark.parametrize("route", sorted(ESCAPE_ROUTES))
def test_escape_routes_reach_nothing_of_the_host(run, route) -> None:
    probe = (
        "out = []\n"
        "def attempt(label, fn):\n"
        "    try:\n        out.append((label, 'ok', str(fn())[:200]))\n"
        "    except BaseException as exc:\n        out.append((label, type(exc).__name__))\n"
        "if hasattr(m, 'listdir'):\n"
        "    attempt('ls', lambda: m.listdir('/'))\n"
        f"    attempt('repo', lambda: m.listdir({str(REPO)!r}))\n"
        "    attempt('system', lambda: m.system('id'))\n"
        "    attempt('fork', lambda: m.fork())\n"
        "    attempt('env', lambda: dict(m.environ))\n"
        "else:\n"
        "    attempt('fork', lambda: m.syscall(57))\n"
        "    attempt('socket', lambda: m.syscall(41, 2, 1, 0))\n"
        "print(out)\n"
    )
    result = run(ESCAPE_ROUTES[route] + "\n" + probe)
    assert result.success, result.traceback
    text = result.stdout
    assert HOST_SECRET not in text and "pyproject" not in text and "uid=" not in text
    if "'ls', 'ok'" in text:
        listing = text.split("'ls', 'ok', ")[1]
        assert "work" not in listing and "etc" not in listing and "home" not in listing
    assert "('repo', 'FileNotFoundError')" in text or "'repo'" not in text
    assert "('fork', 'ok'" not in text or "('fork', 'ok', '-1')" in text
    assert "('socket', 'ok', '-1')" in text or "'socket'" not in text
    # os.system cannot spawn a shell: glibc reports that as exit status 127 (32512).
    assert "('system', 'ok', '32512')" in text or "'system'" not in text


@pytest.mark.parametrize(
    "path",
    [str(REPO / "pyproject.toml"), "/etc/shadow", "/etc/passwd", "/root/.bashrc", "/work"],
)
def test_host_files_are_not_visible(run, path) -> None:
    result = run(f"import os\nprint(os.path.exists({path!r}))")
    assert result.stdout == "False\n"


def test_environment_and_pid1_hold_no_secrets(run) -> None:
    result = run(
        "import os\n"
        "print(sorted(os.environ))\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        try:\n            print(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "        except OSError as exc:\n            print(pid, type(exc).__name__)\n"
    )
    assert result.success
    assert HOST_SECRET not in result.stdout and "QUANTLAB" not in result.stdout
    env_names = json.loads(result.stdout.splitlines()[0].replace("'", '"'))
    assert set(env_names) <= {
        "PATH", "LANG", "LC_ALL", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING",
        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS", "PWD", "LC_CTYPE",
    }  # fmt: skip


@pytest.mark.parametrize(
    "target",
    ["/usr/lib/planted", "/opt/quantlab-sandbox/inside/zygote.py", "/planted", "/proc/1/mem"],
)
def test_writes_outside_tmp_fail(run, target) -> None:
    result = run(f"open({target!r}, 'a').write('x')")
    assert result.outcome is Outcome.ERROR
    assert result.error_type in {"OSError", "PermissionError", "FileNotFoundError"}


def test_writes_in_tmp_stay_in_the_sandbox(run, tmp_path) -> None:
    marker = tmp_path / "from-sandbox"
    result = run(f"open('/tmp/x', 'w').write('x')\nopen({str(marker)!r}, 'w').write('x')")
    assert result.error_type == "FileNotFoundError"
    assert not marker.exists()


@pytest.mark.parametrize("port", [5432, 6379])
def test_local_database_and_redis_are_unreachable(run, port) -> None:
    result = run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)")
    assert result.outcome is Outcome.ERROR and result.error_type == "PermissionError"


def test_fork_and_thread_bombs_are_refused(run) -> None:
    fork = run("import os\nwhile True:\n    os.fork()")
    assert fork.error_type == "PermissionError"
    threads = run("import threading\nwhile True:\n    threading.Thread(target=input).start()")
    assert threads.error_type == "RuntimeError"
    spawn = run("import subprocess\nsubprocess.run(['/bin/true'])")
    assert spawn.outcome is Outcome.ERROR


@pytest.mark.parametrize(
    "code",
    [
        "while True:\n    pass",
        "import collections, itertools\ncollections.deque(itertools.count(), maxlen=0)",
        "import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGXCPU):"
        "\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass",
    ],
    ids=["python-loop", "c-loop", "signals-ignored"],
)
def test_infinite_loops_are_killed_at_the_timeout(run, code) -> None:
    result = run(code, timeout=1)
    assert result.outcome is Outcome.TIMEOUT
    assert 0.9 <= result.execution_time < 3


@pytest.mark.parametrize(
    "code",
    [
        "x = [0] * 10**9",
        "x = np.ones((50_000, 50_000))",
        "x = pd.DataFrame(np.zeros((20_000_000, 10)))",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))",
    ],
    ids=["list", "numpy", "pandas", "gradual"],
)
def test_memory_bombs_hit_the_limit(run, code) -> None:
    result = run(code, memory_mb=64)
    assert result.outcome is Outcome.MEMORY_LIMIT
    assert result.memory_used_mb <= 64 + 8


def test_output_floods_are_capped(run, executor) -> None:
    cap = executor.config.output_cap
    result = run("import os, sys\nfor _ in range(10**4):\n    print('x' * 1000)\n"
                 "sys.stderr.write('e' * 10**6)\nos.write(1, b'y' * 10**6)")  # fmt: skip
    assert result.success
    assert result.stdout_truncated and result.stderr_truncated
    assert len(result.stdout) <= cap and len(result.stderr) <= cap


def test_deep_recursion(run) -> None:
    plain = run("def f(n):\n    return f(n + 1)\nf(0)")
    assert plain.error_type == "RecursionError"
    unlimited = run(
        "import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1)\nf(0)"
    )
    assert not unlimited.success


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.kill(os.getppid(), 9)",
        "import os\nos.kill(1, 9)",
        "import os\nos.kill(-1, 9)",
        "import os\nos.killpg(0, 9)",
        "import ctypes\nassert ctypes.CDLL(None).syscall(234, 1, 1, 9) == 0, 'tgkill refused'",
    ],
)
def test_other_processes_cannot_be_signalled(run, code) -> None:
    result = run(code)
    assert result.outcome is Outcome.ERROR
    assert result.error_type in {"PermissionError", "AssertionError"}


def test_killing_itself_is_reported_not_fatal(run) -> None:
    result = run("import os\nos.kill(os.getpid(), 9)")
    assert result.error_type == "ProcessKilled" and "SIGKILL" in result.error_message


def test_hard_exit_is_an_error(run) -> None:
    result = run("import os\nprint('bye', flush=True)\nos._exit(0)")
    assert result.outcome is Outcome.ERROR and result.error_type == "ProcessExit"
    assert result.stdout == "bye\n"


def test_state_does_not_survive_into_the_next_request(run) -> None:
    plant = run(
        "import builtins, os, sys\n"
        "open('/tmp/planted.py', 'w').write('x = 1')\n"
        "open('/dev/shm/planted', 'w').write('x')\n"
        "open('planted_cwd', 'w').write('x')\n"
        "builtins.PLANTED = 1\nnp.sum = None\nsys.modules['json'] = None\n"
        "os.environ['PLANTED'] = '1'\nsys.path.insert(0, '/tmp')\n"
    )
    assert plant.success, plant.traceback
    check = run(
        "import builtins, os, sys, json\n"
        "print(os.listdir('/tmp'), os.listdir('/dev/shm'), os.listdir('.'),"
        " hasattr(builtins, 'PLANTED'), np.sum is None, 'PLANTED' in os.environ,"
        " '/tmp' in sys.path)"
    )
    assert check.stdout == "['req'] [] [] False False False False\n"


def test_forged_result_file_is_validated(run) -> None:
    forged = run(
        "import os, json\n"
        "open('../result.json', 'w').write(json.dumps({'status': 'ok', 'locals': 'x' * 10**6}))\n"
        "os._exit(0)"
    )
    assert forged.success and forged.locals_dict is None
    garbage = run(
        "import os\nopen('../result.json', 'wb').write(b'\\x80\\x04garbage')\nos._exit(0)"
    )
    assert garbage.outcome is Outcome.ERROR and garbage.error_type == "ProcessExit"


def test_pickle_gadgets_only_run_inside_the_sandbox(run) -> None:
    result = run(
        "import pickle, os\n"
        "class Gadget:\n    def __reduce__(self):\n        return (os.system, ('id',))\n"
        "print(pickle.loads(pickle.dumps(Gadget())))\n"
        "g = Gadget()"
    , capture_locals=True)  # fmt: skip
    assert result.stdout == "32512\n"  # os.system could not spawn a shell (status 127)
    assert result.locals_dict == {"Gadget": "<type>", "g": "<__main__.Gadget>"}


def test_huge_locals_are_capped(run, executor) -> None:
    result = run("s = 'a' * 10**6\nrows = [list(range(100))] * 2000\nn = 1", capture_locals=True)
    assert result.success
    assert result.locals_dict["s"] == "<str>"
    assert result.locals_dict["rows"] == "<list>"
    assert result.locals_dict["n"] == 1
    assert len(json.dumps(result.locals_dict)) <= executor.config.locals_cap
