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


@pytest.fixture(autouse=True)
def no_schema_refusal(request):
    """A test on the shared sandbox causes no schema refusal (metrics `schema_refusals`) unless it is marked
    `refuses`: what the product and the tests send is Microsoft's names."""
    if "sandbox" not in request.fixturenames or request.node.get_closest_marker("refuses"):
        yield
        return
    running = request.getfixturevalue("sandbox")
    before = running.metrics()["schema_refusals"]
    yield
    after = running.metrics()
    new = after["schema_refusals"] - before if after["schema_refusals"] >= before else after["schema_refusals"]
    assert new == 0, f"schema refusals: {after['schema_refused']}"
