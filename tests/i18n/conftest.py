import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _back_to_english():
    """A request through the test client leaves its language active in this thread (as
    LocaleMiddleware does in any server thread until its next request): tests that follow, outside
    a request, must not inherit German."""
    yield
    translation.deactivate()
