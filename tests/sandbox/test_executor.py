"""Positive behaviour of the executor: numpy/pandas, locals, globals, errors, arrays."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from quantlab.sandbox.executor import (
    Outcome,
    SandboxCodeError,
    isolation_report,
    run_array_code_on,
)


def test_print_and_pandas_describe_match_the_host(run) -> None:
    code = "df = pd.DataFrame({'a': [1.0, 2.0, 4.0], 'b': [3, 5, 8]})\nprint(df.describe())"
    result = run(code)
    expected = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [3, 5, 8]}).describe()
    assert result.outcome is Outcome.SUCCESS and result.success
    assert result.stdout == f"{expected}\n"
    assert result.stderr == "" and not result.stdout_truncated
    assert 0 < result.execution_time < 3


def test_locals_are_json_safe_and_others_named_by_type(run) -> None:
    code = (
        "import math\n"
        "n = 3\nx = 2.5\ns = 'hi'\nflag = True\nnothing = None\nitems = [1, 'a', {'k': 2}]\n"
        "nan = float('nan')\nbig = 2 ** 100\nscalar = np.float64(1.5)\narr = np.arange(3)\n"
        "def f():\n    return 1\n"
        "class Loud:\n    def __repr__(self):\n        raise RuntimeError('repr must not run')\n"
        "obj = Loud()\n_private = 1\n"
    )
    result = run(code, capture_locals=True)
    assert result.success, result.traceback
    assert result.locals_dict == {
        "n": 3,
        "x": 2.5,
        "s": "hi",
        "flag": True,
        "nothing": None,
        "items": [1, "a", {"k": 2}],
        "nan": "NaN",
        "big": "<int>",
        "scalar": 1.5,
        "arr": "<numpy.ndarray>",
        "f": "<function>",
        "Loud": "<type>",
        "obj": "<__main__.Loud>",
    }


def test_locals_are_not_returned_unless_asked(run) -> None:
    assert run("x = 1").locals_dict is None


def test_custom_globals_and_locals_are_visible(run) -> None:
    result = run(
        "total = sum(prices) * factor\nprint(total)",
        globals={"prices": [1, 2, 3]},
        locals={"factor": 10},
        capture_locals=True,
    )
    assert result.stdout == "60\n"
    assert result.locals_dict == {"prices": [1, 2, 3], "factor": 10, "total": 60}


def test_syntax_error(run) -> None:
    result = run("x = 1\ndef broken(:\n    pass")
    assert result.outcome is Outcome.SYNTAX_ERROR and not result.success
    assert result.error_type == "SyntaxError"
    assert 'File "<user-code>", line 2' in result.traceback


def test_user_exception_keeps_output_and_only_user_frames(run) -> None:
    code = "print('before')\ndef inner():\n    return pd.Series([1]).iloc[5]\ninner()"
    result = run(code)
    assert result.outcome is Outcome.ERROR
    assert result.error_type == "IndexError"
    assert result.stdout == "before\n"
    frames = [line for line in result.traceback.splitlines() if line.startswith("  File")]
    assert frames == [
        '  File "<user-code>", line 4, in <module>',
        '  File "<user-code>", line 3, in inner',
    ]
    assert "child.py" not in result.traceback and "pandas" not in "".join(frames)


def test_sys_exit_zero_is_success_and_nonzero_an_error(run) -> None:
    assert run("import sys\nprint('x')\nsys.exit()").success
    failed = run("import sys\nsys.exit(3)")
    assert failed.outcome is Outcome.ERROR and failed.error_type == "SystemExit"


def test_memory_used_is_reported_relative_to_an_idle_child(run) -> None:
    small = run("x = 1")
    big = run("a = np.ones(40 * 2**20 // 8)")  # 40 MiB touched
    assert small.memory_used_mb < 5
    assert 38 <= big.memory_used_mb <= 60


def test_array_code_matches_numpy_on_the_host(executor) -> None:
    rng = np.random.default_rng(7)
    close = np.asfortranarray(rng.normal(100, 5, size=(50, 4)))
    out = run_array_code_on(
        executor,
        "ret = close[1:] / close[:-1] - 1\nmean = ret.mean(axis=0)",
        {"close": close},
    )
    expected = close[1:] / close[:-1] - 1
    np.testing.assert_allclose(out["ret"], expected)
    np.testing.assert_allclose(out["mean"], expected.mean(axis=0))
    assert set(out) == {"ret", "mean"}


def test_array_code_named_outputs_and_errors(executor) -> None:
    out = run_array_code_on(executor, "y = x + 1\nz = x * 0", {"x": np.arange(3)}, outputs=["y"])
    assert list(out) == ["y"] and out["y"].tolist() == [1, 2, 3]
    with pytest.raises(SandboxCodeError) as err:
        run_array_code_on(executor, "y = np.array([object()])", {}, outputs=["y"])
    assert err.value.result.error_type == "TypeError"
    with pytest.raises(TypeError):
        run_array_code_on(executor, "y = 1", {"x": np.array([object()])})
    with pytest.raises(ValueError):
        run_array_code_on(executor, "y = 1", {"_x": np.arange(2)})


def test_array_outputs_are_plain_npy_without_pickle(executor) -> None:
    raw = executor.run(
        {"mode": "arrays", "code": "y = np.arange(4.0)", "inputs": [], "outputs": ["y"]},
        executor.config.limits_header(__import__("quantlab").sandbox.executor.Limits()),
        {},
    )
    data = raw.blobs["out_0.npy"]
    assert data.startswith(b"\x93NUMPY")
    assert np.load(io.BytesIO(data), allow_pickle=False).tolist() == [0, 1, 2, 3]


def test_isolation_report_is_full_here(executor) -> None:
    report = isolation_report(executor.config, seccomp_in_force=executor.hello["seccomp"])
    assert report.level == "full" and report.missing == ()
    assert executor.hello["uid"] == 65534 and executor.hello["pid"] == 2
