"""Issue #18's "Done when", in a real browser (headless Chromium via Playwright) against a running
server (pytest-django's live server, the same Django app `make run` serves): sign in as `admin`,
create a team with business hours and a holiday, an SLA policy and a routing rule from the settings
pages, send a delivery to a new webhook source, and find the case in the new team's inbox with due
times inside that team's business hours. The steps are tests/organisation/done_when.py's; the same
steps run against a fresh `make run` in tests/organisation/test_browser_make_run.py.

The webhook source is created on the set-up page of issue #17 (Connect a survey tool)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from accounts.models import ClosedDay, Role, SlaPolicy, Team
from cases.calendar import is_open
from cases.models import Case, RoutingRule
from cases.sla import due_times
from surveys.models import WebhookSource
from tests.factories import PASSWORD, AlertRuleFactory, UserFactory
from tests.organisation.done_when import ignore_expected_errors, open_in_hours, set_up_a_team_and_send_a_delivery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_an_admin_sets_up_a_team_and_its_case_arrives_with_due_times_in_its_hours(page, live_server, personas):
    from playwright.sync_api import expect

    UserFactory(username="admin", role=Role.ADMIN, first_name="Ada", last_name="Admin")
    AlertRuleFactory(name="Detractors open a case")  # NPS 6 or less opens a case (the demo has one too)
    errors: list[str] = []
    ignore_expected_errors(page, errors)

    done = set_up_a_team_and_send_a_delivery(page, live_server.url, password=PASSWORD, screenshots=SCREENSHOTS)

    team = Team.objects.get(name="Night desk")
    assert WebhookSource.objects.get(slug="night-survey").secret == done.secret
    case = Case.objects.get(response__external_id=done.response_id)
    assert case.team == team and case.sla_policy == SlaPolicy.objects.get(name="Night SLA")
    assert RoutingRule.objects.get(name="Night orders").team == team
    assert ClosedDay.objects.get(team=team).date == done.holiday
    # Due times are the team's clocks: computed in its calendar, and each falls inside its open hours.
    assert (case.first_contact_due, case.resolution_due) == due_times(Team.objects.get(pk=team.pk), case.created_at,
                                                                       case.sla_policy)
    for due in (case.first_contact_due, case.resolution_due):
        assert is_open(Team.objects.get(pk=team.pk), due - dt.timedelta(seconds=1))
        assert open_in_hours(due - dt.timedelta(seconds=1), closed={done.holiday})

    page.goto(f"{live_server.url}/cases/?view=team&team={team.pk}")  # "Team all", the new team only
    row = page.locator("tr", has_text=case.reference)
    expect(row).to_be_visible()
    row.get_by_role("link", name=case.reference).click()
    expect(page.locator(f'time[datetime="{case.first_contact_due.astimezone(dt.UTC).isoformat()}"]')).to_have_count(1)
    assert not errors, errors
