"""Waiting for what AWS (or the local cloud) does in its own time: one helper for every wait of the lab,
each with a deadline and a message that names what is late."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(look: Callable[[], T], ready: Callable[[T], bool], *, what: str, timeout_s: float, poll_s: float = 2.0,
             hint: Callable[[T], str] | None = None) -> T:
    """Call `look()` every `poll_s` seconds until `ready(result)`; return that result.

    After `timeout_s` seconds, TimeoutError: "<what> after <timeout> s", and `hint(last result)` if given
    (what the last look showed, and what to check)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = look()
        if ready(result):
            return result
        if time.monotonic() >= deadline:
            message = f"{what} after {timeout_s:.0f} s"
            raise TimeoutError(f"{message}: {hint(result)}" if hint else message)
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
