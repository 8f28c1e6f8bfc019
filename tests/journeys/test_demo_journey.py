"""`make run`'s demo data shows a filled journey map: every stage mapped to the demo touchpoints
has responses, and the journey pulse makes Receive a moment of truth."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_journey_map_is_filled(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "Journey “Subscriber”: 5 stages; journey pulse of 180 answers." in out.getvalue()
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    response = client.get("/reports/journey/")
    assert response.status_code == 200
    stages = response.context["stages"].rows
    assert [row["stage"] for row in stages] == ["Buy", "Receive", "Use", "Get help", "Renew"]
    assert all(row["responses"] > 0 for row in stages)
    moments = {row["stage"]: row for row in response.context["moments"].rows}
    assert moments["Receive"]["verdict"] == "yes"
    assert moments["Receive"]["customers"] >= 45
    assert moments["Buy"]["verdict"] == "no"
    assert moments["Renew"]["verdict"] == "not enough data"  # its answers are the relationship survey's own
