"""Demo loading is all or nothing: an interrupted first load leaves no half demo behind, and the
next `load_demo --once` (the next `make run`) loads it again."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

import demo.surveys
from accounts.models import User
from demo.management.commands import load_demo


@pytest.mark.django_db
def test_an_interrupted_demo_load_keeps_nothing_and_loads_again_next_time(monkeypatch, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr(load_demo, "STAGES", ["demo.people", "demo.surveys"])

    def ctrl_c(context):
        raise KeyboardInterrupt  # what Ctrl-C raises in the loader, after the people were saved

    monkeypatch.setattr(demo.surveys, "seed", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        call_command("load_demo", "--once", stdout=io.StringIO())
    assert User.objects.count() == 0

    monkeypatch.undo()
    monkeypatch.setattr(load_demo, "STAGES", ["demo.people"])
    out = io.StringIO()
    call_command("load_demo", "--once", stdout=out)
    assert "Demo data loaded" in out.getvalue()
    assert set(User.objects.values_list("username", flat=True)) >= {"agent", "manager", "admin"}
    again = io.StringIO()
    call_command("load_demo", "--once", stdout=again)
    assert again.getvalue().strip() == "Demo data already loaded."
