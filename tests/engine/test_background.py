"""A call on a second thread: its value, or its exception, handed to the caller."""

from __future__ import annotations

import threading

import pytest

from quantlab.engine.background import Background


def test_result_is_the_call_s_value_computed_on_another_thread() -> None:
    def who(x: int) -> tuple[int, str]:
        return x * 2, threading.current_thread().name

    value, thread = Background(who, 21).result()
    assert value == 42 and thread != threading.current_thread().name


def test_the_call_s_exception_is_raised_by_result() -> None:
    def fail() -> None:
        raise ValueError("bad input")

    job = Background(fail)
    with pytest.raises(ValueError, match="bad input"):
        job.result()
