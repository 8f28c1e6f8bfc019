"""tests.concurrency.run_concurrently: really together, results in order, failures raised."""

from __future__ import annotations

import threading

import pytest

from tests.concurrency import run_concurrently


def test_the_callables_run_at_the_same_time_and_results_keep_their_order():
    # Each waits for the other to have started: run one after another, neither could finish.
    first, second = threading.Event(), threading.Event()

    def a():
        first.set()
        return second.wait(5) and "a"

    def b():
        second.set()
        return first.wait(5) and "b"

    assert run_concurrently(a, b, timeout=10) == ["a", "b"]


def test_an_exception_in_a_thread_is_raised_in_the_test():
    def boom():
        raise ValueError("lost the race")

    with pytest.raises(ValueError, match="lost the race"):
        run_concurrently(lambda: 1, boom, timeout=10)


def test_a_thread_that_does_not_finish_is_reported():
    never = threading.Event()
    with pytest.raises(TimeoutError):
        run_concurrently(lambda: never.wait(3), timeout=0.5)
    never.set()
