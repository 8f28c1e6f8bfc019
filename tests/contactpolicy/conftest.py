import pytest

from contactpolicy.services import _policy_cache


@pytest.fixture(autouse=True)
def _fresh_policy(db):
    """Each test reads the policy its own transaction holds, not a copy another test loaded."""
    _policy_cache.changed()
    yield
    _policy_cache.changed()
