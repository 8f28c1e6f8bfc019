import pytest

from tests.surveys.doors import EventLoop, wsgi_call


@pytest.fixture(scope="module")
def event_loop_thread():
    """The ingest server's event loop (config.asgi), kept for a module's tests like a worker's,
    and shut down as the lifespan does (before the test database is dropped)."""
    loop = EventLoop()
    yield loop
    loop.close()


@pytest.fixture(params=["web", "ingest"])
def door(request):
    """A request through one of the two doors gunicorn serves: the web process (config.wsgi:
    Django's handler and the Django view), or the ingest server (config.asgi)."""
    if request.param == "web":
        return wsgi_call
    return request.getfixturevalue("event_loop_thread").call
