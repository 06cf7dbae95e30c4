"""Waiting for a condition instead of for a time: a test that sleeps "long enough" fails on a
loaded machine, and one whose retry loop gives up after a second or two does too. `until`
polls the condition and gives up only after a timeout far beyond any normal run, so the time a
step takes never decides a test's outcome."""
from __future__ import annotations

import asyncio
import inspect
import time
from typing import Awaitable, Callable, TypeVar, Union

T = TypeVar("T")

TIMEOUT = 30.0  # seconds: a bound for a hung test, not a performance expectation


async def until(check: Callable[[], Union[T, Awaitable[T]]], timeout: float = TIMEOUT, what: str = "") -> T:
    """The first truthy value of `check()` (a function or coroutine function), polled."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        await asyncio.sleep(0.005)
