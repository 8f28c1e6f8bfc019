"""The test run's choice of Redis database (config.testenv): each pytest-xdist worker its own, and a
subprocess a test starts keeps the one it was given."""

from config import testenv


def test_an_xdist_worker_takes_the_base_database_plus_its_number(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_TEST_REDIS_BASE", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")

    testenv.configure()

    assert testenv.os.environ["REDIS_URL"] == "redis://127.0.0.1:6379/12"


def test_a_subprocess_outside_xdist_keeps_the_redis_database_it_inherited(monkeypatch):
    # The SQLite suite's pytest, started by a test on gw1 without the PYTEST_* variables: it must
    # not fall back to the base database, gw0's, and empty it under gw0's tests.
    monkeypatch.setenv("CLOSELOOP_TEST_REDIS_BASE", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/10")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)

    testenv.configure()

    assert testenv.os.environ["REDIS_URL"] == "redis://127.0.0.1:6379/10"
