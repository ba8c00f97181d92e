"""One call on a second thread while the caller goes on: for engine steps whose kernels
release the GIL (Numba ``nogil``, NumPy's random fills), so a run uses a second core.

A thread is started per call (no pool: a pool's idle threads do not survive a ``fork``,
and the workers that run the engine may be forked after an earlier run).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``fn(*args)`` running on its own thread; :meth:`result` waits for it and returns
    its value or raises its exception."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._fn, self._args = fn, args
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="engine-background", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn(*self._args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> T:
        """The call's value, once it has finished (its exception, re-raised, if it failed)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
