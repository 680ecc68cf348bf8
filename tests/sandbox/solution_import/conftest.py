"""The providers of solution_import import, upgrade and uninstall solutions: each module gets a sandbox of its own."""
import pytest

from tests.providerkit import private_provider_cloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, request):
    """A private sandbox (default seed) for the module; a module that needs another seed defines its own `cloud`."""
    with private_provider_cloud(tmp_path_factory, request.module.__name__.rsplit(".", 1)[-1]) as cloud:
        yield cloud
