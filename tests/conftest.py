"""Shared fixtures: one sandbox cloud per test session, and private instances for tests that need their own."""
from __future__ import annotations

import pytest

from tests.sandboxkit import RunningSandbox, start_sandbox as _start_sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> RunningSandbox:
    """The session's shared sandbox (default seed). Tests must not stop it; reset metrics before counting."""
    running = _start_sandbox(tmp_path_factory.mktemp("sandbox") / "data")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_sandbox():
    """`start_sandbox(dir, seed=None, latency_ms=0, faults=None, extra_args=())` -> a private sandbox, stopped at teardown."""
    started: list[RunningSandbox] = []

    def start(tmp_dir, seed=None, latency_ms: int = 0, faults=None, extra_args=()) -> RunningSandbox:
        running = _start_sandbox(tmp_dir, seed=seed, latency_ms=latency_ms, faults=faults, extra_args=extra_args)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
