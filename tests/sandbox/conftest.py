"""Fixtures shared by the sandbox tests that use the session's sandbox through mscloud."""
import pytest

from mscloud.cloud import sandbox_cloud


@pytest.fixture(scope="module")
def cloud(sandbox):
    """The shared sandbox as an mscloud Cloud (modules with a private sandbox define their own `cloud`)."""
    return sandbox_cloud(sandbox.data_dir)


@pytest.fixture
def admin(sandbox):
    """The shared sandbox with its metrics zeroed (its metrics/settings helpers speak /_sandbox)."""
    sandbox.reset_metrics()
    return sandbox
